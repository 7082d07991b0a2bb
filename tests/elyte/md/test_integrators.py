"""Multiple time stepping and hydrogen mass repartitioning on the fluid of stiff C-H-like diatomics
(conftest), whose bond vibrates with an 11 fs period: Verlet at a 4 fs step is past its stability
limit (2/omega = 3.5 fs) and explodes, while the RESPA split (bond on a 1 fs inner step,
Lennard-Jones every 4 fs) conserves energy and, with friction, holds the temperature; heavier
hydrogens let a 2 fs step conserve energy about as 1 fs does."""

from __future__ import annotations

import copy

import numpy as np
import openmm
import openmm.app as app
import pandas as pd
import pytest

from elyte.errors import InputError
from elyte.md.integrators import FAST_GROUP, SLOW_GROUP, cosine_langevin, mts_langevin, split_time_scales
from elyte.md.masses import repartition_hydrogen_mass
from elyte.md.stage import Stage, StartState, run_stage


def _started(system: openmm.System, integrator: openmm.Integrator, start: StartState) -> openmm.Context:
    """A Reference context at ``start`` with 300 K velocities (seeded)."""
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(start.positions * 0.1)
    context.setVelocitiesToTemperature(300.0, 7)
    return context


def _total_energies(system: openmm.System, integrator: openmm.Integrator, start: StartState, steps: int) -> np.ndarray:
    """Potential + kinetic energy (kJ/mol) after each of ``steps`` steps from 300 K velocities."""
    context = _started(system, integrator, start)
    energies = []
    for _ in range(steps):
        integrator.step(1)
        state = context.getState(getEnergy=True)
        energies.append((state.getPotentialEnergy() + state.getKineticEnergy())._value)
    return np.array(energies)


def test_the_split_puts_only_bonded_forces_on_the_inner_step(diatomic_fluid):
    system = diatomic_fluid[0]
    split = split_time_scales(system)
    assert [f.getForceGroup() for f in split.getForces()] == [FAST_GROUP, SLOW_GROUP]
    assert [f.getForceGroup() for f in system.getForces()] == [0, 0]


def test_respa_conserves_energy_where_verlet_explodes(diatomic_fluid):
    """800 fs without friction. Verlet at 4 fs runs away; RESPA at 4 fs (bond every 1 fs) fluctuates
    about as much as Verlet at 1 fs, whose error the fast bond dominates (measured: 6.9 and 6.6
    kJ/mol peak to peak, Verlet at 2 fs 34): the Lennard-Jones forces lose nothing on the outer step."""
    system, _, start = diatomic_fluid
    verlet = {dt: _total_energies(system, openmm.VerletIntegrator(dt * 1e-3), start, round(800 / dt)) for dt in (1.0, 4.0)}
    respa = _total_energies(split_time_scales(system), mts_langevin(300.0, 0.0, 4.0, 4), start, 200)
    assert not np.all(np.abs(verlet[4.0] - verlet[4.0][0]) < 100.0)  # NaN or a runaway
    assert np.all(np.isfinite(respa)) and np.ptp(respa) < 1.5 * np.ptp(verlet[1.0])


def test_an_mts_stage_holds_the_temperature(diatomic_fluid, tmp_path):
    system, topology, start = diatomic_fluid
    stage = Stage("nvt", "nvt", steps=1500, temperature=300.0, timestep=4.0, inner_steps=4, friction=5.0,
                  report_every=10, segment_steps=500)
    result = run_stage(stage, system, topology, start, openmm.Platform.getPlatformByName("Reference"), {},
                       tmp_path / "nvt", seed=3)
    t = result.thermo().temperature_K.to_numpy()[50:]
    assert abs(t.mean() - 300.0) < 4.0 * t.std() / np.sqrt(len(t) / 5.0)


def test_a_system_without_bonded_forces_runs_on_the_inner_step(diatomic_fluid):
    """The fluid with its bonds inside a CustomCVForce, one force that holds fast motion as an ML force
    field does: nothing is split off, so everything runs on the 1 fs inner step and conserves energy
    as Verlet at 1 fs does (on the 4 fs outer step it would run away)."""
    system, _, start = diatomic_fluid
    wrapped = openmm.System()
    for i in range(system.getNumParticles()):
        wrapped.addParticle(system.getParticleMass(i))
    wrapped.setDefaultPeriodicBoxVectors(*system.getDefaultPeriodicBoxVectors())
    bonds, lj = (copy.deepcopy(f) for f in system.getForces())
    container = openmm.CustomCVForce("bonds")
    container.addCollectiveVariable("bonds", bonds)
    wrapped.addForce(container)
    wrapped.addForce(lj)
    split = split_time_scales(wrapped)
    assert [f.getForceGroup() for f in split.getForces()] == [FAST_GROUP, FAST_GROUP]
    verlet = _total_energies(system, openmm.VerletIntegrator(1e-3), start, 800)
    respa = _total_energies(split, mts_langevin(300.0, 0.0, 4.0, 4), start, 200)
    assert np.all(np.isfinite(respa)) and np.ptp(respa) < 1.5 * np.ptp(verlet)


def _positions_after(system: openmm.System, integrator: openmm.Integrator, start: StartState, steps: int) -> np.ndarray:
    """Positions (nm) after ``steps`` steps from 300 K velocities."""
    context = _started(system, integrator, start)
    integrator.step(steps)
    return context.getState(getPositions=True).getPositions(asNumpy=True)._value


