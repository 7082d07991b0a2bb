"""Finds and loads the compiled OpenMM plugins and their Python bindings: the polarization plugin
(:func:`load`, with its kernels for the OpenCL and CUDA platforms where those were built and are
installed) and the mlff plugin, which links libtorch (:func:`load_mlff`).

They are installed next to the package in site-packages (also by an editable install), so they are
looked up in the distribution's file list, like the torch ops (:mod:`elyte.native`).
``ELYTE_OPENMM_PLUGIN_DIR`` overrides the folder (a CMake build directory, for instance).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

import openmm

from elyte.paths import compiled_copies

LIBRARY_NAME = "libelyte_openmm.so"
MODULE_NAME = "elyte_polarization"
MLFF_LIBRARY_NAME = "libelyte_openmm_mlff.so"
MLFF_MODULE_NAME = "elyte_mlff"
# the plugin forces' kernels for OpenMM's GPU platforms, one library per platform (and force)
COMPUTE_LIBRARIES = {"OpenCL": "libelyte_openmm_opencl.so", "CUDA": "libelyte_openmm_cuda.so"}
MLFF_COMPUTE_LIBRARIES = {"CUDA": "libelyte_openmm_mlff_cuda.so"}
log = logging.getLogger(__name__)


class PluginMissing(RuntimeError):
    """The compiled plugin is not installed."""


def _candidate_dirs(library_name: str) -> list[Path]:
    found = []
    if os.environ.get("ELYTE_OPENMM_PLUGIN_DIR"):
        found.append(Path(os.environ["ELYTE_OPENMM_PLUGIN_DIR"]))
    return found + [path.parent for path in compiled_copies(library_name)]


def _find(library_name: str, module_name: str) -> tuple[Path, Path, Path]:
    for folder in _candidate_dirs(library_name):
        extensions = sorted(folder.glob(f"_{module_name}*.so"))
        if (folder / library_name).is_file() and (folder / f"{module_name}.py").is_file() and extensions:
            return folder / library_name, extensions[0], folder / f"{module_name}.py"
    raise PluginMissing(
        f"the elyte OpenMM plugin ({library_name} and its Python module) was not found in "
        f"{[str(p) for p in _candidate_dirs(library_name)]}. Build it with `bash scripts/setup.sh` (or `pip "
        "install --no-build-isolation -e .` with torch, openmm and swig installed first)."
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


def _register(library_name: str, module_name: str, gpu_libraries: dict[str, str]) -> ModuleType:
    """Load the plugin library, then, from the same folder, its kernels for each GPU platform that
    OpenMM has and that were built (``gpu_libraries``: platform name -> library name; one that fails to
    load only costs that platform its kernels); import and return the SWIG module."""
    library, extension, wrapper = _find(library_name, module_name)
    openmm.Platform.loadPluginLibrary(str(library))
    installed = {openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())}
    for platform, name in gpu_libraries.items():
        path = library.parent / name
        if platform in installed and path.is_file():
            try:
                openmm.Platform.loadPluginLibrary(str(path))
            except openmm.OpenMMException as err:
                log.warning("the %s kernels in %s did not load (%s)", platform, name, err)
    _import(f"_{module_name}", extension)
    return _import(module_name, wrapper)


@functools.cache
def load() -> ModuleType:
    """Register the polarization plugin with OpenMM once and return its SWIG module (``PolarizationForce``).
    Raises PluginMissing."""
    return _register(LIBRARY_NAME, MODULE_NAME, COMPUTE_LIBRARIES)


@functools.cache
def load_mlff() -> ModuleType:
    """Register the mlff plugin with OpenMM once and return its SWIG module (``MLFFForce``). Raises
    PluginMissing."""
    from elyte import native

    try:
        native.load()  # by its own path first, so the plugin's link to the op library reuses it
    except native.NativeLibraryMissing as err:
        raise PluginMissing(str(err)) from err
    return _register(MLFF_LIBRARY_NAME, MLFF_MODULE_NAME, MLFF_COMPUTE_LIBRARIES)


def available(mlff: bool = False) -> bool:
    """True when the polarization plugin (or with ``mlff``, the mlff plugin) can be loaded."""
    try:
        load_mlff() if mlff else load()
    except PluginMissing:
        return False
    return True
