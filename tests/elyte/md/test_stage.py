"""The staged MD runner on a small Lennard-Jones fluid: thermostat, barostat, NEMD profile, exact
resume after a kill, blow-up detection."""

from __future__ import annotations

import mdtraj
import numpy as np
import openmm
import openmm.app as app
import pandas as pd
import pytest

from elyte.analysis.trajectory import minimum_image
from elyte.errors import MDError
from elyte.md.stage import Stage, StartState, blow_up_factor, run_stage

N_SIDE = 5  # 125 argon-like atoms


def _fluid():
    system = openmm.System()
    force = openmm.NonbondedForce()
    force.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    force.setCutoffDistance(0.8)
    topology = app.Topology()
    chain = topology.addChain()
    spacing = 0.38  # nm, a dense liquid
    grid = np.array([(i, j, k) for i in range(N_SIDE) for j in range(N_SIDE) for k in range(N_SIDE)], float)
    for _ in grid:
        system.addParticle(39.9)
        force.addParticle(0.0, 0.34, 0.997)
        topology.addAtom("Ar", app.Element.getBySymbol("Ar"), topology.addResidue("AR", chain))
    system.addForce(force)
    length = N_SIDE * spacing
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in np.eye(3) * length))
    start = StartState(positions=(grid + 0.5) * spacing * 10.0, box=np.eye(3) * length * 10.0)
    return system, topology, start


@pytest.fixture(scope="module")
def fluid():
    return _fluid()


def _run(stage, fluid, directory):
    system, topology, start = fluid
    platform = openmm.Platform.getPlatformByName("Reference")
    return run_stage(stage, system, topology, start, platform, {}, directory, seed=3)


def _thermo(result):
    return result.thermo()


def test_nvt_holds_the_temperature_and_writes_a_trajectory(fluid, tmp_path):
    stage = Stage("nvt", "nvt", steps=2000, temperature=120.0, timestep=4.0, friction=5.0, report_every=20,
                  trajectory_every=100, segment_steps=1000)
    result = _run(stage, fluid, tmp_path / "nvt")
    thermo = _thermo(result)
    assert list(thermo.step) == list(range(20, 2001, 20))
    # equipartition: the mean of the second half is within a few standard errors of the target
    t = thermo.temperature_K.to_numpy()[50:]
    assert abs(t.mean() - 120.0) < 4.0 * t.std() / np.sqrt(len(t) / 5.0)
    traj = mdtraj.load([str(p / "traj.dcd") for p in result.segments], top=mdtraj.Topology.from_openmm(fluid[1]))
    assert traj.n_frames == 20 and traj.n_atoms == N_SIDE**3


def test_a_finished_stage_is_skipped(fluid, tmp_path):
    stage = Stage("nvt", "nvt", steps=200, temperature=120.0, timestep=4.0, report_every=20, segment_steps=100)
    first = _run(stage, fluid, tmp_path / "s")
    stamp = (tmp_path / "s" / "done.json").stat().st_mtime_ns
    second = _run(stage, fluid, tmp_path / "s")
    assert (tmp_path / "s" / "done.json").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.final.positions, second.final.positions)


