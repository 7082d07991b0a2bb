"""Finds and loads the compiled OpenMM plugin and its Python bindings.

They are installed next to the package in site-packages (also by an editable install), so they are
looked up in the distribution's file list, like the torch ops (:mod:`elyte.native`).
``ELYTE_OPENMM_PLUGIN_DIR`` overrides the folder (a CMake build directory, for instance).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import openmm

from elyte.paths import compiled_copies

LIBRARY_NAME = "libelyte_openmm.so"
MODULE_NAME = "elyte_polarization"


class PluginMissing(RuntimeError):
    """The compiled plugin is not installed."""


def _candidate_dirs() -> list[Path]:
    found = []
    if os.environ.get("ELYTE_OPENMM_PLUGIN_DIR"):
        found.append(Path(os.environ["ELYTE_OPENMM_PLUGIN_DIR"]))
    return found + [path.parent for path in compiled_copies(LIBRARY_NAME)]


def _find() -> tuple[Path, Path, Path]:
    for folder in _candidate_dirs():
        extensions = sorted(folder.glob(f"_{MODULE_NAME}*.so"))
        if (folder / LIBRARY_NAME).is_file() and (folder / f"{MODULE_NAME}.py").is_file() and extensions:
            return folder / LIBRARY_NAME, extensions[0], folder / f"{MODULE_NAME}.py"
    raise PluginMissing(
        f"the elyte OpenMM plugin ({LIBRARY_NAME} and its Python module) was not found in "
        f"{[str(p) for p in _candidate_dirs()]}. Build it with `bash scripts/setup.sh` (or `pip install "
        "--no-build-isolation -e .` with openmm and swig installed first)."
    )


def _import(name: str, path: Path) -> ModuleType:
    if path.suffix == ".so":
        loader = importlib.machinery.ExtensionFileLoader(name, str(path))
        spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    else:
        spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def load() -> ModuleType:
    """Register the plugin with OpenMM once and return its SWIG module. Raises PluginMissing."""
    library, extension, wrapper = _find()
    openmm.Platform.loadPluginLibrary(str(library))
    _import(f"_{MODULE_NAME}", extension)
    return _import(MODULE_NAME, wrapper)


def available() -> bool:
    """True when the plugin can be loaded."""
    try:
        load()
    except PluginMissing:
        return False
    return True
