"""Periodic boxes: Ewald electrostatics with induced dipoles (independent of the real/reciprocal
split, the cluster limit in a large box), agreement with OpenMM, and finite-difference forces."""

from __future__ import annotations

import math

import ase.io
import openmm
import pytest
import torch

from elyte.units import COULOMB_KCAL_ANGSTROM
from polff.energy import PolarizableEnergy
from polff.openmm import GROUPS, build_system
from polff.system import PolSystem

def test_independent_of_the_ewald_split(small_box):
    molecules, positions, cell = small_box
    system = PolSystem.from_molecules(molecules)
    a = PolarizableEnergy(system, cell=cell, cutoff=8.0, ewald_tolerance=1e-10)(positions)
    b = PolarizableEnergy(system, cell=cell, cutoff=10.0, ewald_tolerance=1e-10)(positions)
    for term in ("electrostatics_permanent", "polarization"):
        assert float(a[term]) == pytest.approx(float(b[term]), abs=1e-6), term
    triclinic = cell + torch.tensor([[0.0, 0, 0], [4.0, 0, 0], [-3.0, 2.0, 0]], dtype=torch.float64)
    c = PolarizableEnergy(system, cell=triclinic, cutoff=8.0, ewald_tolerance=1e-10)(positions)
    d = PolarizableEnergy(system, cell=triclinic, cutoff=9.5, ewald_tolerance=1e-10)(positions)
    assert float(c["polarization"]) == pytest.approx(float(d["polarization"]), abs=1e-6)


def test_large_box_reaches_the_cluster_limit(byteff_dir, electrolyte_molecules):
    """Ewald assumes conducting boundaries; adding the vacuum surface term 2 pi |M|^2 / (3 V) of the
    total dipole M must give the cluster energy of a neutral cluster (the EC dimer) as the box grows."""
    molecules = [electrolyte_molecules["EC"]] * 2
    positions = torch.tensor(ase.io.read(byteff_dir / "reference_energies" / "a_ec_dimer.extxyz").positions)
    system = PolSystem.from_molecules(molecules)
    centred = positions - positions.mean(dim=0)
    reference = PolarizableEnergy(system)
    cluster_energy = reference(centred)
    length = 60.0
    model = PolarizableEnergy(system, cell=torch.eye(3, dtype=torch.float64) * length, cutoff=14.0, ewald_tolerance=1e-9)
    boxed = model(centred + length / 2)
    dipole = (system.params["charge"][:, None] * centred).sum(dim=0) + model.dipoles.sum(dim=0)
    surface = COULOMB_KCAL_ANGSTROM * 2 * math.pi / (3 * length**3) * float((dipole**2).sum())
    total = float(boxed["electrostatics_permanent"] + boxed["polarization"]) + surface
    assert total == pytest.approx(float(cluster_energy["electrostatics_permanent"] + cluster_energy["polarization"]), abs=2e-3)


def test_matches_openmm_in_a_box(small_box):
    molecules, positions, cell = small_box
    energies = PolarizableEnergy(PolSystem.from_molecules(molecules), cell=cell, cutoff=9.0, ewald_tolerance=1e-8)(positions)
    system = build_system(molecules, box=cell.numpy(), cutoff=9.0, long_range_correction=False, ewald_tolerance=1e-7, split_terms=True)
    context = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions.numpy() * 0.1)
    for term, group in GROUPS.items():
        e_mm = context.getState(getEnergy=True, groups={group}).getPotentialEnergy()
        e_mm = e_mm.value_in_unit(openmm.unit.kilocalorie_per_mole)
        assert e_mm == pytest.approx(float(energies[term]), rel=1e-5, abs=1e-6), term


def test_periodic_forces_equal_finite_differences(small_box):
    molecules, positions, cell = small_box
    model = PolarizableEnergy(PolSystem.from_molecules(molecules), cell=cell, cutoff=9.0, ewald_tolerance=1e-8,
                              tolerance=1e-10)
    pos = positions.clone().requires_grad_(True)
    forces = -torch.autograd.grad(model(pos)["total"], pos)[0]
    h = 1e-5
    for atom, axis in [(0, 0), (100, 1), (int(positions.shape[0]) - 1, 2)]:
        plus, minus = positions.clone(), positions.clone()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        fd = -(float(model(plus)["total"]) - float(model(minus)["total"])) / (2 * h)
        assert fd == pytest.approx(float(forces[atom, axis]), abs=1e-4, rel=1e-5)
