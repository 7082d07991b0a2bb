"""OpenMM export: each term's energy and forces, the induced dipoles' (the plugin's
PolarizationForce) included, equal the torch model's (Reference: 1e-8 relative, the difference of
OpenMM's Coulomb constant from ByteFF-Pol's being 1.5e-8 relative in the charge term; CPU platform,
which sums non-bonded terms in single precision: 1e-5 relative)."""

from __future__ import annotations

import numpy as np
import openmm
import pytest
import torch

from polff.energy import TERMS, PolarizableEnergy
from polff.openmm import GROUPS, build_system

PLATFORM_TOLERANCE = {"Reference": (1e-8, 1e-7), "CPU": (1e-5, 1e-4)}  # energy rel, force rel to max


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
def test_terms_match_torch(cluster, cluster_system, platform):
    name, molecules, positions, _ = cluster
    pos = positions.clone().requires_grad_(True)
    energies = PolarizableEnergy(cluster_system)(pos)
    context = openmm.Context(build_system(molecules), openmm.VerletIntegrator(1e-3),
                             openmm.Platform.getPlatformByName(platform))
    context.setPositions(positions.numpy() * 0.1)
    energy_tol, force_tol = PLATFORM_TOLERANCE[platform]
    for term, group in GROUPS.items():
        state = context.getState(getEnergy=True, getForces=True, groups={group})
        e_mm = state.getPotentialEnergy().value_in_unit(openmm.unit.kilocalorie_per_mole)
        assert e_mm == pytest.approx(float(energies[term]), rel=energy_tol, abs=1e-9), f"{name} {platform}: {term}"
        f_mm = state.getForces(asNumpy=True).value_in_unit(openmm.unit.kilocalorie_per_mole / openmm.unit.angstrom)
        grad = torch.autograd.grad(energies[term], pos, retain_graph=True, allow_unused=True)[0]
        f_torch = np.zeros_like(f_mm) if grad is None else -grad.numpy()
        scale = max(np.abs(f_torch).max(), 1.0)
        assert np.abs(f_mm - f_torch).max() <= force_tol * scale, f"{name} {platform}: {term} forces"


def test_system_serializes(cluster):
    _, molecules, _, _ = cluster
    system = build_system(molecules)
    again = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    assert again.getNumParticles() == system.getNumParticles()
    assert again.getNumForces() == system.getNumForces()
    assert [f.getName() for f in again.getForces()] == [f.getName() for f in system.getForces()]


def test_every_torch_term_has_a_group():
    assert set(GROUPS) == set(TERMS)


def test_periodic_system_uses_cutoffs(electrolyte_molecules):
    system = build_system([electrolyte_molecules["EC"]] * 3, box=np.eye(3) * 30.0, cutoff=9.0)
    kinds = {type(f).__name__: f for f in system.getForces()}
    assert kinds["NonbondedForce"].getNonbondedMethod() == openmm.NonbondedForce.PME
    assert kinds["CustomNonbondedForce"].getCutoffDistance().value_in_unit(openmm.unit.nanometer) == pytest.approx(0.9)
    assert system.usesPeriodicBoundaryConditions()
