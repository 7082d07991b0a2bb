"""Run a protocol for a formulation with a force-field backend: box, liquid stages per temperature,
gas-phase molecules. Every stage lives in its own directory and is skipped when already done, so
re-running the same command resumes where a killed run stopped.

A force-field backend is any object with ``system(molecules, cell) -> openmm.System`` taking the
box's species in order and the cell in Angstrom (None for a molecule in vacuum).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol as TypingProtocol

import ase.io
import numpy as np
import openmm

from elyte.box import build_box, conformer
from elyte.formulation import Composition, Species
from elyte.md.platform import select
from elyte.md.stage import StageResult, StartState, run_stage
from elyte.md.topology import build_topology, molecule_index
from elyte.pipeline.protocol import Protocol

log = logging.getLogger(__name__)


class ForceField(TypingProtocol):
    name: str

    def system(self, molecules: list[Species], cell: np.ndarray | None) -> openmm.System: ...


@dataclass
class LiquidRun:
    """Stages run for one temperature, by name, plus what analysis needs to read them."""

    temperature: float
    pressure: float
    molecules: list[Species]
    masses: np.ndarray  # amu per atom
    topology: object  # openmm.app.Topology
    stages: dict[str, StageResult] = field(default_factory=dict)


@dataclass
class GasRun:
    species: Species
    temperature: float
    stages: dict[str, StageResult] = field(default_factory=dict)


def packed_box(composition: Composition, directory: Path, seed: int, density_scale: float) -> tuple[np.ndarray, np.ndarray, list[Species]]:
    """Positions (A), cell (A) and molecules of the packed box, built once and kept in ``box.extxyz``."""
    path = directory / "box.extxyz"
    molecules = [species for species, count in composition.counts for _ in range(count)]
    if path.is_file():
        atoms = ase.io.read(path)
        if len(atoms) != composition.n_atoms:
            raise RuntimeError(f"{path} holds {len(atoms)} atoms but the formulation needs {composition.n_atoms}; "
                               "use a new run directory for a changed formulation")
        log.info("box: reusing %s", path)
    else:
        directory.mkdir(parents=True, exist_ok=True)
        atoms = build_box(composition, seed=seed, density_scale=density_scale).atoms
        atoms.arrays["molecule"] = molecule_index(molecules)
        ase.io.write(path, atoms)
        log.info("box: %d atoms, %.2f A, written to %s", len(atoms), atoms.cell.lengths()[0], path)
    return atoms.positions.copy(), np.asarray(atoms.cell[:]), molecules


def at_volume(start: StartState, molecules: list[Species], volume: float) -> StartState:
    """``start`` with its box and molecule centres scaled isotropically to ``volume`` (A^3); each
    molecule moves rigidly so no bond is stretched."""
    factor = (volume / abs(np.linalg.det(start.box))) ** (1.0 / 3.0)
    index = molecule_index(molecules)
    counts = np.bincount(index)
    centres = np.stack([np.bincount(index, start.positions[:, k]) / counts for k in range(3)], axis=1)
    positions = start.positions + (factor - 1.0) * centres[index]
    return StartState(positions, start.box * factor, start.velocities)


def production_volume(result: StageResult, discard_fraction: float = 0.0) -> float:
    """Mean box volume (A^3) of an NPT stage's thermo rows."""
    volumes = result.thermo().volume_A3.to_numpy()
    return float(volumes[int(discard_fraction * len(volumes)):].mean())


def run_liquid(forcefield: ForceField, protocol: Protocol, composition: Composition, temperature: float,
               pressure: float, directory: Path, seed: int = 1, density_scale: float = 0.9,
               platform: str = "auto", threads: int | None = None) -> LiquidRun:
    """Every liquid stage of ``protocol`` at one temperature (K) and pressure (bar)."""
    positions, cell, molecules = packed_box(composition, directory.parent, seed, density_scale)
    system = forcefield.system(molecules, cell)
    topology = build_topology(molecules, cell)
    masses = np.array([system.getParticleMass(i)._value for i in range(system.getNumParticles())])
    run = LiquidRun(temperature, pressure, molecules, masses, topology)
    omm_platform, properties = select(platform, threads, system)
    start = StartState(positions, cell)
    for stage in protocol.liquid(temperature, pressure):
        if stage.kind in ("nvt", "nemd") and "npt_production" in run.stages:
            start = at_volume(start, molecules, production_volume(run.stages["npt_production"]))
        result = run_stage(stage, system, topology, start, omm_platform, properties, directory / stage.name, seed)
        log.info("%s: %.1f s (%.0f steps/s)", stage.name, result.wall_seconds, result.steps_per_second)
        run.stages[stage.name] = result
        start = result.final
    return run


def run_gas(forcefield: ForceField, protocol: Protocol, species: Species, temperature: float, directory: Path,
            seed: int = 1, platform: str = "auto", threads: int | None = None) -> GasRun:
    """One molecule of ``species`` in vacuum (no cutoff, no box) for the gas-phase energy."""
    system = forcefield.system([species], None)
    topology = build_topology([species])
    run = GasRun(species, temperature)
    # the Reference platform is the right one for a single small molecule (no threads to feed)
    omm_platform, properties = select("Reference" if platform == "auto" else platform, threads, system)
    start = StartState(conformer(species, seed).positions, None)
    for stage in protocol.gas_stages(temperature):
        result = run_stage(stage, system, topology, start, omm_platform, properties, directory / stage.name, seed)
        run.stages[stage.name] = result
        start = result.final
    return run
