"""ASE calculator: eV units, forces equal finite differences, works with an ASE optimizer."""

from __future__ import annotations

import ase
import numpy as np
import pytest
from ase.optimize import BFGS

from elyte.units import KCAL_TO_EV
from polff.calculator import PolarizableCalculator


def make_atoms(cluster):
    _, molecules, positions, record = cluster
    atoms = ase.Atoms([e for m in molecules for e in m.elements], positions=positions.numpy())
    atoms.calc = PolarizableCalculator(molecules)
    return atoms, record


def test_energy_and_forces_in_ev(cluster):
    atoms, record = make_atoms(cluster)
    assert atoms.get_potential_energy() == pytest.approx(record["energy_kcal_mol"]["cluster"]["total"] * KCAL_TO_EV, abs=1e-9)
    forces = atoms.get_forces()
    assert np.abs(forces - np.array(record["forces_kcal_mol_A"]["total"]) * KCAL_TO_EV).max() < 1e-8
    h = 1e-5
    for atom, axis in [(0, 0), (5, 2), (len(atoms) - 1, 1)]:
        shifted = atoms.copy()
        shifted.calc = atoms.calc
        shifted.positions[atom, axis] += h
        e_plus = shifted.get_potential_energy()
        shifted.positions[atom, axis] -= 2 * h
        e_minus = shifted.get_potential_energy()
        assert -(e_plus - e_minus) / (2 * h) == pytest.approx(forces[atom, axis], abs=1e-6)


def test_optimizer_lowers_the_energy(cluster):
    atoms, _ = make_atoms(cluster)
    start = atoms.get_potential_energy()
    BFGS(atoms, logfile=None).run(fmax=0.5, steps=15)
    assert atoms.get_potential_energy() < start


def test_refuses_wrong_atoms_and_slabs(cluster):
    atoms, _ = make_atoms(cluster)
    wrong = atoms[::-1]
    wrong.calc = atoms.calc
    with pytest.raises(ValueError, match="do not match"):
        wrong.get_potential_energy()
    slab = atoms.copy()
    slab.calc = atoms.calc
    slab.cell = np.eye(3) * 40.0
    slab.pbc = [True, True, False]
    with pytest.raises(NotImplementedError, match="mixed periodicity"):
        slab.get_potential_energy()


def test_periodic_box_forces_and_stress(small_box):
    molecules, positions, cell = small_box
    atoms = ase.Atoms([e for m in molecules for e in m.elements], positions=positions.numpy(), cell=cell.numpy(), pbc=True)
    atoms.calc = PolarizableCalculator(molecules, cutoff=9.0, ewald_tolerance=1e-8)
    stress = atoms.get_stress()
    # a small strain step: truncated pair terms jump when a pair crosses the cutoff
    numerical = atoms.calc.calculate_numerical_stress(atoms, d=1e-7)
    assert np.abs(stress - numerical).max() < 1e-6 + 1e-4 * np.abs(numerical).max()
    forces = atoms.get_forces()
    h = 1e-5
    shifted = atoms.copy()
    shifted.calc = atoms.calc
    shifted.positions[3, 1] += h
    e_plus = shifted.get_potential_energy()
    shifted.positions[3, 1] -= 2 * h
    e_minus = shifted.get_potential_energy()
    assert -(e_plus - e_minus) / (2 * h) == pytest.approx(forces[3, 1], abs=1e-5)
