"""A parameterizer as one self-describing file: weights, network config, feature spec, parameter
bounds and priors, format and code version. Loading refuses a file whose features, priors or
format differ from this code's, naming what differs (the weights would mean something else)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

import elyte
from polff.params.features import FEATURE_SPEC
from polff.params.model import Parameterizer, ParameterizerConfig
from polff.params.priors import describe as describe_priors

FORMAT = "elyte.polff.parameterizer"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A parameterizer file that cannot be loaded by this code."""


def _plain(data):
    """JSON-normalised copy (tuples -> lists) so stored and current specs compare equal."""
    return json.loads(json.dumps(data))


def save_model(model: Parameterizer, path: str | Path, metadata: dict | None = None) -> Path:
    """Write ``model`` to ``path`` (a torch file holding only plain data and tensors).

    ``metadata``: JSON-serialisable notes (training data, date, ...), returned by :func:`read_metadata`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "code_version": elyte.__version__,
        "config": dataclasses.asdict(model.config),
        "dtype": str(model.atom_embed.weight.dtype).removeprefix("torch."),
        "feature_spec": _plain(FEATURE_SPEC),
        "priors": _plain(describe_priors()),
        "metadata": _plain(metadata or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    torch.save(record, path)
    return path


def _read(path: Path) -> dict:
    if not path.is_file():
        raise ModelFileError(f"{path} does not exist")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several unrelated types for foreign files
        raise ModelFileError(f"{path}: not a parameterizer file ({type(err).__name__}: {err})") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a parameterizer file (format {FORMAT!r} expected)")
    if record.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{path}: file format version {record.get('format_version')}, this code reads version "
                             f"{FORMAT_VERSION}; use the elyte version that wrote it ({record.get('code_version')})")
    for key, current in (("feature_spec", _plain(FEATURE_SPEC)), ("priors", _plain(describe_priors()))):
        if record.get(key) != current:
            changed = sorted(k for k in set(current) | set(record.get(key, {}))
                             if current.get(k) != record.get(key, {}).get(k))
            raise ModelFileError(f"{path}: written with different {key} (entries {changed} differ from this code's); "
                                 f"use the elyte version that wrote it ({record.get('code_version')}) or retrain")
    return record


def read_metadata(path: str | Path) -> dict:
    """The metadata, config and versions stored with a model, without building it."""
    record = _read(Path(path))
    return {k: record[k] for k in ("code_version", "format_version", "config", "dtype", "metadata")}


def load_model(path: str | Path) -> Parameterizer:
    """The model stored in ``path``, in evaluation mode and the dtype it was saved in."""
    path = Path(path)
    record = _read(path)
    try:
        config = ParameterizerConfig(**record["config"])
    except TypeError as err:
        raise ModelFileError(f"{path}: unknown network config {record['config']} ({err})") from err
    if record["dtype"] not in ("float32", "float64"):
        raise ModelFileError(f"{path}: unsupported dtype {record['dtype']!r} (float32 or float64)")
    model = Parameterizer(config).to(getattr(torch, record["dtype"]))
    try:
        model.load_state_dict(record["state_dict"])
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the network its config describes ({err})") from err
    return model.eval()
