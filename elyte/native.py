"""Loads the project's compiled library of torch custom ops (built from ``csrc/`` at install time).

The library is installed next to the package in site-packages (also by an editable install, whose
Python sources stay in the checkout), so it is looked up in the distribution's file list.
``ELYTE_NATIVE_LIB`` overrides the path.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from elyte.paths import compiled_copies

LIBRARY_NAME = "libelyte_torch_ops.so"


class NativeLibraryMissing(RuntimeError):
    """The compiled ops are not installed."""


def _candidates() -> list[Path]:
    found = []
    if os.environ.get("ELYTE_NATIVE_LIB"):
        found.append(Path(os.environ["ELYTE_NATIVE_LIB"]))
    return found + compiled_copies(LIBRARY_NAME)


@functools.cache
def load() -> Path:
    """Load the custom-op library once; return its path. Raises NativeLibraryMissing if absent."""
    for path in _candidates():
        if path.is_file():
            torch.ops.load_library(str(path))
            return path
    raise NativeLibraryMissing(
        f"{LIBRARY_NAME} not found (looked in {[str(p) for p in _candidates()]}). Build it with "
        "`bash scripts/setup.sh` or `pip install --no-build-isolation -e .` after installing torch."
    )


def available() -> bool:
    """True when the compiled ops can be loaded."""
    try:
        load()
    except NativeLibraryMissing:
        return False
    return True
