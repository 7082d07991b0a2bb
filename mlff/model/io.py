"""Model files: one self-describing ``torch.save`` archive per model.

Contents (format ``elyte-mlff``, version :data:`FORMAT_VERSION`): the weights, the model config,
elements (atomic numbers), cutoffs (A), units, per-element reference energies (kcal/mol), the code
version that wrote it and free-form metadata. Loading reads with ``weights_only=True`` (no code from
the file runs), checks every key, the format, its version and the units, and rebuilds the model.
"""

from __future__ import annotations

from pathlib import Path

import torch

import elyte
from elyte.labels.store import INTERNAL_UNITS
from mlff.model.config import ModelConfig
from mlff.model.forcefield import ForceField

SHIPPED_MODEL = "models/mlff_electrolyte_v6.pt"  # under data/: the default of forcefield=mlff
FORMAT = "elyte-mlff"
FORMAT_VERSION = 1
REQUIRED = ("format", "format_version", "code_version", "config", "elements", "cutoff", "long_cutoff", "units",
            "reference_energies", "state_dict", "metadata")


class ModelFileError(RuntimeError):
    """A model file that cannot be loaded (not a model file, another format version, missing keys)."""


def save_model(model: ForceField, path: str | Path, metadata: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (weights in the model's dtype); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    archive = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "code_version": elyte.__version__,
        "config": model.config.to_dict(),
        "elements": model.elements,
        "cutoff": model.config.cutoff,
        "long_cutoff": model.config.long_cutoff,
        "units": dict(INTERNAL_UNITS),
        "reference_energies": dict(model.reference_energies),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "metadata": dict(metadata or {}),
    }
    torch.save(archive, path)
    return path


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> ForceField:
    """The model stored at ``path``; raises :class:`ModelFileError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        archive = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for non-archives and unsafe pickles
        raise ModelFileError(f"{path} is not a readable elyte model file: {err}") from err
    _validate(archive, path)
    model = ForceField(ModelConfig.from_dict(archive["config"]),
                       {int(z): float(e) for z, e in archive["reference_energies"].items()})
    dtype = next(iter(v for v in archive["state_dict"].values() if v.is_floating_point())).dtype
    model = model.to(dtype)
    try:
        model.load_state_dict(archive["state_dict"], strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the stored config: {err}") from err
    return model


def _validate(archive: object, path: Path) -> None:
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an {FORMAT} model file (no format tag {FORMAT!r})")
    missing = [key for key in REQUIRED if key not in archive]
    if missing:
        raise ModelFileError(f"{path} lacks {missing}; the file is incomplete or was written by another tool")
    if archive["format_version"] != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model-file format version {archive['format_version']}, this code reads version "
            f"{FORMAT_VERSION} (written by elyte {archive['code_version']}, this is {elyte.__version__}): "
            "use a matching elyte version or re-export the model"
        )
    if archive["units"] != INTERNAL_UNITS:
        raise ModelFileError(f"{path} states units {archive['units']}; models must use {INTERNAL_UNITS}")
    config = archive["config"]
    if sorted(config.get("elements", [])) != sorted(archive["elements"]) or config.get("cutoff") != archive["cutoff"]:
        raise ModelFileError(f"{path}: elements or cutoff in the header disagree with the stored config")
