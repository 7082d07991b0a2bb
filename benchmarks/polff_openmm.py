"""Speed of polff's OpenMM export with the plugin's induced dipoles, side by side in one run with
stock OpenMM: AmoebaMultipoleForce (the same charges, polarizabilities and Thole damping, mutual
induction to a matching tolerance) and a fixed-charge NonbondedForce (PME), on the published
10,062-atom LiPF6 / EC / DMC box, on the CPU platform (default) or a GPU one (--platform CUDA: mixed
precision, the plugin's compute-platform kernel).

    .venv/bin/python benchmarks/polff_openmm.py [--threads 2] [--steps 5] [--repeats 3] [--cutoff 9] [--platform CPU]

Prints the median ms per MD step (Verlet, 1 fs; the systems timed round-robin; ns/day for whole MD) for the full export
and the same without the induced dipoles (its permanent charges by stock PME: what polarization adds
to a whole step, with bonded terms keeping the dynamics physical), each also with multiple time
stepping (rRESPA: the nonbonded forces every 2 fs, the bonded ones every 1 fs; reported per fs of
MD); its short-range terms (repulsion, dispersion, charge transfer: the fused force and one force
per term), its electrostatics (charges by PME plus the plugin's induced dipoles), its polarization
force alone (converged and extrapolated dipoles), the AMOEBA multipole force alone and the
fixed-charge PME force alone. A part of the export has no bonds to hold its molecules together
(its atoms fly apart or collapse in MD, and its cost drifts with them), so each part is timed on a
replay instead: its forces evaluated on consecutive 1 fs frames of the whole export's own MD (lists
reused and dipoles predicted as in MD), less the replay's own cost (setting positions, reading
forces: a system with no forces, printed). Then how far the extrapolated polarization's energy and forces are
from converged dipoles (tolerance 1e-8 e*A) on the box as published.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import ase.io
import numpy as np
import openmm
from openmm.mtsintegrator import MTSIntegrator

from elyte import units
from elyte.md.integrators import FAST_GROUP, SLOW_GROUP, split_time_scales
from elyte.md.platform import select
from polff.extrapolation import ELECTROLYTE, fit_coefficients
from polff.io.byteff import read_byteff
from polff.openmm import GROUPS, build_system
from polff.system import MAX_RELATION, bond_distances

SPECIES = [("DMC", 505), ("EC", 345), ("LI", 69), ("PF6", 69)]  # the order of solvent_salt.gro
NM = units.ANGSTROM_TO_NM
DEBYE_PER_E_NM = 48.0320471  # AmoebaMultipoleForce's mutual tolerance is an RMS dipole change in Debye
MTS = ", MTS: nonbonded every 2 fs, bonded every 1 fs (per fs)"  # suffix of the multiple-time-step cases
REPLAY = "no forces (the replay's own cost)"


def load_box(folder):
    molecules, kinds = [], {}
    for name, count in SPECIES:
        kinds[name] = read_byteff(folder / f"{name}.itp")
        molecules += [kinds[name]] * count
    atoms = ase.io.read(folder / "solvent_salt.gro")
    return molecules, atoms.positions, np.asarray(atoms.cell)


def only(system: openmm.System, keep) -> openmm.System:
    """A copy of ``system`` with just the forces for which ``keep(force)`` is true."""
    copy = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    for index in reversed(range(copy.getNumForces())):
        if not keep(copy.getForce(index)):
            copy.removeForce(index)
    return copy


def amoeba_system(molecules, box, cutoff, tolerance_e_nm) -> openmm.System:
    """AmoebaMultipoleForce with the export's charges, polarizabilities and Thole damping (u^3 =
    r^3 / sqrt(d_i d_j) is AMOEBA's (r / (f_i f_j))^3 with damping factor f = d^(1/6)), no
    permanent dipoles or quadrupoles, mutual induction, PME."""
    system = openmm.System()
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * NM for row in box))
    force = openmm.AmoebaMultipoleForce()
    force.setNonbondedMethod(openmm.AmoebaMultipoleForce.PME)
    force.setCutoffDistance(cutoff * NM)
    force.setPolarizationType(openmm.AmoebaMultipoleForce.Mutual)
    force.setMutualInducedTargetEpsilon(tolerance_e_nm * DEBYE_PER_E_NM)
    force.setEwaldErrorTolerance(5e-4)
    offset = 0
    for m in molecules:
        dist = bond_distances(m.n_atoms, m.bonds)
        for a in range(m.n_atoms):
            system.addParticle(float(m.masses[a]))
            damping = float(m.pol_damping[a] * NM**3) ** (1.0 / 6.0)
            force.addMultipole(float(m.charge[a]), [0.0] * 3, [0.0] * 9, openmm.AmoebaMultipoleForce.NoAxisType,
                               -1, -1, -1, 0.39, damping, float(m.alpha[a] * NM**3))
        for a in range(m.n_atoms):
            for order, kind in zip(range(1, MAX_RELATION), (openmm.AmoebaMultipoleForce.Covalent12,
                                                           openmm.AmoebaMultipoleForce.Covalent13,
                                                           openmm.AmoebaMultipoleForce.Covalent14,
                                                           openmm.AmoebaMultipoleForce.Covalent15)):
                partners = [offset + int(b) for b in np.nonzero(dist[a] == order)[0]]
                force.setCovalentMap(offset + a, kind, partners)
            force.setCovalentMap(offset + a, openmm.AmoebaMultipoleForce.PolarizationCovalent11, [offset + a])
        offset += m.n_atoms
    system.addForce(force)
    return system


def new_context(system, args, integrator: openmm.Integrator | None = None) -> openmm.Context:
    platform, properties = select(args.platform, args.threads)
    return openmm.Context(system, integrator or openmm.VerletIntegrator(0.001), platform, properties)


def make_context(system, positions_nm, args, integrator: openmm.Integrator | None = None) -> openmm.Context:
    context = new_context(system, args, integrator)
    context.setPositions(positions_nm)
    context.setVelocitiesToTemperature(300.0)
    context.getIntegrator().step(1)  # warm-up: neighbour lists, first solve from scratch
    return context


def whole_export_frames(system, positions_nm, args, count: int) -> list:
    """Positions (OpenMM quantities, nm) after each of ``count`` 1 fs Verlet steps of ``system`` (the
    whole export)."""
    context = make_context(system, positions_nm, args)
    frames = []
    for _ in range(count):
        context.getIntegrator().step(1)
        frames.append(context.getState(getPositions=True).getPositions(asNumpy=True))
    return frames


def median_ms_per_step(contexts: dict, steps: dict, repeats: int, frames: list | None = None) -> dict[str, float]:
    """Median over ``repeats`` rounds of the wall time per step, the systems timed round-robin so
    that the machine's load hits all alike. A system named in ``steps`` with a negative count is
    replayed instead: forces at the next that many of ``frames`` per round, in order."""
    times: dict[str, list[float]] = {name: [] for name in contexts}
    for round_ in range(repeats):
        for name, context in contexts.items():
            count = abs(steps[name])
            start = time.perf_counter()
            if steps[name] > 0:
                context.getIntegrator().step(count)
            else:
                for x in frames[round_ * count:(round_ + 1) * count]:
                    context.setPositions(x)
                    context.getState(getForces=True)
            times[name].append(1000 * (time.perf_counter() - start) / count)
    return {name: statistics.median(t) for name, t in times.items()}


def energy_forces(system, positions_nm, args):
    context = new_context(system, args)
    context.setPositions(positions_nm)
    state = context.getState(getEnergy=True, getForces=True)
    return state.getPotentialEnergy()._value, state.getForces(asNumpy=True)._value


def extrapolation_error(molecules, box, x, args, coefficients) -> str:
    """Energy and force error of extrapolated polarization against dipoles converged to 1e-8 e*A."""
    group = GROUPS["polarization"]
    systems = [only(build_system(molecules, box=box, cutoff=args.cutoff, ewald_tolerance=args.ewald_tolerance,
                                 polarization_tolerance=1e-8, extrapolation=c), lambda f: f.getForceGroup() == group)
               for c in (None, coefficients)]
    (e0, f0), (e1, f1) = (energy_forces(s, x, args) for s in systems)
    rms = np.sqrt(((f1 - f0) ** 2).mean() / (f0**2).mean())
    return (f"extrapolated {tuple(round(c, 4) for c in coefficients)} vs converged: polarization energy "
            f"{e1:.1f} vs {e0:.1f} kJ/mol ({(e1 - e0) / abs(e0):+.2e} relative), force RMS error {rms:.2e} of the "
            f"RMS force, largest {np.abs(f1 - f0).max():.1f} kJ/mol/nm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="CPU platform threads")
    parser.add_argument("--platform", default="CPU", help="OpenMM platform: CPU, CUDA or OpenCL (mixed precision)")
    parser.add_argument("--steps", type=int, default=5, help="MD steps per system and round")
    parser.add_argument("--amoeba-steps", type=int, default=1, help="AMOEBA is slow: fewer steps")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--cutoff", type=float, default=9.0, help="Angstrom")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="induced dipoles, e*A (largest residual)")
    parser.add_argument("--ewald-tolerance", type=float, default=5e-4)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
                        / "byteff_pol_example" / "electrolyte", help="folder with solvent_salt.gro and the .itp/.json")
    parser.add_argument("--only", nargs="*", help="run just the systems whose names contain one of these words")
    parser.add_argument("--fit-order", type=int, default=None,
                        help="refit the extrapolation coefficients to this order on the box (polff.extrapolation); "
                             "default: the shipped polff.extrapolation.ELECTROLYTE")
    args = parser.parse_args()

    folder = args.data
    molecules, positions, box = load_box(folder)
    x = positions * NM
    coefficients = ELECTROLYTE if args.fit_order is None else fit_coefficients(molecules, positions, box, args.fit_order)
    full = build_system(molecules, box=box, cutoff=args.cutoff, ewald_tolerance=args.ewald_tolerance,
                        polarization_tolerance=args.tolerance)
    split = build_system(molecules, box=box, cutoff=args.cutoff, ewald_tolerance=args.ewald_tolerance,
                         polarization_tolerance=args.tolerance, split_terms=True)
    group = GROUPS["polarization"]
    short_range = {GROUPS[t] for t in ("repulsion", "dispersion", "charge_transfer")}
    cases = {
        "polff export, all terms (plugin)": full,
        "polff export, all terms" + MTS: split_time_scales(full),
        "polff export without induced dipoles (permanent charges only)": only(full, lambda f: f.getForceGroup() != group),
        "polff export without induced dipoles" + MTS: split_time_scales(only(full, lambda f: f.getForceGroup() != group)),
        "polff short-range terms, one fused force": only(full, lambda f: f.getForceGroup() in short_range),
        "polff short-range terms, one force each (split_terms)": only(split, lambda f: f.getForceGroup() in short_range),
        "polff charges + induced dipoles (NonbondedForce + plugin)": only(
            full, lambda f: f.getForceGroup() in (group, GROUPS["electrostatics_permanent"])),
        "polff polarization force alone (plugin)": only(full, lambda f: f.getForceGroup() == group),
        "polff polarization force alone, extrapolated (plugin)": only(
            build_system(molecules, box=box, cutoff=args.cutoff, ewald_tolerance=args.ewald_tolerance,
                         extrapolation=coefficients), lambda f: f.getForceGroup() == group),
        "AmoebaMultipoleForce alone (stock)": amoeba_system(molecules, box, args.cutoff, args.tolerance * NM),
        "NonbondedForce PME fixed charges alone (stock)": only(full, lambda f: isinstance(f, openmm.NonbondedForce)),
    }
    contexts = {name: make_context(system, x, args,
                                   MTSIntegrator(0.002, [(SLOW_GROUP, 1), (FAST_GROUP, 2)]) if name.endswith(MTS) else None)
                for name, system in cases.items() if not args.only or any(word in name for word in args.only)}
    # the parts of the export are replayed on the whole export's MD (a negative count)
    steps = {name: (args.amoeba_steps if "Amoeba" in name else args.steps) * (1 if name.startswith("polff export") else -1)
             for name in contexts}
    frames = None
    if any(count < 0 for count in steps.values()):
        empty = openmm.System()
        for _ in range(len(x)):
            empty.addParticle(1.0)
        contexts[REPLAY] = make_context(empty, x, args)
        steps[REPLAY] = -args.steps
        frames = whole_export_frames(full, x, args, args.repeats * args.steps)
    result = median_ms_per_step(contexts, steps, args.repeats, frames)
    overhead = result.pop(REPLAY, 0.0)
    for name in result:
        if name.endswith(MTS):
            result[name] /= 2.0  # fs per step
        if steps[name] < 0:
            result[name] -= overhead
    print(f"{folder / 'solvent_salt.gro'}: {len(x)} atoms, cutoff {args.cutoff} A, Ewald tolerance "
          f"{args.ewald_tolerance}, dipole tolerance {args.tolerance} e*A, {args.platform} platform"
          + (f", {args.threads} threads" if args.platform == "CPU" else "") + ", "
          f"OpenMM {openmm.__version__}, median of {args.repeats} rounds"
          + (f"; parts replayed on the whole export's MD, less {overhead:.1f} ms of replay per frame" if frames else "")
          + "\n")
    fixed = next((ms for name, ms in result.items() if "fixed charges" in name), None)
    print("| system | ms / step | / fixed-charge PME | ns/day |\n|---|---|---|---|")
    for name, ms in result.items():
        ratio = f"{ms / fixed:.1f}" if fixed else "-"
        rate = f"{86.4 / ms:.2f}" if name.startswith("polff export") else "-"  # whole MD: ms per fs
        print(f"| {name} | {ms:.1f} | {ratio} | {rate} |")
    if not args.only or any("extrapolated" in name for name in contexts):
        print("\n" + extrapolation_error(molecules, box, x, args, coefficients))


if __name__ == "__main__":
    main()
