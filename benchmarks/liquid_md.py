"""A shared start for the benchmarks' liquid simulations: a minimized Langevin context (298.15 K,
5/ps, 1 fs) on the CPU platform. Positions and cell in Angstrom."""

from __future__ import annotations

import numpy as np
import openmm
import openmm.unit as u

from elyte import units

TEMPERATURE = 298.15 * u.kelvin


def minimized_context(system: openmm.System, positions: np.ndarray, cell: np.ndarray, threads: int, seed: int,
                      minimize_steps: int = 500) -> openmm.Context:
    integrator = openmm.LangevinMiddleIntegrator(TEMPERATURE, 5 / u.picosecond, 1 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"), {"Threads": str(threads)})
    context.setPeriodicBoxVectors(*(np.asarray(cell) * units.ANGSTROM_TO_NM))
    context.setPositions(np.asarray(positions) * units.ANGSTROM_TO_NM)
    openmm.LocalEnergyMinimizer.minimize(context, 10, minimize_steps)
    return context
