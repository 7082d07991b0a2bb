"""The QM label store: one HDF5 schema for every label set, append-only and resumable.

File layout (schema 1):
- root attributes: ``schema``, ``units`` (JSON: length, energy, force, dipole, charge)
- ``/labels/<key>``: one group per labelled structure; datasets ``numbers`` [N], ``positions``
  [N, 3], optional ``cell`` [3, 3], and any labels (``energy`` scalar, ``forces`` [N, 3], ``dipole``
  [3], ``charges_<scheme>`` [N], ...); attributes ``total_charge``, ``multiplicity``, ``method``,
  ``pbc`` and ``provenance`` (JSON).
- ``/failed/<key>``: structures whose calculation failed, with the ``reason``; never labels.

Label names and units are listed in :mod:`elyte.labels.engines.base`. Energies (``energy``,
``interaction_energy``), forces and lengths (``esp_points``) are converted on read from the units
the file states; ``polarizability``, ``c6`` and ``potential`` units were added later (still schema
1): files that state them must use the internal ones, files that predate them hold no such labels.

A gzip-compressed store (``*.h5.gz``, the form datasets are shipped in under ``data/qm/``) opens
read-only, decompressed in memory.

``key`` is a hash of the structure (elements, positions rounded to 1e-6 A, cell, charge,
multiplicity) and the method, so adding the same job twice is a no-op and an interrupted run
restarts where it stopped. Every record is flushed to disk when written: a crash loses at most the
structure in flight. Values are stored in the units the file states; readers get internal units
(Angstrom, kcal/mol, kcal/mol/A, e*A, e).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from elyte.units import factor_to_internal

SCHEMA = 1
INTERNAL_UNITS = {"length": "angstrom", "energy": "kcal/mol", "force": "kcal/mol/angstrom", "dipole": "e*angstrom",
                  "charge": "e", "polarizability": "angstrom^3", "c6": "kcal/mol*angstrom^6", "potential": "kcal/mol/e"}
# label name -> quantity it is measured in (for unit conversion on read)
LABEL_QUANTITIES = {"energy": "energy", "interaction_energy": "energy", "forces": "force", "esp_points": "length"}
# quantities readers accept only in the internal unit (no conversion table for them)
FIXED_UNITS = ("polarizability", "c6", "potential")


class LabelStoreError(RuntimeError):
    """A label file that cannot be used (corrupt, another schema, unknown units)."""


@dataclass
class Record:
    """One labelled structure in internal units."""

    numbers: np.ndarray
    positions: np.ndarray
    method: str
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    total_charge: int = 0
    multiplicity: int = 1
    cell: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)

    def key(self) -> str:
        """Identity of the job: the same structure, charge, spin and method give the same key."""
        digest = hashlib.sha1()
        digest.update(np.asarray(self.numbers, np.int64).tobytes())
        digest.update(np.round(np.asarray(self.positions, float), 6).tobytes())
        if self.cell is not None:
            digest.update(np.round(np.asarray(self.cell, float), 6).tobytes())
        digest.update(f"{self.total_charge}/{self.multiplicity}/{self.method}".encode())
        return digest.hexdigest()[:20]

    def __post_init__(self) -> None:
        self.numbers = np.asarray(self.numbers, np.int64)
        self.positions = np.asarray(self.positions, float)
        if self.positions.shape != (len(self.numbers), 3):
            raise ValueError(f"positions must have shape ({len(self.numbers)}, 3), got {self.positions.shape}")
        for name, value in self.labels.items():
            if not np.isfinite(np.asarray(value, float)).all():
                raise ValueError(f"label {name!r} contains NaN or infinite values; not stored")


class LabelStore:
    """Append-only HDF5 store of labelled structures (see the module docstring)."""

    def __init__(self, path: str | Path, mode: str = "a"):
        self.path = Path(path)
        if mode == "r" and not self.path.is_file():
            raise LabelStoreError(f"{self.path} does not exist")
        compressed = self.path.suffix == ".gz"
        if compressed and mode != "r":
            raise LabelStoreError(f"{self.path} is gzip-compressed: open it with mode 'r', or gunzip it to add labels")
        try:
            source = io.BytesIO(gzip.decompress(self.path.read_bytes())) if compressed else self.path
            self.file = h5py.File(source, mode)
        except BlockingIOError as err:  # HDF5's file lock: another process has it open for writing
            raise LabelStoreError(
                f"{self.path} is open in another process (a labelling run still writing it?): wait for that run "
                "to finish, or read a copy of the file"
            ) from err
        except (OSError, EOFError, gzip.BadGzipFile) as err:
            raise LabelStoreError(
                f"{self.path} is not a readable HDF5 file ({err}); it may be truncated or corrupt: restore it or "
                "start a new store (labelling runs resume from whatever a valid store holds)"
            ) from err
        if "schema" not in self.file.attrs and mode != "r":
            self.file.attrs["schema"] = SCHEMA
            self.file.attrs["units"] = json.dumps(INTERNAL_UNITS)
        if int(self.file.attrs.get("schema", -1)) != SCHEMA:
            raise LabelStoreError(f"{self.path}: schema {self.file.attrs.get('schema')} is not {SCHEMA}")
        try:
            units = json.loads(self.file.attrs["units"])
            self._factors = {name: factor_to_internal(q, units[q]) for name, q in LABEL_QUANTITIES.items()}
            self._length = factor_to_internal("length", units["length"])
            for quantity in FIXED_UNITS:
                if units.get(quantity, INTERNAL_UNITS[quantity]) != INTERNAL_UNITS[quantity]:
                    raise ValueError(f"{quantity} in {units[quantity]!r}, readers expect {INTERNAL_UNITS[quantity]!r}")
        except (KeyError, ValueError) as err:
            raise LabelStoreError(f"{self.path}: units metadata missing or unknown ({err})") from err

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()

    def __contains__(self, key: str) -> bool:
        return f"labels/{key}" in self.file or f"failed/{key}" in self.file

    def __len__(self) -> int:
        return len(self.file["labels"]) if "labels" in self.file else 0

    def add(self, record: Record) -> bool:
        """Store ``record`` (internal units); False when the same job is already stored."""
        key = record.key()
        if key in self:
            return False
        group = self.file.require_group("labels").create_group(key)
        self._write_structure(group, record)
        for name, value in record.labels.items():
            group.create_dataset(name, data=np.asarray(value, float))
        self.file.flush()
        return True

    def add_failure(self, record: Record, reason: str) -> bool:
        """Record that ``record``'s calculation failed and why (it will not be retried on resume)."""
        key = record.key()
        if key in self:
            return False
        group = self.file.require_group("failed").create_group(key)
        self._write_structure(group, record)
        group.attrs["reason"] = reason
        self.file.flush()
        return True

    def failures(self) -> dict[str, str]:
        return {k: str(g.attrs["reason"]) for k, g in self.file.get("failed", {}).items()}

    def failed_records(self) -> Iterator[Record]:
        """The structures whose calculation failed (no labels; the reason is in :meth:`failures`)."""
        for group in self.file.get("failed", {}).values():
            yield self._read(group)

    def __iter__(self) -> Iterator[Record]:
        for group in self.file.get("labels", {}).values():
            yield self._read(group)

    def keys(self) -> list[str]:
        """Keys of the labelled records, for reading them one at a time with :meth:`read`."""
        return list(self.file["labels"].keys()) if "labels" in self.file else []

    def read(self, key: str) -> Record:
        """One labelled record by key (internal units)."""
        if f"labels/{key}" not in self.file:
            raise KeyError(f"{self.path}: no labelled record {key!r}")
        return self._read(self.file["labels"][key])

    @staticmethod
    def _write_structure(group: h5py.Group, record: Record) -> None:
        group.create_dataset("numbers", data=record.numbers)
        group.create_dataset("positions", data=record.positions)
        if record.cell is not None:
            group.create_dataset("cell", data=np.asarray(record.cell, float))
        group.attrs["total_charge"] = int(record.total_charge)
        group.attrs["multiplicity"] = int(record.multiplicity)
        group.attrs["method"] = record.method
        group.attrs["provenance"] = json.dumps(record.provenance)

    def _read(self, group: h5py.Group) -> Record:
        skip = {"numbers", "positions", "cell"}
        labels = {}
        for name, data in group.items():
            if name in skip:
                continue
            factor = self._factors.get(name, 1.0)
            labels[name] = np.asarray(data) * factor
        return Record(
            numbers=np.asarray(group["numbers"]),
            positions=np.asarray(group["positions"]) * self._length,
            method=str(group.attrs["method"]),
            labels=labels,
            total_charge=int(group.attrs["total_charge"]),
            multiplicity=int(group.attrs["multiplicity"]),
            cell=np.asarray(group["cell"]) * self._length if "cell" in group else None,
            provenance=json.loads(group.attrs["provenance"]),
        )