def test_the_cosine_integrator_without_acceleration_is_mts_langevin(diatomic_fluid):
    """With A = 0 the NEMD integrator's multiple-time-step form takes the same steps as BAOAB-RESPA
    (without friction, where both are deterministic: the Reference platform's random stream is shared)."""
    system, _, start = diatomic_fluid
    split = split_time_scales(system)
    respa = _positions_after(split, mts_langevin(300.0, 0.0, 4.0, 4), start, 100)
    nemd = _positions_after(split, cosine_langevin(300.0, 0.0, 4.0, 0.0, 1.68, inner_steps=4), start, 100)
    assert np.abs(nemd - respa).max() < 1e-9


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_the_cosine_acceleration_gives_each_atom_its_impulse(inner_steps):
    """Free atoms at rest, no friction: one step adds A cos(kz z) dt to v_x, whatever the scheme."""
    length, acceleration, dt_fs = 2.0, 0.5, 4.0
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in np.eye(3) * length))
    heights = np.array([0.0, length / 4, length / 2, 0.3])
    for _ in heights:
        system.addParticle(12.0)
    integrator = cosine_langevin(300.0, 0.0, dt_fs, acceleration, length, inner_steps)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("Reference"))
    context.setPositions([openmm.Vec3(0.5, 0.5, z) for z in heights])
    integrator.step(1)
    velocities = context.getState(getVelocities=True).getVelocities(asNumpy=True)._value
    expected = acceleration * np.cos(2 * np.pi * heights / length) * dt_fs * 1e-3
    np.testing.assert_allclose(velocities[:, 0], expected, atol=1e-12)
    np.testing.assert_array_equal(velocities[:, 1:], 0.0)


def test_an_mts_nemd_stage_builds_a_cosine_flow(diatomic_fluid, tmp_path):
    """NEMD with the nonbonded forces every 4 fs and the bonds every 1 fs: a flow along the push,
    below the friction-only limit A / gamma, at the thermostat's temperature."""
    system, topology, start = diatomic_fluid
    stage = Stage("nemd", "nemd", steps=1000, temperature=300.0, timestep=4.0, inner_steps=4, friction=1.0,
                  report_every=10, segment_steps=1000, cosine_acceleration=0.5)
    result = run_stage(stage, system, topology, start, openmm.Platform.getPlatformByName("Reference"), {},
                       tmp_path / "nemd", seed=3)
    amplitude = pd.read_csv(result.segments[0] / "cosine.csv").velocity_amplitude_nm_ps.to_numpy()
    assert 0.0 < amplitude[20:].mean() < 0.5 / 1.0
    assert abs(result.thermo().temperature_K[20:].mean() - 300.0) < 30.0


def _masses(system: openmm.System) -> np.ndarray:
    return np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])


def test_hydrogen_mass_repartitioning_moves_mass_from_the_partner(diatomic_fluid):
    system, topology, _ = diatomic_fluid
    heavy = repartition_hydrogen_mass(system, topology, 3.0)
    np.testing.assert_allclose(_masses(heavy), np.tile([10.0, 3.0], 64))
    np.testing.assert_allclose(_masses(system), np.tile([12.0, 1.0], 64))  # the original is untouched


def test_a_partner_left_lighter_than_its_hydrogens_is_refused():
    system, topology = openmm.System(), app.Topology()
    residue = topology.addResidue("CH4", topology.addChain())
    carbon = topology.addAtom("C", app.element.carbon, residue)
    system.addParticle(12.0)
    for _ in range(4):
        topology.addBond(carbon, topology.addAtom("H", app.element.hydrogen, residue))
        system.addParticle(1.0)
    assert _masses(repartition_hydrogen_mass(system, topology, 2.5))[0] == pytest.approx(6.0)
    with pytest.raises(InputError, match=r"leaves atom 0 \(C, residue CH4\) with 0.00 amu.*smaller hydrogen_mass"):
        repartition_hydrogen_mass(system, topology, 4.0)


def test_heavier_hydrogens_let_a_2_fs_step_conserve_energy(diatomic_fluid):
    """Verlet, 800 fs. The C-H period grows from 11 to 18 fs with 3 amu hydrogens, so the energy error,
    ~ (step / period)^2, of 2 fs steps is expected 1.5x that of 1 fs with 1 amu (measured 10.5 and 6.6
    kJ/mol peak to peak) instead of 4x (measured 34)."""
    system, topology, start = diatomic_fluid
    spread = {(dt, m): np.ptp(_total_energies(repartition_hydrogen_mass(system, topology, m),
                                              openmm.VerletIntegrator(dt * 1e-3), start, round(800 / dt)))
              for dt, m in ((1.0, 1.0), (2.0, 1.0), (2.0, 3.0))}
    assert spread[2.0, 1.0] > 3.0 * spread[1.0, 1.0]
    assert spread[2.0, 3.0] < 2.0 * spread[1.0, 1.0]


def test_a_stage_runs_with_heavier_hydrogens(diatomic_fluid, tmp_path):
    """The same frictionless 2 fs stage with and without ``hydrogen_mass``: the total energy in
    thermo.csv spreads much less with it (and the stage's total mass, its density, is unchanged)."""
    system, topology, start = diatomic_fluid
    spreads, densities = {}, {}
    for mass in (None, 3.0):
        stage = Stage("nve", "nvt", steps=400, temperature=300.0, timestep=2.0, friction=0.0, report_every=10,
                      segment_steps=400, hydrogen_mass=mass)
        thermo = run_stage(stage, system, topology, start, openmm.Platform.getPlatformByName("Reference"), {},
                           tmp_path / str(mass), seed=3).thermo()
        spreads[mass] = np.ptp(thermo.potential_kcal_mol + thermo.kinetic_kcal_mol)
        densities[mass] = thermo.density_g_cm3.iloc[0]
    assert spreads[3.0] < 0.5 * spreads[None]
    assert densities[3.0] == pytest.approx(densities[None])
