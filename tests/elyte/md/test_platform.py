"""Platform choice: 'auto' passes over a GPU platform that cannot run the system (not every plugin
force has kernels there) instead of failing, and over an OpenCL platform running on the CPU; an
explicit one that cannot run the system is refused with the fix."""

from __future__ import annotations

import logging

import openmm
import pytest

from elyte.errors import InputError
from elyte.md import platform as chooser


def _system() -> openmm.System:
    system = openmm.System()
    for _ in range(2):
        system.addParticle(1.0)
    return system


def test_a_platform_that_runs_the_system_has_no_objection():
    assert chooser.why_not("Reference", _system()) is None


def test_why_a_platform_cannot_run_a_system_is_openmm_s_message():
    broken = _system()
    broken.addForce(openmm.NonbondedForce())  # no particles in the force: the Context refuses it
    assert "particles" in chooser.why_not("Reference", broken).lower()


def test_auto_takes_the_cpu_platform_with_threads(monkeypatch):
    monkeypatch.setattr(chooser, "available", lambda: ["CPU", "Reference"])  # as here, whatever is installed
    platform, properties = chooser.select("auto", threads=2, system=_system())
    assert platform.getName() == "CPU" and properties == {"Threads": "2"}


@pytest.fixture
def gpu_without_kernels(monkeypatch):
    """A CUDA platform that is installed but has no kernel for the system."""
    monkeypatch.setattr(chooser, "available", lambda: ["CUDA", "CPU", "Reference"])
    monkeypatch.setattr(chooser, "why_not", lambda name, system: "no kernel for PolarizationForce" if name == "CUDA" else None)


def test_auto_passes_over_a_gpu_platform_that_cannot_run_the_system(gpu_without_kernels, caplog):
    with caplog.at_level(logging.WARNING):
        platform, _ = chooser.select("auto", system=_system())
    assert platform.getName() == "CPU"
    assert "CUDA passed over (it cannot run this system: no kernel for PolarizationForce)" in caplog.text


def test_a_gpu_platform_named_explicitly_that_cannot_run_the_system_is_refused(gpu_without_kernels):
    with pytest.raises(InputError, match="no kernel for PolarizationForce.*use platform=CPU"):
        chooser.select("CUDA", system=_system())


def test_without_a_system_auto_takes_the_first_installed(gpu_without_kernels):
    with pytest.raises(openmm.OpenMMException):  # the first is CUDA, not really installed here
        chooser.select("auto")


def test_auto_passes_over_opencl_on_the_cpu(monkeypatch, caplog):
    monkeypatch.setattr(chooser, "available", lambda: ["OpenCL", "CPU", "Reference"])
    monkeypatch.setattr(chooser, "cpu_device", lambda name: "pthread-x86 (Portable Computing Language)")
    with caplog.at_level(logging.WARNING):
        platform, _ = chooser.select("auto", system=_system())
    assert platform.getName() == "CPU"
    assert "OpenCL passed over (its device is the CPU, pthread-x86" in caplog.text


@pytest.mark.skipif("OpenCL" not in chooser.available(), reason="no OpenCL platform in this openmm")
def test_an_opencl_runtime_on_the_cpu_is_recognised():
    """Where OpenCL has a device, pocl (the tests' OpenCL runtime) is a CPU device; a GPU is not."""
    device = chooser.cpu_device("OpenCL")
    if device is None:
        pytest.skip("OpenCL here has no device, or a GPU one")
    assert "cpu" in device.lower() or "pthread" in device.lower()
