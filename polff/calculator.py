"""ASE calculator for the polarizable force field (torch model): energy in eV, forces in eV/A,
stress in eV/A^3 (periodic), induced dipoles and per-term energies in ``calc.results``. Clusters
(pbc all False) or periodic boxes (pbc all True, Ewald electrostatics)."""

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

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies_by_term", "induced_dipoles"]

    def __init__(self, molecules: Sequence[MoleculeParameters], solver: str = "auto", cutoff: float = 9.0,
                 ewald_tolerance: float = 1e-6, **kwargs):
        """``cutoff`` (A) and ``ewald_tolerance`` apply to periodic boxes."""
        super().__init__(**kwargs)
        self.molecules = list(molecules)
        system = PolSystem.from_molecules(self.molecules)
        self.cluster_model = PolarizableEnergy(system, solver=solver)
        self.box_model = PolarizableEnergy(system, cell=torch.eye(3, dtype=torch.float64), cutoff=cutoff,
                                           ewald_tolerance=ewald_tolerance)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        expected = [e for m in self.molecules for e in m.elements]
        if self.atoms.get_chemical_symbols() != expected:
            raise ValueError(
                "the atoms do not match the calculator's molecules (element order differs): "
                f"expected {len(expected)} atoms starting {expected[:8]}"
            )
        periodic = bool(self.atoms.pbc.all())
        if self.atoms.pbc.any() and not periodic:
            raise NotImplementedError("mixed periodicity (slabs, wires) is not supported: use pbc all True or all False")
        positions = torch.tensor(self.atoms.positions, dtype=torch.float64, requires_grad=True)
        if periodic:
            # differentiate by a homogeneous strain for the stress: x -> x (I + e), cell -> cell (I + e)
            strain = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
            deform = torch.eye(3, dtype=torch.float64) + strain
            cell = torch.tensor(self.atoms.cell[:], dtype=torch.float64)
            energies = self.box_model(positions @ deform, cell @ deform)
            forces, virial = torch.autograd.grad(energies["total"], (positions, strain))
            forces = -forces
            volume = abs(float(torch.linalg.det(cell)))
            stress = (virial + virial.T).numpy() / (2.0 * volume) * KCAL_TO_EV
            self.results["stress"] = stress.flat[[0, 4, 8, 5, 2, 1]]
            model = self.box_model
        else:
            energies = self.cluster_model(positions)
            forces = -torch.autograd.grad(energies["total"], positions)[0]
            model = self.cluster_model
        energies = {k: float(v.detach()) * KCAL_TO_EV for k, v in energies.items()}
        self.results["energy"] = self.results["free_energy"] = energies["total"]
        self.results["forces"] = forces.numpy() * KCAL_TO_EV
        self.results["energies_by_term"] = energies
        self.results["induced_dipoles"] = model.dipoles.numpy().copy()