def test_resume_after_a_kill_is_identical(fluid, tmp_path, monkeypatch):
    stage = Stage("npt", "npt", steps=1200, temperature=120.0, pressure=50.0, timestep=4.0, barostat_every=10,
                  report_every=20, trajectory_every=40, segment_steps=400)
    reference = _run(stage, fluid, tmp_path / "whole")

    from elyte.md import stage as stage_module
    original = stage_module._Runner.run_segment
    calls = {"n": 0}

    def killed(self, index, steps, bar):
        calls["n"] += 1
        if index == 2:  # die in the middle of the third segment, after part of it was written
            (self.directory / f"segment_{index:04d}").mkdir(exist_ok=True)
            (self.directory / f"segment_{index:04d}" / "thermo.csv").write_text("partial")
            raise KeyboardInterrupt
        return original(self, index, steps, bar)

    monkeypatch.setattr(stage_module._Runner, "run_segment", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(stage, fluid, tmp_path / "killed")
    monkeypatch.setattr(stage_module._Runner, "run_segment", original)
    resumed = _run(stage, fluid, tmp_path / "killed")

    np.testing.assert_array_equal(reference.final.positions, resumed.final.positions)
    np.testing.assert_array_equal(reference.final.box, resumed.final.box)
    pd.testing.assert_frame_equal(_thermo(reference), _thermo(resumed))
    assert not (tmp_path / "killed" / "checkpoint.chk").exists()
    assert _thermo(resumed).volume_A3.nunique() > 1  # the barostat moved the box


def test_nemd_imposes_a_cosine_flow(fluid, tmp_path):
    stage = Stage("nemd", "nemd", steps=1500, temperature=120.0, timestep=4.0, friction=0.5, report_every=10,
                  segment_steps=1500, cosine_acceleration=0.05)
    result = _run(stage, fluid, tmp_path / "nemd")
    amplitude = pd.read_csv(result.segments[0] / "cosine.csv").velocity_amplitude_nm_ps.to_numpy()
    # the flow builds up in the direction of the force and cannot exceed the friction-only limit A / gamma
    assert 0.0 < amplitude[50:].mean() < 0.05 / 0.5


def test_minimize_lowers_the_energy(fluid, tmp_path):
    system, topology, start = fluid
    squeezed = StartState(start.positions + np.random.default_rng(0).normal(0.0, 0.3, start.positions.shape), start.box)
    stage = Stage("min", "minimize", steps=200)
    platform = openmm.Platform.getPlatformByName("Reference")
    result = run_stage(stage, system, topology, squeezed, platform, {}, tmp_path / "min")
    context = openmm.Context(system, openmm.VerletIntegrator(1.0), platform)

    def energy(state):
        context.setPeriodicBoxVectors(*(openmm.Vec3(*r) * 0.1 for r in state.box))
        context.setPositions(state.positions * 0.1)
        return context.getState(getEnergy=True).getPotentialEnergy()._value

    assert energy(result.final) < energy(squeezed)


def test_blow_up_is_reported_with_stage_and_step(fluid, tmp_path):
    stage = Stage("hot", "nvt", steps=2000, temperature=120.0, timestep=60.0, report_every=10, segment_steps=1000)
    with pytest.raises(MDError, match=r"stage 'hot' blew up at step \d+"):
        _run(stage, fluid, tmp_path / "hot")


def test_a_box_compressed_below_twice_the_cutoff_is_not_called_a_blow_up(tmp_path):
    """NPT at 20 kbar with a cutoff just under half the box: OpenMM stops when the box shrinks past
    twice the cutoff, and the error says what happened and to simulate more molecules."""
    system, topology, start = _fluid()
    system.getForce(0).setCutoffDistance(0.945)  # the box is 1.9 nm wide
    stage = Stage("squeeze", "npt", steps=2000, temperature=120.0, pressure=20000.0, timestep=4.0, report_every=10,
                  barostat_every=5, segment_steps=1000)
    platform = openmm.Platform.getPlatformByName("Reference")
    with pytest.raises(MDError, match=r"stage 'squeeze' stopped at step \d+: the periodic box became narrower than "
                                      r"twice a cutoff .* did not blow up.* simulate more molecules") as error:
        run_stage(stage, system, topology, start, platform, {}, tmp_path / "squeeze", seed=3)
    assert "blew up" not in str(error.value)


def test_a_broken_bond_stops_the_stage_before_its_frame_is_written(tmp_path):
    """Two neighbours of the fluid, bonded in the topology, are pulled apart by a constant force: the
    stage stops when the bond passes 1.6x its starting length, naming it, and no frame or checkpoint
    holds the broken molecule; with the check off the same run finishes."""
    system, topology, start = _fluid()
    atoms = list(topology.atoms())
    topology.addBond(atoms[0], atoms[1])
    pull = openmm.CustomBondForce("-k*r")
    pull.addGlobalParameter("k", 300.0)  # kJ/mol/nm
    pull.setUsesPeriodicBoundaryConditions(True)
    pull.addBond(0, 1, [])
    system.addForce(pull)
    stage = Stage("md", "nvt", steps=2000, temperature=100.0, report_every=20, trajectory_every=20,
                  segment_steps=1000)
    platform = openmm.Platform.getPlatformByName("Reference")
    with pytest.raises(MDError, match=r"blew up at step \d+: 1 bond\(s\) stretched past 1.6x .* Ar-Ar \(atoms 0, 1"):
        run_stage(stage, system, topology, start, platform, {}, tmp_path / "checked", seed=3)
    frames = mdtraj.load(str(next((tmp_path / "checked").glob("segment_*/traj.dcd"))), top=_pdb(topology, start, tmp_path))
    assert (mdtraj.compute_distances(frames, [[0, 1]]) < 1.6 * 0.38).all()
    free = Stage("md", "nvt", steps=2000, temperature=100.0, report_every=20, segment_steps=1000,
                 max_bond_stretch=None)
    final = run_stage(free, system, topology, start, platform, {}, tmp_path / "unchecked", seed=3).final
    stretched = np.linalg.norm(minimum_image(final.positions[1] - final.positions[0], final.box))
    assert stretched > 1.6 * 3.8  # A: the bond did break, and only the check stopped the first run


def _pdb(topology, start, tmp_path):
    path = tmp_path / "top.pdb"
    with open(path, "w") as f:
        app.PDBFile.writeFile(topology, start.positions * 0.1 * openmm.unit.nanometer, f)
    return str(path)


def test_blow_up_threshold_allows_the_fluctuations_of_a_small_molecule():
    """A 6-atom molecule in vacuum (12 degrees of freedom) at 298 K reaches 3x its temperature by
    chance about once in 3,000 samples; the threshold rises for it and stays 3x for a liquid box."""
    assert blow_up_factor(3.0, 2700) == 3.0
    small = blow_up_factor(3.0, 12)
    assert 5.0 < small < 8.0
    samples = np.random.default_rng(0).chisquare(12, size=1_000_000) / 12
    assert (samples > 3.0).sum() > 100 and (samples > small).sum() == 0


@pytest.mark.parametrize("bad", [dict(kind="md"), dict(kind="nvt", steps=0), dict(kind="nvt", steps=150),
                                 dict(kind="nemd", steps=100), dict(kind="nvt", steps=100, inner_steps=0),
                                 dict(kind="nvt", steps=100, hydrogen_mass=0.5)])
def test_bad_stage_settings(bad):
    with pytest.raises(ValueError):
        Stage("x", **{"report_every": 100, **bad})
