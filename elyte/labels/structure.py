"""The unit of QM work: one structure with its charge, spin and (optionally) fragments.

Positions and cell in Angstrom. ``fragments`` (one integer per atom) splits a dimer or cluster into
monomers for interaction energies, with ``fragment_charges`` and ``fragment_multiplicities`` giving
each monomer's charge and spin. ``ghosts`` marks atoms that carry basis functions but no nucleus or
electrons (counterpoise). ``symmetry`` (one class per atom) names atoms whose fitted charges must be
equal; ``None`` lets the ESP fit derive it from the connectivity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from elyte.labels.store import Record


@dataclass
class QMStructure:
    """A structure to label (Angstrom, elementary charges)."""

    numbers: np.ndarray
    positions: np.ndarray
    charge: int = 0
    multiplicity: int = 1
    cell: np.ndarray | None = None
    fragments: np.ndarray | None = None
    fragment_charges: list[int] | None = None
    fragment_multiplicities: list[int] | None = None
    ghosts: np.ndarray | None = None
    symmetry: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.numbers = np.asarray(self.numbers, np.int64)
        self.positions = np.asarray(self.positions, float)
        n = len(self.numbers)
        if self.positions.shape != (n, 3):
            raise ValueError(f"positions must have shape ({n}, 3), got {self.positions.shape}")
        if not np.isfinite(self.positions).all():
            raise ValueError("positions contain NaN or infinite values")
        if self.multiplicity < 1:
            raise ValueError(f"multiplicity must be >= 1, got {self.multiplicity}")
        real = self.numbers if self.ghosts is None else self.numbers[~np.asarray(self.ghosts, bool)]
        electrons = int(real.sum()) - int(self.charge)  # ghost atoms (basis functions only) have none
        if (electrons + self.multiplicity - 1) % 2:
            raise ValueError(
                f"{electrons} electrons cannot have multiplicity {self.multiplicity}: check the total charge "
                f"({self.charge:+d}) and multiplicity"
            )
        if self.fragments is not None:
            self.fragments = np.asarray(self.fragments, np.int64)
            n_frag = int(self.fragments.max()) + 1
            if self.fragments.shape != (n,) or sorted(set(self.fragments.tolist())) != list(range(n_frag)):
                raise ValueError("fragments must give every atom a fragment index 0..F-1, each used")
            self.fragment_charges = list(self.fragment_charges or [0] * n_frag)
            self.fragment_multiplicities = list(self.fragment_multiplicities or [1] * n_frag)
            if len(self.fragment_charges) != n_frag or len(self.fragment_multiplicities) != n_frag:
                raise ValueError(f"{n_frag} fragments need {n_frag} fragment charges and multiplicities")
            if sum(self.fragment_charges) != self.charge:
                raise ValueError(f"fragment charges {self.fragment_charges} do not sum to the charge {self.charge:+d}")

    @property
    def periodic(self) -> bool:
        return self.cell is not None

    def fragment(self, index: int, ghosts: bool = False) -> QMStructure:
        """Monomer ``index`` alone, or (``ghosts=True``) with every other atom as a ghost."""
        if self.fragments is None:
            raise ValueError("this structure has no fragments")
        mine = self.fragments == index
        keep = np.ones(len(self.numbers), bool) if ghosts else mine
        return QMStructure(
            numbers=self.numbers[keep],
            positions=self.positions[keep],
            charge=self.fragment_charges[index],
            multiplicity=self.fragment_multiplicities[index],
            ghosts=~mine[keep] if ghosts else None,
            symmetry=None if self.symmetry is None else self.symmetry[keep],
        )

    def record(self, method: str, labels: dict[str, np.ndarray] | None = None) -> Record:
        """The store record of this structure (fragments and symmetry go into the provenance)."""
        provenance = dict(self.provenance)
        if self.fragments is not None:
            provenance.update(fragments=self.fragments.tolist(), fragment_charges=self.fragment_charges,
                              fragment_multiplicities=self.fragment_multiplicities)
        return Record(numbers=self.numbers, positions=self.positions, method=method, labels=labels or {},
                      total_charge=int(self.charge), multiplicity=int(self.multiplicity), cell=self.cell,
                      provenance=provenance)
