"""Choose the OpenMM platform: CUDA when a GPU platform is installed and runs the system, else CPU,
else Reference. The project's plugin forces (polarization, mlff) have Reference and CPU kernels only
so far: with them, 'auto' passes over a GPU platform (saying so) instead of failing."""

from __future__ import annotations

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
            reason = why_not(candidate, system) if system is not None and candidate in GPU_PLATFORMS else None
            if reason is None:
                name = candidate
                break
            log.warning("OpenMM platform %s cannot run this system (%s); trying the next one", candidate,
                        reason.strip())
        else:
            raise InputError(f"none of the installed OpenMM platforms ({names}) can run this system")
    elif name not in names:
        raise ValueError(f"OpenMM platform {name!r} is not installed (have {names}); for CUDA install "
                         "openmm-cuda-12 or openmm-cuda-13 matching your driver")
    elif system is not None and name in GPU_PLATFORMS and (reason := why_not(name, system)) is not None:
        raise InputError(f"OpenMM platform {name} cannot run this system: {reason.strip()}. The polarization "
                         "and mlff plugin forces have Reference and CPU kernels only so far; use platform=CPU "
                         "(or auto, which picks the fastest platform that runs the system).")
    return openmm.Platform.getPlatformByName(name), _properties(name, threads)


def _properties(name: str, threads: int | None) -> dict[str, str]:
    properties: dict[str, str] = {}
    if name == "CPU" and threads:
        properties["Threads"] = str(int(threads))
    if name in GPU_PLATFORMS:
        properties["Precision"] = "mixed"
    return properties
