"""ASE calculator for the polarizable force field (torch model): energy in eV, forces in eV/A,
induced dipoles and per-term energies in ``calc.results``. Clusters only until the periodic
(Ewald) electrostatics land; a periodic Atoms object is refused with that message."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from ase.calculators.calculator import Calculator, all_changes

from elyte.units import KCAL_TO_EV
from polff.energy import PolarizableEnergy
from polff.parameters import MoleculeParameters
from polff.system import PolSystem


class PolarizableCalculator(Calculator):
    """ASE calculator for a cluster made of ``molecules`` (atoms in the same order)."""

    implemented_properties = ["energy", "free_energy", "forces", "energies_by_term", "induced_dipoles"]

    def __init__(self, molecules: Sequence[MoleculeParameters], solver: str = "auto", **kwargs):
        super().__init__(**kwargs)
        self.molecules = list(molecules)
        self.model = PolarizableEnergy(PolSystem.from_molecules(self.molecules), solver=solver)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        expected = [e for m in self.molecules for e in m.elements]
        if self.atoms.get_chemical_symbols() != expected:
            raise ValueError(
                "the atoms do not match the calculator's molecules (element order differs): "
                f"expected {len(expected)} atoms starting {expected[:8]}"
            )
        if self.atoms.pbc.any():
            raise NotImplementedError(
                "periodic systems need the Ewald electrostatics of polff, which have not landed yet; "
                "use a cluster (pbc=False) or the OpenMM export for boxes"
            )
        positions = torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True)
        energies = self.model(positions)
        forces = -torch.autograd.grad(energies["total"], positions)[0]
        energies = {k: float(v.detach()) * KCAL_TO_EV for k, v in energies.items()}
        self.results["energy"] = self.results["free_energy"] = energies["total"]
        self.results["forces"] = forces.numpy() * KCAL_TO_EV
        self.results["energies_by_term"] = energies
        self.results["induced_dipoles"] = self.model.dipoles.numpy().copy()
