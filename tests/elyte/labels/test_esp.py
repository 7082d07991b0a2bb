"""ESP grids and the constrained (RESP-style) charge fit, on synthetic potentials with known charges."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.labels.esp import design_matrix, esp_grid, fit_charges, vdw_radius
from elyte.labels.sampling.molecules import embed
from elyte.labels.symmetry import classes_from_geometry


@pytest.fixture(scope="module")
def methanol():
    return embed("CO", 1, seed=3)[0]


def test_grid_points_lie_outside_the_scaled_vdw_shells(methanol):
    points = esp_grid(methanol.numbers, methanol.positions)
    radii = np.array([vdw_radius(z) for z in methanol.numbers])
    dist = np.linalg.norm(points[:, None] - methanol.positions[None], axis=-1)
    assert (dist >= 1.4 * radii[None] - 1e-6).all()
    assert (dist.min(axis=1) <= 2.0 * radii.max() + 1e-6).all()
    assert len(points) > 200


def test_fit_recovers_generating_charges(methanol):
    """Charges that respect the symmetry and total charge are reproduced exactly from their own ESP."""
    symmetry = methanol.symmetry
    base = np.array([-0.05, -0.6, 0.05, 0.05, 0.05, 0.5])  # C O H H H H(O) for SMILES CO with Hs added
    assert len(set(symmetry[2:5])) == 1  # the methyl hydrogens are one class
    points = esp_grid(methanol.numbers, methanol.positions)
    potential = design_matrix(points, methanol.positions) @ base
    fitted = fit_charges(points, potential, methanol.positions, 0.0, symmetry)
    np.testing.assert_allclose(fitted, base, atol=1e-8)


def test_constraints_hold_exactly_under_noise_and_restraint(methanol):
    rng = np.random.default_rng(1)
    points = esp_grid(methanol.numbers, methanol.positions)
    q_true = np.array([0.2, -0.7, 0.0, 0.1, -0.05, 0.45])  # not symmetric, total 0
    potential = design_matrix(points, methanol.positions) @ q_true + rng.normal(0, 0.5, len(points))
    for restraint in (0.0, 1.0e2, 1.0e4):
        q = fit_charges(points, potential, methanol.positions, -1.0, methanol.symmetry, methanol.numbers,
                        restraint=restraint)
        assert q.sum() == pytest.approx(-1.0, abs=1e-10)
        assert np.ptp(q[2:5]) < 1e-12
    # a strong restraint pulls heavy-atom charges towards zero
    free = fit_charges(points, potential, methanol.positions, 0.0, methanol.symmetry, methanol.numbers)
    held = fit_charges(points, potential, methanol.positions, 0.0, methanol.symmetry, methanol.numbers,
                       restraint=1e6)
    assert np.abs(held[:2]).sum() < np.abs(free[:2]).sum()


def test_symmetry_from_geometry_matches_smiles(methanol):
    by_geometry = classes_from_geometry(methanol.numbers, methanol.positions)
    same = lambda c: c[:, None] == c[None, :]  # noqa: E731
    np.testing.assert_array_equal(same(by_geometry), same(methanol.symmetry))


def test_bad_input_is_reported(methanol):
    points = esp_grid(methanol.numbers, methanol.positions)
    with pytest.raises(ValueError, match="one class per atom"):
        fit_charges(points, np.zeros(len(points)), methanol.positions, 0.0, symmetry=[0, 1])
    with pytest.raises(ValueError, match="atomic numbers"):
        fit_charges(points, np.zeros(len(points)), methanol.positions, 0.0, restraint=1.0)
