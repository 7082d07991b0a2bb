"""Energy conservation of polff MD against the induced-dipole settings: NVE drift and cost per step.

A LiPF6 / EC / DMC box (the published ByteFF-Pol parameters shipped in data/forcefields/byteff_pol)
is built, minimized and thermalized at 298 K with converged dipoles; then the same start (positions
and velocities) runs NVE (velocity Verlet, 1 fs, CPU platform) once per setting: converged dipoles at
several tolerances (largest per-atom residual, e*A), extrapolated polarization, and multiple time
stepping (``--mts OUTER:INNER``: rRESPA, the nonbonded forces every OUTER fs and the bonded ones
INNER times as often, dipoles converged to the pipeline's 1e-5 e*A). Prints, per setting, the drift of
the total energy (a straight-line fit, in kT per degree of freedom per ns), its RMS fluctuation about
that line (kJ/mol) and the wall time per step and per fs.

    .venv/bin/python benchmarks/polff_nve_drift.py [--pairs 4] [--ps 2] [--threads 2] [--mts 2:2 3:3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import openmm
import openmm.unit as u
from openmm.mtsintegrator import MTSIntegrator

from elyte.box import build_box
from elyte.formulation import Composition, Species
from elyte.md.integrators import FAST_GROUP, SLOW_GROUP, split_time_scales
from elyte.paths import data_dir
from liquid_md import TEMPERATURE, minimized_context
from polff.extrapolation import ELECTROLYTE
from polff.forcefield import ParameterFiles, PolffForceField

KT_298 = 0.0083144626 * 298.15  # kJ/mol


def electrolyte(pairs: int) -> tuple[Composition, ParameterFiles]:
    """``pairs`` LiPF6 in EC/DMC (1:1 by molecules, about 1 M)."""
    folder = data_dir() / "forcefields" / "byteff_pol"
    files = {name: folder / f"{code}.itp" for name, code in (("EC", "EC"), ("DMC", "DMC"), ("Li", "LI"), ("PF6", "PF6"))}
    species = {"EC": Species.from_smiles("EC", "O=C1OCCO1"), "DMC": Species.from_smiles("DMC", "COC(=O)OC"),
               "Li": Species.from_smiles("Li", "[Li+]"), "PF6": Species.from_smiles("PF6", "F[P-](F)(F)(F)(F)F")}
    solvents = 5 * pairs
    counts = [(species["EC"], solvents), (species["DMC"], solvents), (species["Li"], pairs), (species["PF6"], pairs)]
    return Composition(counts, sum(s.volume * n for s, n in counts), {}), ParameterFiles(files)


def start_state(box, forcefield, threads: int, seed: int, picoseconds: float):
    cell = np.asarray(box.atoms.cell)
    system = forcefield.system(box.molecules, cell)
    context = minimized_context(system, box.atoms.positions, cell, threads, seed, minimize_steps=1000)
    context.setVelocitiesToTemperature(TEMPERATURE, seed)
    context.getIntegrator().step(int(picoseconds * 1000))
    return context.getState(getPositions=True, getVelocities=True), system.getNumParticles()


def nve(system: openmm.System, state, steps: int, every: int, threads: int, outer_fs: float = 1.0,
        inner: int = 1) -> tuple[np.ndarray, float]:
    """Total energy (kJ/mol) every ``every`` steps and the wall time per step (ms); with ``inner`` > 1,
    rRESPA with the bonded forces ``inner`` times per ``outer_fs`` step."""
    if inner > 1:
        system = split_time_scales(system)
        integrator = MTSIntegrator(outer_fs * u.femtosecond, [(SLOW_GROUP, 1), (FAST_GROUP, inner)])
    else:
        integrator = openmm.VerletIntegrator(outer_fs * u.femtosecond)
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"), {"Threads": str(threads)})
    context.setState(state)
    energies, elapsed = [], 0.0
    for _ in range(steps // every):
        start = time.perf_counter()
        integrator.step(every)
        elapsed += time.perf_counter() - start
        s = context.getState(getEnergy=True)
        energies.append((s.getPotentialEnergy() + s.getKineticEnergy()).value_in_unit(u.kilojoule_per_mole))
    return np.array(energies), 1000 * elapsed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=4, help="LiPF6 pairs (with 5 EC and 5 DMC each)")
    parser.add_argument("--ps", type=float, default=2.0, help="NVE picoseconds per setting")
    parser.add_argument("--equilibrate", type=float, default=2.0, help="NVT picoseconds before")
    parser.add_argument("--tolerances", type=float, nargs="*", default=[1e-8, 1e-6, 1e-5, 1e-4])
    parser.add_argument("--cutoff", type=float, default=8.0, help="Angstrom")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mts", nargs="*", default=[], metavar="OUTER:INNER",
                        help="multiple time stepping settings: outer step (fs) and bonded evaluations per step")
    args = parser.parse_args()

    composition, parameters = electrolyte(args.pairs)
    box = build_box(composition, seed=args.seed)
    converged = PolffForceField(parameters, cutoff=args.cutoff, polarization_tolerance=1e-8)
    state, atoms = start_state(box, converged, args.threads, args.seed, args.equilibrate)
    dof = 3 * atoms - 3
    print(f"{atoms} atoms ({args.pairs} LiPF6, {5 * args.pairs} EC, {5 * args.pairs} DMC), cube "
          f"{np.asarray(box.atoms.cell)[0, 0]:.1f} A, cutoff {args.cutoff} A, {args.equilibrate} ps NVT then "
          f"{args.ps} ps NVE per setting, CPU platform, {args.threads} threads\n")
    settings = [(f"converged, tolerance {t:g} e*A", PolffForceField(parameters, cutoff=args.cutoff,
                                                                    polarization_tolerance=t), 1.0, 1)
                for t in args.tolerances]
    settings.append(("extrapolated (polff.extrapolation.ELECTROLYTE)",
                     PolffForceField(parameters, cutoff=args.cutoff, extrapolation=ELECTROLYTE), 1.0, 1))
    pipeline = PolffForceField(parameters, cutoff=args.cutoff, polarization_tolerance=1e-5)
    for mts in args.mts:
        outer, inner = float(mts.split(":")[0]), int(mts.split(":")[1])
        name = (f"converged 1e-5 e*A, MTS: nonbonded every {outer:g} fs, bonded every {outer / inner:g} fs"
                if inner > 1 else f"converged 1e-5 e*A, Verlet {outer:g} fs (no MTS)")
        settings.append((name, pipeline, outer, inner))
    print("| dipoles, integrator | drift (kT / dof / ns) | RMS fluctuation (kJ/mol) | ms / step | ms / fs |\n"
          "|---|---|---|---|---|")
    for name, forcefield, outer, inner in settings:
        every = max(1, round(20 / outer))
        steps = round(args.ps * 1000 / outer / every) * every
        energies, ms = nve(forcefield.system(box.molecules, np.asarray(box.atoms.cell)), state, steps, every,
                           args.threads, outer, inner)
        t_ns = np.arange(1, len(energies) + 1) * every * outer * 1e-6
        slope, intercept = np.polyfit(t_ns, energies, 1)
        rms = np.sqrt(np.mean((energies - (slope * t_ns + intercept)) ** 2))
        print(f"| {name} | {slope / KT_298 / dof:+.4f} | {rms:.3f} | {ms:.1f} | {ms / outer:.1f} |")


if __name__ == "__main__":
    main()
