"""Datasets and splits from a data config (``configs/data/default.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from torch.utils.data import Dataset, Subset

from mlff.data.ase_io import read_ase, read_ase_db
from mlff.data.label_store import LabelStoreDataset, read_monomer_100
from mlff.data.split import split_indices
from mlff.data.structure import Structure

KINDS = ("label_store", "ase", "ase_db", "monomer_100")


def load_dataset(config: Mapping, cache_dir: str | Path = ".") -> Dataset | list[Structure]:
    """Label-store shards as a lazy :class:`LabelStoreDataset`; other kinds as lists of structures.

    ``monomer_100`` takes the data directory as its only path and imports it into
    ``cache_dir/monomer_100.h5`` once.
    """
    kind, paths = config["kind"], list(config.get("paths") or [])
    if kind not in KINDS:
        raise ValueError(f"data.kind must be one of {KINDS}, got {kind!r}")
    if not paths:
        raise ValueError("data.paths is empty: name the files to read (data.paths=[a.h5,b.h5])")
    units = {k: v for k, v in dict(config.get("units") or {}).items() if v is not None} or None
    if kind == "label_store":
        return LabelStoreDataset(paths, config.get("charges_scheme"))
    if kind == "monomer_100":
        return read_monomer_100(paths[0], Path(cache_dir) / "monomer_100.h5")
    reader = read_ase if kind == "ase" else read_ase_db
    return [s for path in paths for s in reader(path, units=units)]


def split_dataset(dataset: Dataset | Sequence[Structure], config: Mapping) -> list[Subset]:
    """Subsets per ``config['fractions']``, seeded by ``config['seed']``, grouped by molecule if ``by_group``,
    in the group ``order`` (``hash`` if unset; see :func:`split_indices`)."""
    groups = None
    if config.get("by_group", False):
        groups = dataset.groups() if isinstance(dataset, LabelStoreDataset) else [s.group for s in dataset]
    parts = split_indices(len(dataset), config["fractions"], int(config["seed"]), groups, config.get("order", "hash"))
    return [Subset(dataset, part.tolist()) for part in parts]
