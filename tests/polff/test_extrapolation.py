"""Extrapolated polarization's coefficients: the fit on the published electrolyte box reproduces the
shipped ones, they reproduce converged dipoles of clusters the fit did not see, and bad input is
refused. (The plugin's extrapolated forces against torch: test_openmm_polarization.py.)"""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
import torch

from polff.extrapolation import ELECTROLYTE, fit_coefficients, perturbation_orders, spherical_cluster
from polff.system import PolSystem
from polff.terms.electrostatics import extrapolated_dipoles

from .conftest import SPECIES

COUNTS = [505, 345, 69, 69]


@pytest.fixture(scope="module")
def electrolyte_box(byteff_dir, electrolyte_molecules):
    atoms = ase.io.read(byteff_dir / "electrolyte" / "solvent_salt.gro")
    molecules = [electrolyte_molecules[name] for name, count in zip(SPECIES, COUNTS) for _ in range(count)]
    return molecules, atoms.positions, np.asarray(atoms.cell)


def test_fit_reproduces_the_shipped_coefficients(electrolyte_box):
    fitted = fit_coefficients(*electrolyte_box, order=len(ELECTROLYTE) - 1)
    assert np.allclose(fitted, ELECTROLYTE, atol=1e-3)
    assert sum(fitted) == pytest.approx(1.0, abs=0.01)  # mu_n alone would be the plain series


def test_coefficients_reproduce_converged_dipoles_of_unseen_clusters(electrolyte_box):
    """Clusters around other molecules than the fit's: dipoles within 1 % RMS, -1/2 mu.E within
    0.05 %, while the plain perturbation series of the same order is far off (it diverges here)."""
    molecules, positions, box = electrolyte_box
    for centre in (7, 600, 900):  # a DMC, an EC, a Li+ (the fit's seed 0 picks others)
        keep, x = spherical_cluster(molecules, positions, box, centre, 10.0)
        orders, mu = perturbation_orders(keep, x, len(ELECTROLYTE) - 1)
        alpha = PolSystem.from_molecules(keep).params["alpha"][:, None]
        field = torch.where(alpha > 0, orders[0] / torch.where(alpha > 0, alpha, 1.0), 0.0)  # p_0 = alpha E
        weights = [sum(ELECTROLYTE[j:]) for j in range(len(ELECTROLYTE))]
        extrapolated = sum(w * p for w, p in zip(weights, orders))
        plain = sum(orders)
        rms = lambda d: float(d.norm(dim=1).pow(2).mean().sqrt() / mu.norm(dim=1).pow(2).mean().sqrt())  # noqa: E731
        assert rms(extrapolated - mu) < 0.01
        assert rms(plain - mu) > 0.2
        assert float((extrapolated * field).sum() / (mu * field).sum()) == pytest.approx(1.0, abs=5e-4)  # -1/2 mu.E


def test_extrapolated_dipoles_are_the_weighted_partial_sums():
    """c = (0, 0, 1) is the second partial sum p_0 + p_1 + p_2 of the perturbation series."""
    alpha = torch.tensor([1.0, 2.0])
    field = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    coupling = torch.tensor([[0.0, 0.1], [0.1, 0.0]])  # a toy T acting on atoms, the same in x, y, z
    dipole_field_of = lambda mu: coupling @ mu  # noqa: E731
    p0 = alpha[:, None] * field
    p1 = alpha[:, None] * dipole_field_of(p0)
    p2 = alpha[:, None] * dipole_field_of(p1)
    assert torch.allclose(extrapolated_dipoles(alpha, field, dipole_field_of, (0.0, 0.0, 1.0)), p0 + p1 + p2)
    assert torch.allclose(extrapolated_dipoles(alpha, field, dipole_field_of, (0.5, 0.5)), p0 + 0.5 * p1)


def test_bad_input_is_refused(electrolyte_box):
    molecules, positions, box = electrolyte_box
    with pytest.raises(ValueError, match="at least two coefficients"):
        extrapolated_dipoles(torch.ones(1), torch.ones(1, 3), lambda mu: mu, (1.0,))
    with pytest.raises(ValueError, match="order must be >= 1"):
        fit_coefficients(molecules, positions, box, order=0)
    skewed = box.copy()
    skewed[1, 0] = 3.0
    with pytest.raises(ValueError, match="orthorhombic"):
        fit_coefficients(molecules, positions, skewed)
