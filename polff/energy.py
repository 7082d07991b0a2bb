"""The polarizable force field's energy: every term, for a cluster of parameterized molecules.

Positions in Angstrom, energies in kcal/mol; forces follow from autograd. Non-bonded terms run
over all atom pairs (clusters; the periodic Ewald path is separate).
"""

from __future__ import annotations

import torch

from polff.system import PolSystem
from polff.terms.angles import angle_energy
from polff.terms.bonds import bond_energy
from polff.terms.charge_transfer import charge_transfer_energy
from polff.terms.dispersion import dispersion_energy
from polff.terms.electrostatics import PairGeometry, electrostatics_energy
from polff.terms.repulsion import repulsion_energy
from polff.terms.scaling import ScalingRules
from polff.terms.torsions import torsion_energy

TERMS = (
    "bond", "angle", "proper", "improper", "repulsion", "dispersion", "charge_transfer",
    "electrostatics_permanent", "polarization",
)


class PolarizableEnergy:
    """Energy of a :class:`PolSystem` (a cluster) with the ByteFF-Pol functional form."""

    def __init__(self, system: PolSystem, rules: ScalingRules | None = None, solver: str = "auto",
                 tolerance: float = 1e-8):
        self.system = system
        self.rules = rules or ScalingRules()
        self.solver = solver
        self.tolerance = tolerance
        i, j = torch.triu_indices(system.n_atoms, system.n_atoms, offset=1)
        self.i, self.j = i, j
        self.relation = system.relation(i, j)
        self.dipoles: torch.Tensor | None = None  # induced dipoles of the last evaluation (e*A)

    def __call__(self, positions: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-term energies and their 'total' (kcal/mol); also 'repulsion_exp' and 'repulsion_s12'."""
        s, p = self.system, self.system.params
        if positions.shape != (s.n_atoms, 3):
            raise ValueError(f"positions must have shape ({s.n_atoms}, 3), got {tuple(positions.shape)}")
        dtype = positions.dtype
        vec = positions[self.j] - positions[self.i]
        pairs = PairGeometry(self.i, self.j, vec, vec.norm(dim=1))
        scale = {k: self.rules.factor(k, self.relation, dtype) for k in ("vdw", "charge", "dipole", "charge_transfer")}
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
        elec = electrostatics_energy(p["charge"], p["alpha"], p["pol_damping"], pairs, scale["charge"],
                                     scale["dipole"], self.solver, self.tolerance)
        out["electrostatics_permanent"] = elec.permanent
        out["polarization"] = elec.polarization
        self.dipoles = elec.dipoles
        out["total"] = sum(out[t] for t in TERMS)
        return out
