"""OpenMM export: each term's energy and forces, the induced dipoles' (the plugin's
PolarizationForce) included, equal the torch model's (Reference: 1e-8 relative, the difference of
OpenMM's Coulomb constant from ByteFF-Pol's being 1.5e-8 relative in the charge term; CPU platform,
which sums non-bonded terms in single precision: 1e-5 relative)."""

from __future__ import annotations

import numpy as np
import openmm
import pytest
import torch

from elyte.md.integrators import FAST_GROUP, SLOW_GROUP, split_time_scales
from polff.energy import TERMS, PolarizableEnergy
from polff.openmm import GROUPS, build_system

PLATFORM_TOLERANCE = {"Reference": (1e-8, 1e-7), "CPU": (1e-5, 1e-4)}  # energy rel, force rel to max


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
def test_terms_match_torch(cluster, cluster_system, platform):
    name, molecules, positions, _ = cluster
    pos = positions.clone().requires_grad_(True)
    energies = PolarizableEnergy(cluster_system)(pos)
    context = openmm.Context(build_system(molecules, split_terms=True), openmm.VerletIntegrator(1e-3),
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


SHORT_RANGE = {GROUPS[t] for t in ("repulsion", "dispersion", "charge_transfer")}


def _energy_forces(system, positions_nm, platform, groups, box=None):
    context = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName(platform))
    if box is not None:
        context.setPeriodicBoxVectors(*(box * 0.1))
    context.setPositions(positions_nm)
    state = context.getState(getEnergy=True, getForces=True, groups=groups)
    return state.getPotentialEnergy()._value, state.getForces(asNumpy=True)._value


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
@pytest.mark.parametrize("long_range_correction", [False, True])
def test_fused_short_range_force_equals_the_split_terms(small_box, platform, long_range_correction):
    """The fast path (repulsion, dispersion and charge transfer in one force) against one force per
    term, 1-4 scaled pairs and the long-range correction included, in a periodic box."""
    molecules, positions, cell = small_box
    box = cell.numpy()
    kwargs = dict(box=box, cutoff=9.0, long_range_correction=long_range_correction)
    fused, split = build_system(molecules, **kwargs), build_system(molecules, split_terms=True, **kwargs)
    assert sum(isinstance(f, openmm.CustomNonbondedForce) for f in fused.getForces()) == 1
    x = positions.numpy() * 0.1
    e_fused, f_fused = _energy_forces(fused, x, platform, {GROUPS["repulsion"]}, box)
    e_split, f_split = _energy_forces(split, x, platform, SHORT_RANGE, box)
    rel = 1e-5 if platform == "CPU" else 1e-7 if long_range_correction else 1e-10  # the correction: a numerical integral
    assert e_fused == pytest.approx(e_split, rel=rel)
    assert np.abs(f_fused - f_split).max() <= rel * 10 * np.abs(f_split).max()


def test_fused_short_range_force_in_a_cluster(cluster):
    _, molecules, positions, _ = cluster
    x = positions.numpy() * 0.1
    e_fused, f_fused = _energy_forces(build_system(molecules), x, "Reference", {GROUPS["repulsion"]})
    e_split, f_split = _energy_forces(build_system(molecules, split_terms=True), x, "Reference", SHORT_RANGE)
    assert e_fused == pytest.approx(e_split, rel=1e-10)
    assert np.abs(f_fused - f_split).max() <= 1e-9 * np.abs(f_split).max()


def test_multiple_time_stepping_splits_bonded_from_nonbonded(small_box):
    """For MTS, a copy of the exported system has its bonded terms (1-4 pairs included) in the inner
    group and the nonbonded forces and the polarization force in the outer one; the two groups sum to
    the whole energy and forces, and the original keeps its per-term groups."""
    molecules, positions, cell = small_box
    box = cell.numpy()
    system = build_system(molecules, box=box, cutoff=9.0)
    groups = [f.getForceGroup() for f in system.getForces()]
    split = split_time_scales(system)
    assert [f.getForceGroup() for f in system.getForces()] == groups
    kinds = {g: {f.getName() for f in split.getForces() if f.getForceGroup() == g} for g in (FAST_GROUP, SLOW_GROUP)}
    assert kinds[FAST_GROUP] == {"HarmonicBondForce", "HarmonicAngleForce", "PeriodicTorsionForce", "CustomBondForce"}
    assert kinds[SLOW_GROUP] == {"CustomNonbondedForce", "NonbondedForce", "polarization"}
    x = positions.numpy() * 0.1
    e_all, f_all = _energy_forces(system, x, "Reference", set(groups), box)
    parts = [_energy_forces(split, x, "Reference", {g}, box) for g in (FAST_GROUP, SLOW_GROUP)]
    assert sum(e for e, _ in parts) == pytest.approx(e_all, rel=1e-9)
    np.testing.assert_allclose(sum(f for _, f in parts), f_all, atol=1e-8 * np.abs(f_all).max())
