"""mlff in OpenMM: time per energy + forces step of the native plugin force against the Python paths.

Usage: ``python benchmarks/mlff_openmm.py [--model data/models/mlff_electrolyte_v6.pt] [--threads 2]
[--steps 3] [--dtype float32 float64]``.

On ``data/structures/lipf6_ec_dmc_4116.data.gz`` (4,116 atoms, periodic) prints, per dtype: the
eager model (collate + forward with forces, what the PythonForce does), ``openmm.PythonForce`` and
the plugin's ``MLFFForce`` (compiled package run by libtorch) on OpenMM's CPU platform, each the
mean of ``--steps`` getState(forces, energy) calls after a warm-up, the package compile time,
the peak resident memory, and the largest force difference between the paths (kJ/mol/nm).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import openmm
import torch

from elyte import units
from elyte.elements import masses
from elyte.io.structures import read_structure
from mlff.model.io import SHIPPED_MODEL, load_model
from mlff.openmm import mlff_force, python_force

ROOT = Path(__file__).resolve().parents[1]
BOX = ROOT / "data/structures/lipf6_ec_dmc_4116.data.gz"


def _context(force: openmm.Force, numbers: np.ndarray, cell_nm: np.ndarray, threads: int) -> openmm.Context:
    system = openmm.System()
    for m in masses(numbers):
        system.addParticle(float(m))
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in cell_nm))
    system.addForce(force)
    platform = openmm.Platform.getPlatformByName("CPU")
    return openmm.Context(system, openmm.VerletIntegrator(0.001), platform, {"Threads": str(threads)})


def _time(context: openmm.Context, steps: int) -> tuple[float, np.ndarray]:
    state = context.getState(getForces=True, getEnergy=True)  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        context.setPositions(context.getState(getPositions=True).getPositions())  # a new step each time
        state = context.getState(getForces=True, getEnergy=True)
    return (time.perf_counter() - start) / steps, state.getForces(asNumpy=True)._value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "data" / SHIPPED_MODEL))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    atoms = read_structure(BOX)
    numbers = atoms.numbers
    positions_nm = atoms.get_positions(wrap=True) * units.ANGSTROM_TO_NM
    cell_nm = np.array(atoms.cell) * units.ANGSTROM_TO_NM
    os.environ.setdefault("ELYTE_CACHE", tempfile.mkdtemp(prefix="elyte_bench_"))
    for name in args.dtype:
        dtype = getattr(torch, name)
        model = load_model(args.model).to(dtype=dtype).eval()
        start = time.perf_counter()
        native = mlff_force(model, numbers, 0.0, cell_nm)
        compile_s = time.perf_counter() - start
        results = {}
        for label, force in (("native MLFFForce", native),
                             ("openmm.PythonForce", python_force(model, numbers, 0.0, True, dtype))):
            context = _context(force, numbers, cell_nm, args.threads)
            context.setPositions(positions_nm)
            results[label] = _time(context, args.steps)
            del context
        step_native, f_native = results["native MLFFForce"]
        step_python, f_python = results["openmm.PythonForce"]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"{name}: atoms={len(numbers)} compile={compile_s:.0f}s native={step_native:.2f}s/step "
              f"python={step_python:.2f}s/step ratio={step_python / step_native:.2f} "
              f"max|dF|={np.abs(f_native - f_python).max():.2e} kJ/mol/nm peak_rss={peak:.2f}GB", flush=True)


if __name__ == "__main__":
    main()
