"""Choose the OpenMM platform: CUDA when a GPU platform is installed and runs the system, else CPU,
else Reference. Not every plugin force runs on every GPU platform (the mlff force runs on CUDA with a
package compiled for the GPU, ``device: cuda``, and nowhere on OpenCL; the polarization force runs on
CUDA and OpenCL with NoCutoff and PME, not with the explicit Ewald sum): 'auto' passes over a GPU
platform that cannot run the system (saying so) instead of failing, and over an OpenCL platform whose
device is the CPU itself (pocl, for instance), slower than OpenMM's CPU platform."""

from __future__ import annotations

import functools
import logging

import openmm

from elyte.errors import InputError

log = logging.getLogger(__name__)
PREFERENCE = ("CUDA", "OpenCL", "CPU", "Reference")
GPU_PLATFORMS = ("CUDA", "OpenCL")


def available() -> list[str]:
    return [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]


def why_not(name: str, system: openmm.System) -> str | None:
    """Why platform ``name`` cannot run ``system`` (OpenMM's message: no kernel for one of its forces,
    no device, ...), or None when it can. Builds and drops one Context."""
    platform = openmm.Platform.getPlatformByName(name)
    try:
        openmm.Context(system, openmm.VerletIntegrator(0.001), platform, _properties(name, None))
    except openmm.OpenMMException as err:
        return str(err)
    return None


@functools.cache
def cpu_device(name: str) -> str | None:
    """The device of platform ``name`` when it is an OpenCL platform running on the CPU itself (an
    OpenCL runtime for CPUs such as pocl), else None (also when it has no usable device). Builds one
    small Context."""
    if name != "OpenCL":
        return None
    system = openmm.System()
    system.addParticle(1.0)
    try:
        platform = openmm.Platform.getPlatformByName(name)
        context = openmm.Context(system, openmm.VerletIntegrator(0.001), platform)
    except openmm.OpenMMException:
        return None
    device = platform.getPropertyValue(context, "DeviceName")
    runtime = platform.getPropertyValue(context, "OpenCLPlatformName")
    on_cpu = device.lower().startswith(("pthread", "cpu")) or "cpu" in runtime.lower()
    return f"{device} ({runtime})" if on_cpu else None


def select(name: str = "auto", threads: int | None = None,
           system: openmm.System | None = None) -> tuple[openmm.Platform, dict[str, str]]:
    """The platform ``name`` ('auto' picks the fastest installed that runs ``system``, when given)
    and its properties.

    ``threads`` sets the CPU platform's thread count (None: OpenMM's default, all cores). A GPU
    platform named explicitly that cannot run ``system`` is an InputError.
    """
    names = available()
    if name == "auto":
        for candidate in (p for p in PREFERENCE if p in names):
            reason = None
            if candidate in GPU_PLATFORMS and (device := cpu_device(candidate)) is not None:
                reason = f"its device is the CPU, {device}; OpenMM's CPU platform is faster there"
            elif candidate in GPU_PLATFORMS and system is not None and (message := why_not(candidate, system)):
                reason = f"it cannot run this system: {message.strip()}"
            if reason is None:
                name = candidate
                break
            log.warning("OpenMM platform %s passed over (%s); trying the next one", candidate, reason)
        else:
            raise InputError(f"none of the installed OpenMM platforms ({names}) can run this system")
    elif name not in names:
        raise ValueError(f"OpenMM platform {name!r} is not installed (have {names}); for CUDA install "
                         "openmm-cuda-12 or openmm-cuda-13 matching your driver")
    elif system is not None and name in GPU_PLATFORMS and (reason := why_not(name, system)) is not None:
        raise InputError(f"OpenMM platform {name} cannot run this system: {reason.strip()}. The mlff force "
                         "runs on CUDA only with a package compiled for the GPU (forcefield.device=cuda), and "
                         "the polarization force has no explicit Ewald sum on CUDA and OpenCL; use platform=CPU "
                         "(or auto, which picks the fastest platform that runs the system).")
    return openmm.Platform.getPlatformByName(name), _properties(name, threads)


def _properties(name: str, threads: int | None) -> dict[str, str]:
    properties: dict[str, str] = {}
    if name == "CPU" and threads:
        properties["Threads"] = str(int(threads))
    if name in GPU_PLATFORMS:
        properties["Precision"] = "mixed"
    return properties
