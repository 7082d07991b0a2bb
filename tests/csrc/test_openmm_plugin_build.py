"""The OpenMM plugin is built, registers its kernel on the Reference and CPU platforms and its XML
proxy, and its Python module shares the openmm module's SWIG types."""

from __future__ import annotations

import openmm
import pytest

from elyte.openmm_plugin import available, load

pytestmark = pytest.mark.skipif(not available(), reason="the elyte OpenMM plugin is not built")


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
def test_kernel_registered(platform):
    load()
    assert openmm.Platform.getPlatformByName(platform).supportsKernels(["ElyteCalcPolarizationForce"])


def test_force_is_an_openmm_force_and_serializes():
    plugin = load()
    force = plugin.PolarizationForce()
    force.addParticle(0.3, 1e-3, 1e-3)
    assert isinstance(force, openmm.Force)
    xml = openmm.XmlSerializer.serialize(force)
    assert 'type="ElytePolarizationForce"' in xml
    again = openmm.XmlSerializer.deserialize(xml)
    assert plugin.PolarizationForce.isinstance(again)
    assert plugin.PolarizationForce.cast(again).getParticleParameters(0) == [0.3, 1e-3, 1e-3]


def test_bad_input_raises_a_clear_error():
    plugin = load()
    system = openmm.System()
    system.addParticle(1.0)
    force = plugin.PolarizationForce()
    force.addParticle(0.3, 1e-3, 0.0)  # polarizable without damping volume
    system.addForce(force)
    with pytest.raises(Exception, match="damping volume"):
        openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName("Reference"))


def test_compute_platform_kernels_are_registered_where_built():
    """The OpenCL and CUDA libraries of the polarization force, where the build found their platform
    and headers (OpenCL: Debian's opencl-c-headers, which scripts/test.sh installs as root), register
    the kernel with their platform when the plugin loads."""
    from elyte.openmm_plugin.library import COMPUTE_LIBRARIES, LIBRARY_NAME, MODULE_NAME, _find

    load()
    folder = _find(LIBRARY_NAME, MODULE_NAME)[0].parent
    installed = {openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())}
    built = [p for p, name in COMPUTE_LIBRARIES.items() if p in installed and (folder / name).is_file()]
    if not built:
        pytest.skip("no compute platform library was built here (no OpenCL headers, no openmm-cuda)")
    for platform in built:
        assert openmm.Platform.getPlatformByName(platform).supportsKernels(["ElyteCalcPolarizationForce"])


def test_loading_the_plugins_registers_no_platform_twice():
    """A GPU-platform library depends on OpenMM's platform library; OpenMM must not find that one's
    registerPlatforms through ours (it would register a second OpenCL or CUDA platform)."""
    from elyte.openmm_plugin import load_mlff

    load()
    if available(mlff=True):
        load_mlff()
    names = [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]
    assert len(names) == len(set(names)), names
