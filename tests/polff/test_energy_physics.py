"""Physics checks of the energy model: finite differences, invariances, solvers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polff.energy import PolarizableEnergy
from polff.system import PolSystem
from polff.terms.electrostatics import PolarizationError


def test_forces_equal_finite_differences(cluster, cluster_system):
    _, _, positions, _ = cluster
    model = PolarizableEnergy(cluster_system)
    pos = positions.clone().requires_grad_(True)
    forces = -torch.autograd.grad(model(pos)["total"], pos)[0]
    h = 1e-5
    rng = np.random.default_rng(0)
    for atom in rng.choice(positions.shape[0], 6, replace=False):
        for axis in range(3):
            plus, minus = positions.clone(), positions.clone()
            plus[atom, axis] += h
            minus[atom, axis] -= h
            fd = -(float(model(plus)["total"]) - float(model(minus)["total"])) / (2 * h)
            assert fd == pytest.approx(float(forces[atom, axis]), abs=2e-5, rel=1e-6)


def test_rotation_translation_and_permutation_of_molecules(cluster, cluster_system):
    _, molecules, positions, _ = cluster
    model = PolarizableEnergy(cluster_system)
    energies = model(positions)
    q, _ = torch.linalg.qr(torch.as_tensor(np.random.default_rng(1).normal(size=(3, 3))))
    moved = positions @ q.T + torch.tensor([10.0, -3.0, 7.5], dtype=torch.float64)
    moved_energies = model(moved)
    for term, value in energies.items():
        assert float(moved_energies[term]) == pytest.approx(float(value), abs=1e-9), term
    # the same cluster with the molecules listed in reverse order
    sizes = [m.n_atoms for m in molecules]
    blocks = list(torch.split(positions, sizes))
    reversed_model = PolarizableEnergy(PolSystem.from_molecules(molecules[::-1]))
    assert float(reversed_model(torch.cat(blocks[::-1]))["total"]) == pytest.approx(float(energies["total"]), abs=1e-9)


def test_iterative_solver_matches_direct(cluster, cluster_system):
    _, _, positions, _ = cluster
    direct = PolarizableEnergy(cluster_system, solver="direct")
    iterative = PolarizableEnergy(cluster_system, solver="iterative", tolerance=1e-10)
    e_direct, e_iter = direct(positions), iterative(positions)
    assert torch.allclose(direct.dipoles, iterative.dipoles, atol=1e-9)
    assert float(e_iter["polarization"]) == pytest.approx(float(e_direct["polarization"]), abs=1e-9)
    pos = positions.clone().requires_grad_(True)
    f_direct = torch.autograd.grad(direct(pos)["total"], pos)[0]
    f_iter = torch.autograd.grad(iterative(pos)["total"], pos)[0]
    assert torch.allclose(f_direct, f_iter, atol=1e-7)


def test_polarization_catastrophe_is_reported(electrolyte_molecules):
    """Two strongly polarizable, barely damped atoms almost on top of each other."""
    pf6 = electrolyte_molecules["PF6"]
    system = PolSystem.from_molecules([pf6, pf6])
    system.params["alpha"] = system.params["alpha"] * 400.0
    system.params["pol_damping"] = system.params["pol_damping"] * 1e-4
    positions = torch.zeros(14, 3, dtype=torch.float64)
    octahedron = torch.tensor([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float64)
    positions[1:7] = 1.6 * octahedron
    positions[7] = torch.tensor([3.4, 0.0, 0.0])
    positions[8:14] = positions[7] + 1.6 * octahedron
    for solver in ("direct", "iterative"):
        with pytest.raises(PolarizationError, match="atom"):
            PolarizableEnergy(system, solver=solver)(positions)


def test_bad_positions_shape(cluster_system):
    with pytest.raises(ValueError, match="positions must have shape"):
        PolarizableEnergy(cluster_system)(torch.zeros(3, 3, dtype=torch.float64))
