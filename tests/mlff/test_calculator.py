"""The mlff ASE calculator: model == calculator (ASE units), finite differences, committee, MD."""

from __future__ import annotations

import ase
import numpy as np
import pytest
import torch
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS

from elyte import units
from mlff.calculator import MLFFCalculator
from mlff.model.build import build_model
from tests.mlff.random_structures import SMALL, batch_of, cluster, periodic


def _model(seed=0):
    torch.manual_seed(seed)
    return build_model(SMALL).double()


def _atoms(structure):
    atoms = ase.Atoms(numbers=structure.numbers, positions=structure.positions,
                      cell=structure.cell if structure.cell is not None else None, pbc=structure.pbc)
    atoms.info["charge"] = structure.total_charge
    return atoms


@pytest.mark.parametrize("make", [cluster, periodic])
def test_calculator_equals_the_model_in_ase_units(make):
    model, structure = _model(), make(seed=3)
    atoms = _atoms(structure)
    atoms.calc = MLFFCalculator(model)
    out = model(batch_of([structure], model), compute_stress=structure.cell is not None, create_graph=False)
    assert atoms.get_potential_energy() == pytest.approx(float(out["energy"].detach()) / units.EV_TO_KCAL, rel=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), out["forces"].detach().numpy() / units.EV_TO_KCAL, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(atoms.get_charges().sum(), structure.total_charge, atol=1e-10)


def test_forces_and_stress_are_derivatives_of_the_ase_energy():
    atoms = _atoms(periodic(seed=5))
    atoms.calc = MLFFCalculator(_model())
    forces, stress = atoms.get_forces(), atoms.get_stress(voigt=False)
    h = 1e-5
    for atom, axis in [(0, 0), (3, 2), (7, 1)]:
        energies = []
        for sign in (1, -1):
            displaced = atoms.copy()
            displaced.calc = atoms.calc
            displaced.positions[atom, axis] += sign * h
            energies.append(displaced.get_potential_energy())
        assert forces[atom, axis] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), rel=1e-5, abs=1e-7)
    for i, j in [(0, 0), (0, 1), (2, 1)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[i, j] += sign * h
            deformed = atoms.copy()
            deformed.calc = atoms.calc
            deformed.set_cell(atoms.cell[:] @ strain.T, scale_atoms=True)
            energies.append(deformed.get_potential_energy())
        derivative = (energies[0] - energies[1]) / (2 * h) / atoms.get_volume()
        assert 0.5 * (stress[i, j] + stress[j, i]) == pytest.approx(derivative, rel=1e-5, abs=1e-8)


def test_committee_spread():
    atoms = _atoms(cluster(seed=1))
    same = MLFFCalculator([_model(0), _model(0)])
    atoms.calc = same
    same.calculate(atoms, ["energy", "forces"])
    assert same.results["energy_std"] == 0.0 and np.all(same.results["forces_std"] == 0.0)
    different = MLFFCalculator([_model(0), _model(1)])
    different.calculate(atoms, ["energy", "forces"])
    assert different.results["energy_std"] > 0.0
    single = MLFFCalculator(_model(0))
    single.calculate(atoms, ["energy"])
    assert different.results["energy"] == pytest.approx(
        0.5 * (single.results["energy"] + MLFFCalculator(_model(1)).get_potential_energy(atoms)), rel=1e-12)


def test_runs_ase_md_and_optimization():
    atoms = _atoms(cluster(seed=2))
    atoms.calc = MLFFCalculator(_model())
    BFGS(atoms, logfile=None).run(fmax=0.5, steps=20)
    atoms.set_momenta(np.zeros((len(atoms), 3)))
    start = atoms.get_total_energy()
    VelocityVerlet(atoms, timestep=0.2 * ase.units.fs).run(20)
    assert abs(atoms.get_total_energy() - start) < 1e-3
