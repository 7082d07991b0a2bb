"""Where the project's configs and shipped data live, in a checkout or an installed wheel."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent


def config_dir() -> Path:
    """The Hydra config tree (``configs/`` of the checkout)."""
    path = _CHECKOUT / "configs"
    if not path.is_dir():
        raise FileNotFoundError(f"config directory {path} is missing; install elyte from its checkout")
    return path


def data_dir() -> Path:
    """Small shipped data: default models, reference tables, test structures (``data/``)."""
    return _CHECKOUT / "data"


def compiled_copies(file_name: str) -> list[Path]:
    """Where a compiled library built by the package may be: ``elyte/_lib`` beside the sources, then
    every copy the installed distribution lists (an editable install puts it in site-packages)."""
    found = [PACKAGE_DIR / "_lib" / file_name]
    try:
        for f in importlib.metadata.distribution("elyte").files or []:
            if f.name == file_name:
                found.append(Path(f.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    return found
