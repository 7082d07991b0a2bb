"""mlff in OpenMM through ``openmm.PythonForce``: the model evaluated in Python at every step.

This is the fallback path (it works on every platform, with Python's overhead per step); the native
plugin force that runs the model inside OpenMM's C++ (issue 7) replaces it for production speed.
Units at the boundary: OpenMM's nm and kJ/mol in, the model's Angstrom and kcal/mol inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as u
import torch

from elyte import units
from elyte.elements import masses
from elyte.errors import InputError
from elyte.formulation import Species
from mlff.data.batch import collate
from mlff.data.structure import Structure
from mlff.model.forcefield import ForceField
from mlff.model.io import load_model

KJ_PER_NM = units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM


def python_force(model: ForceField, numbers: np.ndarray, total_charge: float, periodic: bool,
                 dtype: torch.dtype = torch.float64) -> openmm.PythonForce:
    """A force whose energy and forces are the model's for atoms ``numbers`` (in system order)."""
    model = model.to(dtype=dtype).eval()
    numbers = np.asarray(numbers, dtype=np.int64)

    def compute(state: openmm.State):
        positions = state.getPositions(asNumpy=True).value_in_unit(u.angstrom)
        cell = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom) if periodic else None
        structure = Structure(numbers=numbers, positions=np.asarray(positions), cell=cell,
                              pbc=(periodic,) * 3, total_charge=total_charge)
        batch = collate([structure], model.config.cutoff, model.config.long_cutoff, dtype=dtype)
        out = model(batch, create_graph=False)
        energy = float(out["energy"].detach().sum()) * units.KCAL_TO_KJ
        return energy, out["forces"].detach().numpy().astype(np.float64) * KJ_PER_NM

    force = openmm.PythonForce(compute)
    force.setUsesPeriodicBoundaryConditions(periodic)
    force.setName("mlff")
    return force


class MLFFForceField:
    """The ML force field as a backend of the pipeline and of the simulate command."""

    name = "mlff"

    def __init__(self, model: str | Path | ForceField, dtype: str = "float64"):
        self.model = model if isinstance(model, ForceField) else load_model(model)
        self.dtype = getattr(torch, dtype)

    def system(self, molecules: Sequence[Species], cell: np.ndarray | None) -> openmm.System:
        """``cell``: [3, 3] box vectors in Angstrom (rows), or None for a molecule in vacuum."""
        numbers = np.concatenate([[a.GetAtomicNum() for a in m.rdkit().GetAtoms()] for m in molecules])
        system = openmm.System()
        for m in masses(numbers):
            system.addParticle(float(m))
        if cell is not None:
            widths = np.abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
            if widths.min() < 2.0 * self.model.config.long_cutoff:
                raise InputError(f"the box ({widths.min():.1f} A wide) is smaller than twice the model's cutoff "
                                 f"({self.model.config.long_cutoff} A): use a larger box")
            system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * units.ANGSTROM_TO_NM for row in np.asarray(cell)))
        total_charge = float(sum(m.charge for m in molecules))
        system.addForce(python_force(self.model, numbers, total_charge, cell is not None, self.dtype))
        return system
