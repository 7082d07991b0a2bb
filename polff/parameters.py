"""Parameters of one molecule in the polarizable force field, in internal units.

Lengths Angstrom, energies kcal/mol, angles radians, charges e, polarizability volumes Angstrom^3.
Indices are 0-based atom indices within the molecule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NONBONDED_FIELDS = ("charge", "alpha", "pol_damping", "eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb")


@dataclass
class Torsions:
    """Periodic torsions k (1 + cos(n phi - phase)); one row per Fourier term."""

    atoms: np.ndarray  # [T, 4] int
    k: np.ndarray  # [T] kcal/mol
    periodicity: np.ndarray  # [T] int
    phase: np.ndarray  # [T] rad

    @classmethod
    def empty(cls) -> Torsions:
        return cls(np.zeros((0, 4), int), np.zeros(0), np.zeros(0, int), np.zeros(0))


@dataclass
class MoleculeParameters:
    """A parameterized molecule: atoms, bonded terms and per-atom non-bonded parameters.

    Non-bonded (per atom): ``charge`` (e), ``alpha`` (polarizability, A^3), ``pol_damping``
    (Thole damping volume, A^3), ``eps`` (kcal/mol) and ``lamb`` (1) and ``rvdw`` (A) of the
    exponential repulsion, ``c6`` (kcal/mol A^6) of the damped dispersion, ``ct_eps``
    (kcal/mol A^4) and ``ct_lamb`` (1) of the charge transfer.
    """

    name: str
    atom_names: list[str]
    atom_types: list[str]
    elements: list[str]
    masses: np.ndarray  # amu
    charge: np.ndarray
    alpha: np.ndarray
    pol_damping: np.ndarray
    eps: np.ndarray
    lamb: np.ndarray
    rvdw: np.ndarray
    c6: np.ndarray
    ct_eps: np.ndarray
    ct_lamb: np.ndarray
    bonds: np.ndarray  # [B, 2] int
    bond_length: np.ndarray  # [B] A
    bond_k: np.ndarray  # [B] kcal/mol/A^2, E = k/2 (r - r0)^2
    angles: np.ndarray  # [A, 3] int
    angle_theta: np.ndarray  # [A] rad
    angle_k: np.ndarray  # [A] kcal/mol/rad^2, E = k/2 (theta - theta0)^2
    propers: Torsions = field(default_factory=Torsions.empty)
    impropers: Torsions = field(default_factory=Torsions.empty)

    @property
    def n_atoms(self) -> int:
        return len(self.atom_names)

    @property
    def total_charge(self) -> float:
        return float(self.charge.sum())

    def __post_init__(self) -> None:
        n = len(self.atom_names)
        for name in NONBONDED_FIELDS:
            values = getattr(self, name)
            if values.shape != (n,):
                raise ValueError(f"{self.name}: {name} has shape {values.shape}, expected ({n},)")
            if not np.isfinite(values).all():
                raise ValueError(f"{self.name}: {name} contains NaN or infinite values")
        for label, idx in (("bonds", self.bonds), ("angles", self.angles)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"{self.name}: {label} refer to atoms outside 1..{n}")

    def permuted(self, order: np.ndarray) -> MoleculeParameters:
        """The same molecule with atom ``k`` of the result being atom ``order[k]`` of this one."""
        order = np.asarray(order, int)
        if sorted(order.tolist()) != list(range(self.n_atoms)):
            raise ValueError(f"{self.name}: {order} is not a permutation of {self.n_atoms} atoms")
        new_index = np.empty_like(order)
        new_index[order] = np.arange(self.n_atoms)

        def torsions(t: Torsions) -> Torsions:
            return Torsions(new_index[t.atoms], t.k.copy(), t.periodicity.copy(), t.phase.copy())

        per_atom = {name: getattr(self, name)[order] for name in NONBONDED_FIELDS}
        return MoleculeParameters(
            name=self.name,
            atom_names=[self.atom_names[k] for k in order],
            atom_types=[self.atom_types[k] for k in order],
            elements=[self.elements[k] for k in order],
            masses=self.masses[order],
            bonds=new_index[self.bonds], bond_length=self.bond_length.copy(), bond_k=self.bond_k.copy(),
            angles=new_index[self.angles], angle_theta=self.angle_theta.copy(), angle_k=self.angle_k.copy(),
            propers=torsions(self.propers), impropers=torsions(self.impropers),
            **per_atom,
        )

