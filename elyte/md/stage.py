"""One stage of an MD protocol, run in checkpointed segments so that a killed run resumes exactly.

A stage directory holds, per finished segment ``k``, ``segment_k/thermo.csv`` (and ``traj.dcd``,
``cosine.csv`` when asked), then ``checkpoint.chk`` + ``progress.json`` naming the segments done.
Resuming reloads the checkpoint (positions, velocities, box, random-number state), deletes any
segment that was in flight, and continues: the result is identical to an uninterrupted run on the
same platform. A finished stage writes ``final_state.xml`` and ``done.json`` and is skipped next time.

Thermo columns (internal units): step, time_ps, potential_kcal_mol, kinetic_kcal_mol, temperature_K,
volume_A3, density_g_cm3, box_a_A, box_b_A, box_c_A.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import openmm
import openmm.app as app
import openmm.unit as u
import pandas as pd
from scipy.stats import chi2

from elyte import units
from elyte.analysis.trajectory import minimum_image
from elyte.errors import InputError, MDError
from elyte.md.integrators import cosine_langevin, langevin, mts_langevin, split_time_scales
from elyte.md.masses import repartition_hydrogen_mass
from elyte.progress import enabled as progress_enabled
from tqdm.auto import tqdm

log = logging.getLogger(__name__)
KINDS = ("minimize", "nvt", "npt", "nemd")
# what OpenMM and the plugin forces say when a barostat shrank the box below twice a cutoff
BOX_TOO_SMALL = re.compile(r"less than twice the")
THERMO_COLUMNS = ("step", "time_ps", "potential_kcal_mol", "kinetic_kcal_mol", "temperature_K", "volume_A3",
                  "density_g_cm3", "box_a_A", "box_b_A", "box_c_A")


@dataclass
class Stage:
    """What to run. Units: fs, K, bar, 1/ps; ``cosine_acceleration`` in nm/ps^2 (nemd only).
    ``inner_steps`` > 1: multiple time stepping, the bonded forces that many times per ``timestep``
    (the outer step; ``steps`` count outer steps), every other force once. ``hydrogen_mass`` (amu):
    hydrogen mass repartitioning (:mod:`elyte.md.masses`), none when None."""

    name: str
    kind: str
    steps: int = 0
    temperature: float = 298.15
    temperature_start: float | None = None  # linear ramp from here to ``temperature`` (heating)
    pressure: float = 1.0
    timestep: float = 1.0
    friction: float = 1.0
    barostat_every: int = 25
    report_every: int = 100  # thermo row every this many steps
    trajectory_every: int = 0  # DCD frame every this many steps (0: none)
    segment_steps: int = 10000  # checkpoint after every segment
    inner_steps: int = 1
    hydrogen_mass: float | None = None
    cosine_acceleration: float = 0.0
    minimize_tolerance: float = 10.0  # kJ/mol/nm, OpenMM's convention
    max_temperature_factor: float = 3.0  # blow-up when T exceeds this times the target (more: blow_up_factor)
    max_bond_stretch: float | None = 1.6  # blow-up when a topology bond exceeds this times its starting
                                          # length: a molecule broke (checked at frames and checkpoints)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"stage {self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind != "minimize":
            if self.steps <= 0 or self.report_every <= 0:
                raise InputError(f"stage {self.name}: steps and report_every must be positive")
            for every in ("steps", "trajectory_every", "segment_steps"):
                value = getattr(self, every)
                if value and value % self.report_every:
                    raise InputError(f"stage {self.name}: {every}={value} must be a multiple of report_every="
                                     f"{self.report_every}")
        if self.kind == "nemd" and self.cosine_acceleration <= 0:
            raise InputError(f"stage {self.name}: nemd needs cosine_acceleration > 0 (nm/ps^2)")
        if self.hydrogen_mass is not None and not 1.0 <= self.hydrogen_mass <= 5.0:
            raise InputError(f"stage {self.name}: hydrogen_mass must be between 1 and 5 amu (3 or 4 are usual), got "
                             f"{self.hydrogen_mass}")
        if self.inner_steps < 1:
            raise InputError(f"stage {self.name}: inner_steps must be at least 1, got {self.inner_steps}")


@dataclass
class StartState:
    """Positions (A), box vectors (A, rows) and optionally velocities (A/fs) that a stage starts from."""

    positions: np.ndarray
    box: np.ndarray | None
    velocities: np.ndarray | None = None

    @classmethod
    def from_openmm(cls, state: openmm.State) -> StartState:
        positions = state.getPositions(asNumpy=True).value_in_unit(u.angstrom)
        velocities = state.getVelocities(asNumpy=True).value_in_unit(u.angstrom / u.femtosecond)
        box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom)
        return cls(np.asarray(positions), np.asarray(box), np.asarray(velocities))

    @classmethod
    def load(cls, path: Path) -> StartState:
        return cls.from_openmm(openmm.XmlSerializer.deserialize(path.read_text()))


@dataclass
class StageResult:
    directory: Path
    final: StartState
    wall_seconds: float
    steps_per_second: float
    segments: list[Path] = field(default_factory=list)

    def thermo(self) -> pd.DataFrame:
        """Every thermo row of the stage (THERMO_COLUMNS), segments in order."""
        return pd.concat([pd.read_csv(p / "thermo.csv") for p in self.segments], ignore_index=True)


def _system_for(stage: Stage, system: openmm.System, topology: app.Topology) -> openmm.System:
    """The stage's copy of ``system``: hydrogen masses repartitioned, force groups split for multiple
    time stepping, a barostat for NPT (the caller's system is never changed)."""
    copied = system
    if stage.hydrogen_mass is not None:
        copied = repartition_hydrogen_mass(copied, topology, stage.hydrogen_mass)
    if stage.inner_steps > 1:
        copied = split_time_scales(copied)
    if stage.kind == "npt":
        copied = copy.deepcopy(copied) if copied is system else copied
        copied.addForce(openmm.MonteCarloBarostat(stage.pressure * u.bar, stage.temperature * u.kelvin,
                                                  stage.barostat_every))
    return copied


def _integrator(stage: Stage, box: np.ndarray | None) -> openmm.Integrator:
    start = stage.temperature if stage.temperature_start is None else stage.temperature_start
    if stage.kind == "nemd":
        return cosine_langevin(start, stage.friction, stage.timestep, stage.cosine_acceleration,
                               float(box[2, 2]) * units.ANGSTROM_TO_NM, stage.inner_steps)
    if stage.inner_steps > 1:
        return mts_langevin(start, stage.friction, stage.timestep, stage.inner_steps)
    return langevin(start, stage.friction, stage.timestep)


def blow_up_factor(factor: float, dof: int) -> float:
    """Kinetic temperature / target above which a stage counts as blown up: ``factor``, raised for
    small systems (a molecule in vacuum), whose instantaneous temperature fluctuates as chi-square with
    ``dof`` degrees of freedom, to where chance exceeds it once in 1e9 samples."""
    return max(factor, float(chi2.isf(1e-9, max(dof, 1))) / max(dof, 1))


def bond_lengths(positions: np.ndarray, box: np.ndarray | None, bonds: np.ndarray) -> np.ndarray:
    """Lengths (A) of ``bonds`` [B, 2] (atom indices) at ``positions`` [N, 3] (A), minimum image in
    ``box`` [3, 3] (rows, A) when periodic."""
    vectors = positions[bonds[:, 1]] - positions[bonds[:, 0]]
    return np.linalg.norm(vectors if box is None else minimum_image(vectors, box), axis=1)


def _set_temperature(integrator: openmm.Integrator, temperature: float) -> None:
    if isinstance(integrator, openmm.CustomIntegrator):
        integrator.setGlobalVariableByName("kT", (u.MOLAR_GAS_CONSTANT_R * temperature * u.kelvin)
                                           .value_in_unit(u.kilojoule_per_mole))
    else:
        integrator.setTemperature(temperature * u.kelvin)


class _Runner:
    """Runs one stage. Each segment gets a fresh OpenMM context whose thermostat and barostat are
    seeded from (seed, segment) and which starts from the previous segment's saved state: a
    checkpoint does not hold the barostat's random state, so this is what makes a resumed run
    identical to an uninterrupted one."""

    def __init__(self, stage: Stage, system: openmm.System, topology: app.Topology, start: StartState,
                 platform: openmm.Platform, properties: dict[str, str], directory: Path, seed: int):
        self.stage, self.directory, self.topology, self.seed = stage, directory, topology, seed
        self.platform, self.properties = platform, properties
        self.system = _system_for(stage, system, topology)
        self.start_box = start.box
        self.simulation = self._simulation(0)
        context = self.simulation.context
        if start.box is not None:
            context.setPeriodicBoxVectors(*(openmm.Vec3(*row) * units.ANGSTROM_TO_NM for row in start.box))
        context.setPositions(start.positions * units.ANGSTROM_TO_NM)
        if start.velocities is not None:
            context.setVelocities(start.velocities * (units.ANGSTROM_TO_NM / 1e-3))
        else:
            context.setVelocitiesToTemperature(stage.temperature_start or stage.temperature, seed)
        self.mass = sum(system.getParticleMass(i).value_in_unit(u.dalton) for i in range(system.getNumParticles()))
        self.dof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
        self.hot = blow_up_factor(stage.max_temperature_factor, self.dof)
        self.bonds = np.array([(a.index, b.index) for a, b in topology.bonds()], dtype=int).reshape(-1, 2)
        self.bond_lengths = bond_lengths(start.positions, start.box, self.bonds)
        self.step = 0

    def _simulation(self, index: int) -> app.Simulation:
        seed = (self.seed * 1_000_003 + index) % 2_000_000_000 + 1
        integrator = _integrator(self.stage, self.start_box)
        if hasattr(integrator, "setRandomNumberSeed"):
            integrator.setRandomNumberSeed(seed)
        for force in self.system.getForces():
            if isinstance(force, openmm.MonteCarloBarostat):
                force.setRandomNumberSeed(seed)
        return app.Simulation(self.topology, self.system, integrator, self.platform, self.properties)

    # --- bookkeeping -------------------------------------------------------------------------
    @property
    def checkpoint(self) -> Path:
        return self.directory / "checkpoint.xml"

    @property
    def progress_file(self) -> Path:
        return self.directory / "progress.json"

    def state(self) -> openmm.State:
        return self.simulation.context.getState(getPositions=True, getVelocities=True, getParameters=True,
                                                getEnergy=True)

    def start_segment(self, index: int, state: openmm.State) -> None:
        self.simulation = self._simulation(index)
        self.simulation.context.setState(state)

    def resume(self) -> tuple[int, openmm.State]:
        """The segments already done and the state to continue from; drops segments after it."""
        done, state = 0, self.state()
        if self.progress_file.is_file() and self.checkpoint.is_file():
            done = int(json.loads(self.progress_file.read_text())["segments_done"])
            state = openmm.XmlSerializer.deserialize(self.checkpoint.read_text())
            self.step = done * self.stage.segment_steps
            log.info("%s: resuming after segment %d (step %d)", self.stage.name, done, self.step)
        for stale in self.directory.glob("segment_*"):
            if int(stale.name.split("_")[1]) >= done:
                shutil.rmtree(stale)
        return done, state

    def save_checkpoint(self, segments_done: int, state: openmm.State) -> None:
        tmp = self.checkpoint.with_suffix(".tmp")
        tmp.write_text(openmm.XmlSerializer.serialize(state))
        tmp.replace(self.checkpoint)  # atomic: a kill leaves the old or the new checkpoint, never half
        self.progress_file.write_text(json.dumps({"segments_done": segments_done, "step": self.step}))

    # --- one segment ---------------------------------------------------------------------------
    def temperature_at(self, step: int) -> float:
        s = self.stage
        if s.temperature_start is None:
            return s.temperature
        return s.temperature_start + (s.temperature - s.temperature_start) * min(1.0, step / s.steps)

    def run_segment(self, index: int, steps: int, bar) -> Path:
        s, sim = self.stage, self.simulation
        out = self.directory / f"segment_{index:04d}"
        out.mkdir(parents=True, exist_ok=True)
        dcd = None
        with open(out / "thermo.csv", "w", newline="") as thermo_file:
            thermo = csv.writer(thermo_file)
            thermo.writerow(THERMO_COLUMNS)
            cosine = open(out / "cosine.csv", "w") if s.kind == "nemd" else None
            if cosine:
                cosine.write("step,time_ps,velocity_amplitude_nm_ps\n")
            traj = open(out / "traj.dcd", "wb") if s.trajectory_every else None
            try:
                for _ in range(steps // s.report_every):
                    _set_temperature(sim.integrator, self.temperature_at(self.step))
                    try:
                        sim.step(s.report_every)
                    except openmm.OpenMMException as err:  # NaN coordinates, particles on top of each other
                        if BOX_TOO_SMALL.search(str(err)):
                            raise self.box_too_small(str(err)) from err
                        raise self.blow_up(f"OpenMM stopped: {err}") from err
                    self.step += s.report_every
                    want_frame = traj is not None and self.step % s.trajectory_every == 0
                    state = sim.context.getState(getEnergy=True, getPositions=want_frame or cosine is not None,
                                                 getVelocities=cosine is not None)
                    thermo.writerow(self._thermo_row(state))
                    if cosine:
                        cosine.write(f"{self.step},{self.step * s.timestep * 1e-3:.6f},{self._cosine_amplitude(state):.8g}\n")
                    if want_frame:
                        self.check_bonds(state)
                        if dcd is None:
                            dcd = app.DCDFile(traj, self.topology, s.timestep * 1e-3 * u.picosecond,
                                              self.step, s.trajectory_every)
                        dcd.writeModel(state.getPositions(), periodicBoxVectors=state.getPeriodicBoxVectors())
                    bar.update(s.report_every)
            finally:
                for f in (cosine, traj):
                    if f:
                        f.close()
        return out

    def _thermo_row(self, state: openmm.State) -> list:
        s = self.stage
        potential = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        kinetic = state.getKineticEnergy().value_in_unit(u.kilocalorie_per_mole)
        temperature = 2.0 * kinetic / (self.dof * units.BOLTZMANN_KCAL)
        box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom)
        volume = float(abs(np.linalg.det(box))) if self.system.usesPeriodicBoundaryConditions() else math.nan
        if not (math.isfinite(potential) and math.isfinite(kinetic)) or temperature > self.hot * max(
                s.temperature, self.temperature_at(self.step)):
            raise self.blow_up(f"potential {potential:.4g} kcal/mol, temperature {temperature:.4g} K "
                               f"(target {s.temperature} K)")
        density = self.mass / volume * units.AMU_PER_ANGSTROM3_TO_G_PER_CM3 if math.isfinite(volume) else math.nan
        lengths = np.linalg.norm(box, axis=1)
        return [self.step, f"{self.step * s.timestep * 1e-3:.6f}", f"{potential:.6f}", f"{kinetic:.6f}",
                f"{temperature:.4f}", f"{volume:.4f}", f"{density:.6f}", *(f"{x:.5f}" for x in lengths)]

    def check_bonds(self, state: openmm.State) -> None:
        """Raise the blow-up error when a bond of the topology has stretched past ``max_bond_stretch``
        times its starting length: molecules cannot break in a non-reactive simulation."""
        if self.stage.max_bond_stretch is None or not len(self.bonds):
            return
        box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom)
        positions = state.getPositions(asNumpy=True).value_in_unit(u.angstrom)
        lengths = bond_lengths(np.asarray(positions), np.asarray(box) if self.start_box is not None else None,
                               self.bonds)
        ratio = lengths / self.bond_lengths
        broken = np.flatnonzero(ratio > self.stage.max_bond_stretch)
        if len(broken):
            worst = broken[np.argmax(ratio[broken])]
            i, j = self.bonds[worst]
            atoms = list(self.topology.atoms())
            raise self.blow_up(
                f"{len(broken)} bond(s) stretched past {self.stage.max_bond_stretch}x their starting length, the "
                f"most bond {atoms[i].element.symbol}-{atoms[j].element.symbol} (atoms {i}, {j}, molecule "
                f"{atoms[i].residue.name} {atoms[i].residue.index}) from {self.bond_lengths[worst]:.2f} to "
                f"{lengths[worst]:.2f} A: a molecule broke, which this non-reactive simulation cannot describe "
                "(with an ML model: a configuration outside its training data)")

    def _kept(self) -> str:
        return f"the last good checkpoint is kept in {self.checkpoint}" if self.checkpoint.is_file() else \
            "no checkpoint was reached yet"

    def blow_up(self, what: str) -> MDError:
        return MDError(f"stage {self.stage.name!r} blew up at step {self.step}: {what}. {self._kept()}; try a "
                       "smaller timestep, a longer minimization, or check the structure and the force field.")

    def box_too_small(self, what: str) -> MDError:
        """The barostat compressed the box below twice a cutoff: a system too small for its density,
        not an unstable one."""
        return MDError(f"stage {self.stage.name!r} stopped at step {self.step}: the periodic box became narrower "
                       f"than twice a cutoff ({what}). The simulation did not blow up: the box is too small for the "
                       f"force field's cutoff at the density the liquid is reaching. {self._kept()}; simulate more "
                       "molecules (e.g. a larger formulation.size) so that the box stays wider than twice the cutoff.")

    def _cosine_amplitude(self, state: openmm.State) -> float:
        """Mass-weighted amplitude V of v_x(z) = V cos(k z), nm/ps: V = 2 sum m v_x cos(kz) / sum m."""
        v = state.getVelocities(asNumpy=True).value_in_unit(u.nanometer / u.picosecond)
        z = state.getPositions(asNumpy=True).value_in_unit(u.nanometer)[:, 2]
        lz = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.nanometer)[2, 2]
        m = np.array([self.system.getParticleMass(i).value_in_unit(u.dalton) for i in range(len(z))])
        return float(2.0 * np.sum(m * v[:, 0] * np.cos(2.0 * np.pi * z / lz)) / m.sum())


