"""One labelled structure in internal units, with every missing label explicit (``None``).

Units: positions and cell in Angstrom, energy in kcal/mol, forces in kcal/mol/A, stress in
kcal/mol/A^3 (ASE sign convention: stress = (1/V) dE/d(strain), positive under tension), charges in
e, dipole in e*A, total charge in e.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

LABELS = ("energy", "forces", "stress", "charges", "dipole")


class MissingLabelError(KeyError):
    """A label that training or evaluation asked for is absent from a structure."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


class LabelError(ValueError):
    """A label with the wrong shape or a NaN / infinite value."""


@dataclass
class Structure:
    """Atoms, box, total charge and optional labels of one structure (internal units).

    ``group`` names what the structure belongs to (a molecule, a trajectory) for grouped splits;
    ``source`` says where it was read from, for error messages.
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray | None = None
    pbc: tuple[bool, bool, bool] = (False, False, False)
    total_charge: float = 0.0
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    charges: np.ndarray | None = None
    dipole: np.ndarray | None = None
    group: str | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.numbers = np.asarray(self.numbers, dtype=np.int64).reshape(-1)
        n = len(self.numbers)
        self.positions = _array(self.positions, (n, 3), "positions", self.source)
        if not np.isfinite(self.positions).all():
            raise LabelError(f"{self._where()}: positions contain NaN or infinite values")
        self.pbc = tuple(bool(p) for p in np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)))
        if self.cell is not None:
            self.cell = _array(self.cell, (3, 3), "cell", self.source)
            if not any(self.pbc):
                self.cell = None  # a cell without periodicity carries no information for the model
        elif any(self.pbc):
            raise LabelError(f"{self._where()}: periodic along {self.pbc} but no cell given")
        self.total_charge = float(self.total_charge)
        shapes = {"forces": (n, 3), "stress": (3, 3), "charges": (n,), "dipole": (3,)}
        if self.energy is not None:
            self.energy = float(self.energy)
            if not np.isfinite(self.energy):
                raise LabelError(f"{self._where()}: energy label is NaN or infinite; drop the structure or relabel it")
        for name, shape in shapes.items():
            value = getattr(self, name)
            if value is None:
                continue
            value = _array(value, shape, name, self.source)
            if not np.isfinite(value).all():
                raise LabelError(f"{self._where()}: {name} label contains NaN or infinite values; "
                                 "drop the structure or relabel it")
            setattr(self, name, value)

    def _where(self) -> str:
        return f"structure from {self.source}" if self.source else "structure"

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def periodic(self) -> bool:
        return any(self.pbc)

    def has(self, label: str) -> bool:
        if label not in LABELS:
            raise ValueError(f"unknown label {label!r}; labels are {LABELS}")
        return getattr(self, label) is not None

    def require(self, labels: Iterable[str]) -> None:
        """Raise :class:`MissingLabelError` naming the first requested label this structure lacks."""
        missing = [name for name in labels if not self.has(name)]
        if missing:
            raise MissingLabelError(
                f"{self._where()} has no {', '.join(missing)} label(s); remove them from the requested labels "
                "(e.g. the loss weights) or use data that carries them"
            )


def _array(value, shape: tuple[int, ...], name: str, source: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        where = f" (from {source})" if source else ""
        raise LabelError(f"{name} must have shape {shape}, got {array.shape}{where}")
    return array
