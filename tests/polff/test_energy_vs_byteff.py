"""The torch energy model reproduces the published ByteFF-Pol code's numbers on its own clusters:
every term, isolated molecules and interaction energies, induced dipoles and per-term forces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polff.energy import TERMS, PolarizableEnergy, interaction_energy
from polff.system import PolSystem

ENERGY_TOL = 1e-8  # kcal/mol, absolute (the reference is float64)


def test_cluster_energies_per_term(cluster, cluster_system):
    name, _, positions, record = cluster
    energies = PolarizableEnergy(cluster_system)(positions)
    for term, value in record["energy_kcal_mol"]["cluster"].items():
        assert float(energies[term]) == pytest.approx(value, abs=ENERGY_TOL, rel=1e-10), f"{name}: {term}"


def test_isolated_molecules_and_interaction(cluster):
    name, molecules, positions, record = cluster
    ref = record["energy_kcal_mol"]
    start = 0
    isolated_total = 0.0
    for k, (molecule, expected) in enumerate(zip(molecules, ref["isolated_molecules"])):
        part = positions[start : start + molecule.n_atoms]
        start += molecule.n_atoms
        energies = PolarizableEnergy(PolSystem.from_molecules([molecule]))(part)
        for term in TERMS:
            assert float(energies[term]) == pytest.approx(expected[term], abs=ENERGY_TOL), f"{name} molecule {k}: {term}"
        isolated_total += float(energies["total"])
    cluster_total = float(PolarizableEnergy(PolSystem.from_molecules(molecules))(positions)["total"])
    assert cluster_total - isolated_total == pytest.approx(ref["interaction"]["total"], abs=1e-7)
    assert interaction_energy(molecules, positions) == pytest.approx(ref["interaction"]["total"], abs=1e-7)


def test_induced_dipoles(cluster, cluster_system):
    _, _, positions, record = cluster
    model = PolarizableEnergy(cluster_system)
    model(positions)
    expected = np.array(record["induced_dipoles_e_A"]["cluster"])
    assert np.abs(model.dipoles.numpy() - expected).max() < 1e-10


def test_forces_per_term(cluster, cluster_system):
    name, _, positions, record = cluster
    pos = positions.clone().requires_grad_(True)
    energies = PolarizableEnergy(cluster_system)(pos)
    for term, expected in record["forces_kcal_mol_A"]["per_term"].items():
        forces = -torch.autograd.grad(energies[term], pos, retain_graph=True, allow_unused=True)[0]
        forces = torch.zeros_like(pos) if forces is None else forces
        assert np.abs(forces.numpy() - np.array(expected)).max() < 1e-7, f"{name}: {term}"
    total = -torch.autograd.grad(energies["total"], pos)[0]
    assert np.abs(total.numpy() - np.array(record["forces_kcal_mol_A"]["total"])).max() < 1e-7
