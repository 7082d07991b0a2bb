"""Liquid MD with the shipped mlff model in OpenMM (native MLFFForce, float64): a 354-atom LiPF6 / EC /
DMC box is minimized, thermalized and run in NVE. The gas-phase model it replaced failed exactly here
(heated by 220 K in 0.9 ps of NVE as PF6- shed fluoride, then jumped by 3,000 kJ/mol); the full 10 ps
drift measurement is `benchmarks/mlff_nve_drift.py` (docs/benchmarks.md)."""

from __future__ import annotations

import numpy as np
import openmm
import openmm.unit as u
import pytest
from omegaconf import OmegaConf

from elyte import units
from elyte.box import build_box
from elyte.formulation import compose, from_config
from elyte.md.stage import bond_lengths
from elyte.md.topology import build_topology
from elyte.paths import config_dir, data_dir
from mlff.model.io import SHIPPED_MODEL
from mlff.openmm import MLFFForceField

pytestmark = pytest.mark.slow

MODEL = data_dir() / SHIPPED_MODEL
KT_298 = units.BOLTZMANN_KCAL * units.KCAL_TO_KJ * 298.15  # kJ/mol


@pytest.fixture(scope="module")
def liquid():
    cfg = OmegaConf.to_container(OmegaConf.load(config_dir() / "formulation" / "lipf6_ec_dmc.yaml"))
    box = build_box(compose(from_config({**cfg, "size": 360})), seed=3)
    cell = np.asarray(box.atoms.cell)
    system = MLFFForceField(MODEL, dtype="float64", backend="auto").system(box.molecules, cell)
    bonds = np.array([(a.index, b.index) for a, b in build_topology(box.molecules, cell).bonds()])
    return box, cell, system, bonds


def test_nve_conserves_energy_and_keeps_the_liquid_intact(liquid):
    box, cell, system, bonds = liquid
    platform, properties = openmm.Platform.getPlatformByName("CPU"), {"Threads": "2"}
    langevin = openmm.LangevinMiddleIntegrator(298.15, 5 / u.picosecond, 1 * u.femtosecond)
    langevin.setRandomNumberSeed(1)
    warm = openmm.Context(system, langevin, platform, properties)
    warm.setPeriodicBoxVectors(*(cell * units.ANGSTROM_TO_NM))
    warm.setPositions(box.atoms.positions * units.ANGSTROM_TO_NM)
    openmm.LocalEnergyMinimizer.minimize(warm, 10, 300)
    warm.setVelocitiesToTemperature(298.15, 1)
    langevin.step(300)
    start = warm.getState(getPositions=True, getVelocities=True)
    verlet = openmm.VerletIntegrator(1 * u.femtosecond)
    context = openmm.Context(system, verlet, platform, properties)
    context.setState(start)
    total, kinetic = [], []
    for _ in range(50):  # 1 ps
        verlet.step(20)
        state = context.getState(getEnergy=True)
        kinetic.append(state.getKineticEnergy().value_in_unit(u.kilojoule_per_mole))
        total.append(state.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole) + kinetic[-1])
    dof = 3 * len(box.atoms) - 3
    temperature = 2 * np.array(kinetic) / dof / KT_298 * 298.15
    time_ns = np.arange(1, 51) * 20e-6
    slope, intercept = np.polyfit(time_ns, total, 1)
    residual = np.array(total) - (slope * time_ns + intercept)
    print(f"drift {slope / KT_298 / dof:+.3f} kT/dof/ns, RMS {residual.std():.2f} kJ/mol, "
          f"T {temperature[:25].mean():.0f} -> {temperature[25:].mean():.0f} K")
    # a force inconsistent with the energy, or a jump like the old model's, is far outside these
    assert np.abs(residual).max() < 10.0  # kJ/mol (the kinetic energy is ~1,300 kJ/mol)
    assert abs(slope / KT_298 / dof) < 5.0  # kT/dof/ns (measured -0.37): 1 ps bounds it only loosely
    # no runaway heating from a spurious downhill path (v2: +220 K in 0.9 ps)
    assert abs(temperature[25:].mean() - temperature[:25].mean()) < 40.0  # measured: 286 -> 304 K
    positions = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
    initial = bond_lengths(start.getPositions(asNumpy=True).value_in_unit(u.angstrom), cell, bonds)
    assert (bond_lengths(np.asarray(positions), cell, bonds) < 1.4 * initial).all()  # no molecule broke
