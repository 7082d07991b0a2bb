"""Choose the OpenMM platform: CUDA when a GPU platform is installed and works, else CPU, else Reference."""

from __future__ import annotations

import logging

import openmm

log = logging.getLogger(__name__)
PREFERENCE = ("CUDA", "OpenCL", "CPU", "Reference")


def available() -> list[str]:
    return [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]


def select(name: str = "auto", threads: int | None = None) -> tuple[openmm.Platform, dict[str, str]]:
    """The platform ``name`` ('auto' picks the fastest installed) and its properties.

    ``threads`` sets the CPU platform's thread count (None: OpenMM's default, all cores).
    """
    names = available()
    if name == "auto":
        name = next(p for p in PREFERENCE if p in names)
    elif name not in names:
        raise ValueError(f"OpenMM platform {name!r} is not installed (have {names}); for CUDA install "
                         "openmm-cuda-12 or openmm-cuda-13 matching your driver")
    properties: dict[str, str] = {}
    if name == "CPU" and threads:
        properties["Threads"] = str(int(threads))
    if name in ("CUDA", "OpenCL"):
        properties["Precision"] = "mixed"
    return openmm.Platform.getPlatformByName(name), properties
