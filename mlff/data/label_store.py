"""Structures from the project's HDF5 label store (:mod:`elyte.labels.store`), whole or lazily.

The store converts to internal units on read. Label names map to :class:`Structure` fields:
``energy``, ``forces``, ``dipole``, ``stress`` and ``charges_<scheme>`` (the scheme is chosen by the
caller, e.g. ``charges_scheme="mbis"``) and ``interaction_energy`` (with the molecules of the cluster
from the provenance's ``fragments`` and ``fragment_charges``). A structure's ``group`` is its
provenance ``group`` (clusters of one MD frame), else its ``name`` (the molecule), else its
``smiles``, so splits can keep every conformer of a molecule, or every cluster of a frame, together.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from torch.utils.data import Dataset

from elyte.labels.monomer100 import import_monomer_100
from elyte.labels.store import LabelStore, Record
from mlff.data.structure import Structure

GROUP_KEYS = ("group", "name", "smiles")


def group_of(provenance: dict) -> str | None:
    """The split group of a record: the first of ``GROUP_KEYS`` its provenance has."""
    return next((str(provenance[k]) for k in GROUP_KEYS if k in provenance), None)


def record_to_structure(record: Record, charges_scheme: str | None = None, source: str = "") -> Structure:
    """A label-store record as a :class:`Structure` (both in internal units)."""
    labels = record.labels
    charges = None
    if charges_scheme is not None:
        key = f"charges_{charges_scheme}"
        if key not in labels:
            available = sorted(k.removeprefix("charges_") for k in labels if k.startswith("charges_"))
            raise KeyError(f"{source or 'record'} has no {key!r} label; charge schemes present: {available or 'none'}")
        charges = labels[key]
    group = group_of(record.provenance)
    return Structure(
        numbers=record.numbers,
        positions=record.positions,
        cell=record.cell,
        pbc=(record.cell is not None,) * 3,
        total_charge=record.total_charge,
        energy=float(labels["energy"]) if "energy" in labels else None,
        forces=labels.get("forces"),
        stress=labels.get("stress"),
        charges=charges,
        dipole=labels.get("dipole"),
        interaction_energy=labels.get("interaction_energy"),
        fragments=record.provenance.get("fragments"),
        fragment_charges=record.provenance.get("fragment_charges"),
        group=group,
        source=source,
        extra={"method": record.method, "multiplicity": record.multiplicity},
    )


def read_label_store(path: str | Path, charges_scheme: str | None = None) -> list[Structure]:
    """Every labelled structure of one store file (loads them all; see :class:`LabelStoreDataset`)."""
    with LabelStore(path, "r") as store:
        return [record_to_structure(r, charges_scheme, f"{path}") for r in store]


def read_monomer_100(directory: str | Path, store_path: str | Path) -> list[Structure]:
    """``qm_monomer_100`` (one group per molecule): imported once into the label store at
    ``store_path`` by :func:`elyte.labels.monomer100.import_monomer_100`, then read from it."""
    with LabelStore(store_path) as store:
        import_monomer_100(directory, store)
    return read_label_store(store_path)


class LabelStoreDataset(Dataset):
    """Index-based lazy view of one or more label-store shards: only keys are held in memory and
    each item is read from disk when asked for. Safe with DataLoader workers (each process opens its
    own file handles)."""

    def __init__(self, paths: str | Path | Sequence[str | Path], charges_scheme: str | None = None):
        self.paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        self.charges_scheme = charges_scheme
        self.index: list[tuple[int, str]] = []
        for shard, path in enumerate(self.paths):
            with LabelStore(path, "r") as store:
                keys = store.keys()
            self.index.extend((shard, key) for key in keys)
        self._stores: dict[int, LabelStore] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.index)

    def _store(self, shard: int) -> LabelStore:
        if self._pid != os.getpid():  # a forked worker must not share the parent's HDF5 handles
            self._stores, self._pid = {}, os.getpid()
        if shard not in self._stores:
            self._stores[shard] = LabelStore(self.paths[shard], "r")
        return self._stores[shard]

    def __getitem__(self, item: int) -> Structure:
        shard, key = self.index[item]
        return record_to_structure(self.record(item), self.charges_scheme, f"{self.paths[shard]}:{key}")

    def record(self, index: int) -> Record:
        """The stored record of item ``index``: every label (internal units) and the provenance."""
        shard, key = self.index[index]
        return self._store(shard).read(key)

    def __iter__(self) -> Iterator[Structure]:
        return (self[i] for i in range(len(self)))

    def provenance(self, index: int) -> dict:
        """Provenance of item ``index`` (an attribute only; no arrays are read)."""
        shard, key = self.index[index]
        return json.loads(self._store(shard).file["labels"][key].attrs["provenance"])

    def groups(self) -> list[str | None]:
        """Group of every item (from provenance attributes only)."""
        return [group_of(self.provenance(i)) for i in range(len(self))]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores = {}

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_stores": {}}
