"""One labelled structure in internal units, with every missing label explicit (``None``).

Units: positions and cell in Angstrom, energy in kcal/mol, forces in kcal/mol/A, stress in
kcal/mol/A^3 (ASE sign convention: stress = (1/V) dE/d(strain), positive under tension), charges in
e, dipole in e*A, total charge in e, interaction energy in kcal/mol.

An interaction energy is E(structure) - sum_k E(molecule k alone at its geometry in the structure); a
structure that carries one also says which molecule each atom belongs to (``fragments``) and each
molecule's charge (``fragment_charges``), so that the model can be evaluated on the molecules too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

LABELS = ("energy", "forces", "stress", "charges", "dipole", "interaction_energy")


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
    interaction_energy: float | None = None
    fragments: np.ndarray | None = None
    fragment_charges: np.ndarray | None = None
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
        for name in ("energy", "interaction_energy"):
            if getattr(self, name) is not None:
                setattr(self, name, float(getattr(self, name)))
                if not np.isfinite(getattr(self, name)):
                    raise LabelError(f"{self._where()}: {name} label is NaN or infinite; drop the structure or "
                                     "relabel it")
        self._check_fragments()
        for name, shape in shapes.items():
            value = getattr(self, name)
            if value is None:
                continue
            value = _array(value, shape, name, self.source)
            if not np.isfinite(value).all():
                raise LabelError(f"{self._where()}: {name} label contains NaN or infinite values; "
                                 "drop the structure or relabel it")
            setattr(self, name, value)

    def _check_fragments(self) -> None:
        if self.fragments is None:
            if self.interaction_energy is not None:
                raise LabelError(f"{self._where()}: an interaction energy needs the molecule of every atom "
                                 "(fragments) and each molecule's charge (fragment_charges)")
            return
        self.fragments = np.asarray(self.fragments, dtype=np.int64).reshape(-1)
        n_fragments = int(self.fragments.max()) + 1 if len(self.fragments) else 0
        if len(self.fragments) != self.n_atoms or self.fragments.min(initial=0) < 0 or \
                set(self.fragments.tolist()) != set(range(n_fragments)):
            raise LabelError(f"{self._where()}: fragments must give every atom a molecule index 0..K-1, each "
                             f"used (got {len(self.fragments)} indices for {self.n_atoms} atoms)")
        charges = np.zeros(n_fragments) if self.fragment_charges is None else self.fragment_charges
        self.fragment_charges = np.asarray(charges, dtype=np.float64).reshape(-1)
        if len(self.fragment_charges) != n_fragments or abs(self.fragment_charges.sum() - self.total_charge) > 1e-6:
            raise LabelError(f"{self._where()}: fragment_charges {self.fragment_charges.tolist()} must give each of "
                             f"the {n_fragments} molecules a charge, summing to the total charge {self.total_charge}")
        if self.interaction_energy is not None and self.periodic:
            raise LabelError(f"{self._where()}: interaction energies are supported for clusters only (a molecule "
                             "cut out of a periodic box is not isolated); drop the label for periodic structures")

    def molecules(self) -> list[Structure]:
        """Each molecule (``fragments``) alone as an unlabelled cluster with its charge, in index order."""
        if self.fragments is None:
            raise ValueError(f"{self._where()} has no fragments: nothing to split into molecules")
        return [Structure(numbers=self.numbers[self.fragments == k], positions=self.positions[self.fragments == k],
                          total_charge=float(charge), source=f"{self.source} molecule {k}")
                for k, charge in enumerate(self.fragment_charges)]

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
