"""GFN2-xTB backend (tblite): forces against finite differences, dipole, polarizability, dftd4, virial,
the water-dimer interaction energy and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.labels.compute import label_structure
from elyte.labels.engines import make_backend
from elyte.labels.engines.base import BackendError
from elyte.labels.structure import QMStructure

from .conftest import finite_difference_forces

pytest.importorskip("tblite")


@pytest.fixture(scope="module")
def xtb():
    return make_backend({"name": "xtb"})


def test_forces_are_minus_energy_gradient(xtb, water):
    forces = xtb.compute(water, ["energy", "forces"])["forces"]
    reference = finite_difference_forces(lambda s: float(xtb.compute(s, ["energy"])["energy"]), water)
    np.testing.assert_allclose(forces, reference, atol=2e-3 * np.abs(reference).max())
    assert np.abs(forces.sum(axis=0)).max() < 1e-6  # no net force on an isolated molecule


def test_dipole_charges_and_response(xtb, water):
    out = xtb.compute(water, ["energy", "dipole", "charges_mulliken", "polarizability", "dftd4"])
    q = out["charges_mulliken"]
    assert q.sum() == pytest.approx(0.0, abs=1e-6) and q[0] < 0 < q[1]
    # the dipole points from the oxygen towards the hydrogens (+z here is the O side)
    assert out["dipole"][2] < 0 and 0.3 < np.linalg.norm(out["dipole"]) < 0.6  # e*A (~1.4-2.9 D)
    alpha = out["polarizability"]
    np.testing.assert_allclose(alpha, alpha.T)
    assert np.linalg.eigvalsh(alpha).min() > -1e-3 and np.trace(alpha) > 0
    assert out["atomic_polarizabilities"].shape == (3,) and (out["atomic_polarizabilities"] > 0).all()
    assert out["c6"][0] > out["c6"][1] > 0  # oxygen is more polarizable than hydrogen


def test_polarizability_is_rotation_covariant(xtb, water):
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    alpha = xtb.compute(water, ["energy", "polarizability"])["polarizability"]
    turned = QMStructure(water.numbers, water.positions @ rot.T)
    np.testing.assert_allclose(xtb.compute(turned, ["energy", "polarizability"])["polarizability"],
                               rot @ alpha @ rot.T, atol=1e-4)


def test_hessian_predicts_force_changes(xtb, water):
    h = label_structure(xtb, water, ["energy", "hessian"])["hessian"]
    np.testing.assert_allclose(h, h.T, atol=1e-9)
    delta = np.random.default_rng(0).normal(scale=2e-3, size=(3, 3))
    moved = QMStructure(water.numbers, water.positions + delta)
    change = xtb.compute(moved, ["energy", "forces"])["forces"] - xtb.compute(water, ["energy", "forces"])["forces"]
    np.testing.assert_allclose(change.ravel(), -h @ delta.ravel(), atol=0.02 * np.abs(change).max())


def test_water_dimer_interaction_energy(xtb, water_dimer):
    labels = label_structure(xtb, water_dimer, ["energy", "interaction_energy"])
    assert -7.0 < float(labels["interaction_energy"]) < -3.0  # kcal/mol; CCSD(T) reference about -5.0


def test_virial_matches_strain_derivative(xtb):
    """Periodic virial W = -dE/d(strain), checked by straining a small periodic box of H2."""
    cell = np.diag([4.0, 4.5, 5.0])
    s = QMStructure([1, 1, 1, 1], [[0, 0, 0], [0.75, 0.1, 0], [2.0, 2.2, 2.5], [2.1, 2.9, 2.6]], cell=cell)
    virial = xtb.compute(s, ["energy", "virial"])["virial"]
    h = 1e-4
    for i, j in [(0, 0), (1, 1), (0, 1)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[i, j] += sign * h
            strained = QMStructure(s.numbers, s.positions @ strain.T, cell=cell @ strain.T)
            energies.append(float(xtb.compute(strained, ["energy"])["energy"]))
        assert virial[i, j] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=2e-3)


def test_errors_name_the_problem(xtb, water):
    with pytest.raises(ValueError, match="cannot compute"):
        xtb.compute(water, ["energy", "charges_esp"])
    with pytest.raises(BackendError, match="periodic"):
        xtb.compute(water, ["energy", "virial"])
    with pytest.raises(ValueError, match="multiplicity"):
        QMStructure([8, 1, 1], water.positions, multiplicity=2)



def test_scf_fallbacks_reach_the_same_solution(xtb, water):
    """The fallback settings tried after an SCF failure change how the SCF converges, not the answer."""
    from elyte.labels.engines.xtb import SCF_FALLBACKS

    default = xtb._calculator(water).singlepoint().get("energy")
    for fallback in SCF_FALLBACKS:
        assert xtb._calculator(water, fallback=fallback).singlepoint().get("energy") == pytest.approx(default, abs=1e-7)
