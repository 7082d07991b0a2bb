"""Geometry relaxation with any backend's energy and forces (ASE BFGS with a bounded step)."""

from __future__ import annotations

import ase
import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.optimize import BFGS

from elyte.labels.engines.base import Backend
from elyte.labels.structure import QMStructure
from elyte.units import KCAL_TO_EV


class BackendCalculator(Calculator):
    """An ASE calculator (eV, eV/A) over a label backend, for a fixed charge and multiplicity."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, backend: Backend, charge: int, multiplicity: int):
        super().__init__()
        self.backend, self.charge, self.multiplicity = backend, charge, multiplicity

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        s = QMStructure(self.atoms.numbers, self.atoms.positions, self.charge, self.multiplicity)
        out = self.backend.compute(s, ["energy", "forces"])
        self.results = {"energy": float(out["energy"]) * KCAL_TO_EV, "forces": out["forces"] * KCAL_TO_EV}


def relax(backend: Backend, structure: QMStructure, fmax: float = 0.5, steps: int = 300,
          max_step: float = 0.2) -> QMStructure:
    """Minimise the energy until every atom's force is below ``fmax`` (kcal/mol/A), at most ``steps``
    BFGS steps of at most ``max_step`` (A). Returns a copy with ``provenance['relaxed_steps']``; a run
    that hits ``steps`` keeps its last geometry (a slightly strained conformer is still a sample)."""
    if len(structure.numbers) == 1:
        return structure
    atoms = ase.Atoms(numbers=structure.numbers, positions=structure.positions)
    atoms.calc = BackendCalculator(backend, structure.charge, structure.multiplicity)
    optimizer = BFGS(atoms, maxstep=max_step, logfile=None)
    optimizer.run(fmax=fmax * KCAL_TO_EV, steps=steps)
    return QMStructure(structure.numbers, np.array(atoms.positions), structure.charge, structure.multiplicity,
                       symmetry=structure.symmetry,
                       provenance={**structure.provenance, "relaxed_steps": int(optimizer.nsteps)})