def _minimize(runner: _Runner) -> None:
    s = runner.stage
    tolerance = s.minimize_tolerance * u.kilojoule_per_mole / u.nanometer
    runner.simulation.minimizeEnergy(tolerance=tolerance, maxIterations=s.steps)
    state = runner.simulation.context.getState(getEnergy=True)
    energy = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    if not math.isfinite(energy):
        raise MDError(f"stage {s.name!r}: minimization ended with a non-finite energy; check the structure "
                      "for overlapping atoms and the force field for missing parameters")
    log.info("%s: minimized to %.3f kcal/mol", s.name, energy)


def run_stage(stage: Stage, system: openmm.System, topology: app.Topology, start: StartState,
              platform: openmm.Platform, properties: dict[str, str], directory: Path, seed: int = 1) -> StageResult:
    """Run ``stage`` from ``start`` in ``directory``, resuming from its checkpoint; skip it if done."""
    directory.mkdir(parents=True, exist_ok=True)
    done_file, final_file = directory / "done.json", directory / "final_state.xml"
    segments = sorted(directory.glob("segment_*"))
    if done_file.is_file() and final_file.is_file():
        info = json.loads(done_file.read_text())
        log.info("%s: already done, skipped", stage.name)
        return StageResult(directory, StartState.load(final_file), info["wall_seconds"], info["steps_per_second"],
                           segments)
    (directory / "stage.json").write_text(json.dumps(asdict(stage), indent=2))
    runner = _Runner(stage, system, topology, start, platform, properties, directory, seed)
    t0 = time.perf_counter()
    if stage.kind == "minimize":
        _minimize(runner)
    else:
        _run_dynamics(runner)
    wall = time.perf_counter() - t0
    state = runner.simulation.context.getState(getPositions=True, getVelocities=True, getEnergy=True)
    final_file.write_text(openmm.XmlSerializer.serialize(state))
    rate = stage.steps / wall if stage.kind != "minimize" and wall > 0 else 0.0
    done_file.write_text(json.dumps({"wall_seconds": wall, "steps_per_second": rate, "platform": platform.getName()}))
    runner.checkpoint.unlink(missing_ok=True)
    return StageResult(directory, StartState.from_openmm(state), wall, rate, sorted(directory.glob("segment_*")))


def _run_dynamics(runner: _Runner) -> None:
    s = runner.stage
    segment = s.segment_steps or s.steps
    n_segments = math.ceil(s.steps / segment)
    done, state = runner.resume()
    with tqdm(total=s.steps, initial=runner.step, desc=s.name, unit="step", disable=not progress_enabled(),
              dynamic_ncols=True) as bar:
        for k in range(done, n_segments):
            steps = min(segment, s.steps - k * segment)
            if k > 0:  # segment 0 runs in the context built with the stage (same seed), not a second one
                runner.start_segment(k, state)
            runner.run_segment(k, steps, bar)
            state = runner.state()
            runner.check_bonds(state)
            runner.save_checkpoint(k + 1, state)
            elapsed = bar.format_dict.get("elapsed") or 0.0
            if elapsed > 0:
                fs_per_s = (runner.step - done * segment) * s.timestep / elapsed
                bar.set_postfix_str(f"{fs_per_s * 86400 * 1e-6:.2f} ns/day")
