"""Energy conservation of mlff MD in OpenMM through the plugin's MLFFForce (native package).

The LiPF6 / EC / DMC box of ``polff_nve_drift.py`` (``--pairs`` LiPF6, 5 EC and 5 DMC each) is
built, minimized (``--minimize-steps``; 0 for a model without a short-range wall, whose holes the
minimizer finds) and thermalized at 298 K (Langevin, 0.5 fs) with the mlff model; then NVE (velocity Verlet,
``--timestep`` fs, CPU platform). The total energy is appended to ``--csv`` as the run goes, so a
long run can be read before it ends. At the end prints the drift of the total energy (straight-line
fit, kT per degree of freedom per ns), its RMS fluctuation about the line (kJ/mol) and the cost per
step.

    .venv/bin/python benchmarks/mlff_nve_drift.py [--model data/models/mlff_electrolyte_v6.pt] [--ps 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as u

from elyte.box import build_box
from elyte import units
from liquid_md import TEMPERATURE
from mlff.model.io import SHIPPED_MODEL
from mlff.openmm import MLFFForceField
from polff_nve_drift import KT_298, electrolyte

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "data" / SHIPPED_MODEL))
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--ps", type=float, default=10.0, help="NVE picoseconds")
    parser.add_argument("--minimize-steps", type=int, default=500)
    parser.add_argument("--equilibrate", type=float, default=1.0, help="Langevin picoseconds before")
    parser.add_argument("--timestep", type=float, default=1.0, help="fs")
    parser.add_argument("--every", type=int, default=20, help="steps between energy records")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", default="mlff_nve_energy.csv")
    args = parser.parse_args()

    composition, _ = electrolyte(args.pairs)
    box = build_box(composition, seed=args.seed)
    forcefield = MLFFForceField(args.model, dtype=args.dtype, backend="native")
    system = forcefield.system(box.molecules, np.asarray(box.atoms.cell))
    platform, properties = openmm.Platform.getPlatformByName("CPU"), {"Threads": str(args.threads)}
    langevin = openmm.LangevinMiddleIntegrator(TEMPERATURE, 5 / u.picosecond, 0.5 * u.femtosecond)
    langevin.setRandomNumberSeed(args.seed)
    warm = openmm.Context(system, langevin, platform, properties)
    warm.setPeriodicBoxVectors(*(np.asarray(box.atoms.cell) * units.ANGSTROM_TO_NM))
    warm.setPositions(box.atoms.positions * units.ANGSTROM_TO_NM)
    if args.minimize_steps:
        openmm.LocalEnergyMinimizer.minimize(warm, 10, args.minimize_steps)
    warm.setVelocitiesToTemperature(TEMPERATURE, args.seed)
    langevin.step(int(args.equilibrate * 2000))
    state = warm.getState(getPositions=True, getVelocities=True)
    atoms = system.getNumParticles()
    dof = 3 * atoms - 3
    print(f"{atoms} atoms, cube {np.asarray(box.atoms.cell)[0, 0]:.1f} A, {args.minimize_steps} minimizer steps, "
          f"{args.equilibrate} ps Langevin then "
          f"{args.ps} ps NVE at {args.timestep} fs, {args.dtype}, CPU platform, {args.threads} threads", flush=True)
    integrator = openmm.VerletIntegrator(args.timestep * u.femtosecond)
    context = openmm.Context(system, integrator, platform, properties)
    context.setState(state)
    rows, elapsed = [], 0.0
    with open(args.csv, "w") as out:
        out.write("time_ps,potential_kj_mol,kinetic_kj_mol,total_kj_mol\n")
        for k in range(int(args.ps * 1000 / args.timestep) // args.every):
            start = time.perf_counter()
            integrator.step(args.every)
            elapsed += time.perf_counter() - start
            s = context.getState(getEnergy=True)
            potential = s.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
            kinetic = s.getKineticEnergy().value_in_unit(u.kilojoule_per_mole)
            rows.append(((k + 1) * args.every * args.timestep * 1e-3, potential + kinetic, kinetic))
            out.write(f"{rows[-1][0]:.4f},{potential:.6f},{kinetic:.6f},{potential + kinetic:.6f}\n")
            out.flush()
    t_ps, energies, kinetic = np.array(rows).T
    t_ns = t_ps * 1e-3
    slope, intercept = np.polyfit(t_ns, energies, 1)
    rms = np.sqrt(np.mean((energies - (slope * t_ns + intercept)) ** 2))
    temperature = 2 * kinetic.mean() / (dof * KT_298 / TEMPERATURE.value_in_unit(u.kelvin))
    print(f"drift {slope / KT_298 / dof:+.4f} kT/dof/ns, RMS fluctuation {rms:.3f} kJ/mol, mean T "
          f"{temperature:.1f} K, {1000 * elapsed / (len(rows) * args.every):.0f} ms/step")


if __name__ == "__main__":
    main()
