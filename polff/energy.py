"""The polarizable force field's energy: every term, for a cluster or a periodic box of
parameterized molecules.

Positions in Angstrom, energies in kcal/mol; forces follow from autograd. Clusters: non-bonded
terms over all atom pairs. Periodic boxes: repulsion, dispersion and charge transfer within the
cutoff (plain truncation), charges and induced dipoles by Ewald summation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from elyte.neighbors import neighbor_list, pair_vectors
from polff.parameters import MoleculeParameters
from polff.system import PolSystem
from polff.terms.angles import angle_energy
from polff.terms.bonds import bond_energy
from polff.terms.charge_transfer import charge_transfer_energy
from polff.terms.dispersion import dispersion_energy
from polff.terms.electrostatics import PairGeometry, electrostatics_energy
from elyte.electrostatics.ewald import EwaldParameters
from polff.terms.ewald import ewald_electrostatics
from polff.terms.repulsion import repulsion_energy
from polff.terms.scaling import ScalingRules
from polff.terms.torsions import torsion_energy

TERMS = (
    "bond", "angle", "proper", "improper", "repulsion", "dispersion", "charge_transfer",
    "electrostatics_permanent", "polarization",
)


class PolarizableEnergy:
    """Energy of a :class:`PolSystem` with the ByteFF-Pol functional form.

    ``cell``: [3, 3] box vectors (rows, Angstrom) for a periodic box, None for a cluster;
    ``cutoff`` (Angstrom) and ``ewald_tolerance`` apply to boxes only. Induced dipoles converge to
    ``tolerance`` (e*A) unless ``extrapolation`` gives the coefficients of extrapolated
    polarization (polff.extrapolation).
    """

    def __init__(self, system: PolSystem, rules: ScalingRules | None = None, solver: str = "auto",
                 tolerance: float = 1e-8, cell: torch.Tensor | None = None, cutoff: float = 9.0,
                 ewald_tolerance: float = 1e-6, extrapolation: Sequence[float] | None = None):
        self.system = system
        self.rules = rules or ScalingRules()
        self.solver = solver
        self.tolerance = tolerance
        self.cell = cell
        self.cutoff = cutoff
        self.ewald = EwaldParameters.from_tolerance(cutoff, ewald_tolerance)
        self.extrapolation = None if extrapolation is None else list(extrapolation)
        if cell is None:
            self.i, self.j = torch.triu_indices(system.n_atoms, system.n_atoms, offset=1)
        self.dipoles: torch.Tensor | None = None  # induced dipoles of the last evaluation (e*A)

    def _pairs(self, positions: torch.Tensor, cell: torch.Tensor | None) -> PairGeometry:
        if cell is None:
            vec = positions[self.j] - positions[self.i]
            return PairGeometry(self.i, self.j, vec, vec.norm(dim=1))
        index, shifts = neighbor_list(positions.detach(), self.cutoff, cell)
        vec = pair_vectors(positions, cell, index, shifts)
        return PairGeometry(index[0], index[1], vec, vec.norm(dim=1))

    def __call__(self, positions: torch.Tensor, cell: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-term energies and their 'total' (kcal/mol); also 'repulsion_exp' and 'repulsion_s12'.

        ``cell`` replaces the box given at construction (NPT, or differentiating by strain).
        """
        s, p = self.system, self.system.params
        if positions.shape != (s.n_atoms, 3):
            raise ValueError(f"positions must have shape ({s.n_atoms}, 3), got {tuple(positions.shape)}")
        if self.cell is None and cell is not None:
            raise ValueError("this model was built for a cluster; build it with cell=... for a periodic box")
        cell = (self.cell if cell is None else cell)
        cell = None if cell is None else cell.to(positions.dtype)
        pairs = self._pairs(positions, cell)
        relation = s.relation(pairs.i, pairs.j)
        scale = {k: self.rules.factor(k, relation, positions.dtype) for k in ("vdw", "charge", "dipole", "charge_transfer")}
        out = {
            "bond": bond_energy(positions, s.bonds, s.bond_length, s.bond_k),
            "angle": angle_energy(positions, s.angles, s.angle_theta, s.angle_k),
            "proper": torsion_energy(positions, **s.torsions["propers"]),
            "improper": torsion_energy(positions, **s.torsions["impropers"]),
        }
        out["repulsion_exp"], out["repulsion_s12"] = repulsion_energy(pairs.r, pairs.i, pairs.j, p, scale["vdw"])
        out["repulsion"] = out["repulsion_exp"] + out["repulsion_s12"]
        out["dispersion"] = dispersion_energy(pairs.r, pairs.i, pairs.j, p, scale["vdw"])
        out["charge_transfer"] = charge_transfer_energy(pairs.r, pairs.i, pairs.j, p, scale["charge_transfer"])
        if cell is None:
            elec = electrostatics_energy(p["charge"], p["alpha"], p["pol_damping"], pairs, scale["charge"],
                                         scale["dipole"], self.solver, self.tolerance, self.extrapolation)
        else:
            elec = ewald_electrostatics(p["charge"], p["alpha"], p["pol_damping"], positions,
                                        cell, pairs, scale["charge"], scale["dipole"],
                                        self.ewald, self.tolerance, extrapolation=self.extrapolation)
        out["electrostatics_permanent"] = elec.permanent
        out["polarization"] = elec.polarization
        self.dipoles = elec.dipoles.detach()
        out["total"] = sum(out[t] for t in TERMS)
        return out


def interaction_energy(molecules: Sequence[MoleculeParameters], positions: torch.Tensor) -> float:
    """Energy of the cluster of ``molecules`` (atoms consecutive, in that order; positions in
    Angstrom) minus each molecule's own energy at the same geometry, in kcal/mol (no box)."""
    with torch.no_grad():
        total = float(PolarizableEnergy(PolSystem.from_molecules(list(molecules)), solver="direct")(positions)["total"])
        start = 0
        for molecule in molecules:
            alone = PolarizableEnergy(PolSystem.from_molecules([molecule]), solver="direct")
            total -= float(alone(positions[start:start + molecule.n_atoms])["total"])
            start += molecule.n_atoms
    return total
