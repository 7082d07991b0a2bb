"""Equilibrium averages with multiple time stepping against plain 1 fs Langevin, from the same state.

Takes a finished neat-liquid job of ``elyte-predict`` (its ``config.yaml``, ``box.extxyz`` and the
last state of its NPT production), rebuilds its system and continues it in NPT at the job's
temperature once per integrator: Langevin at 1 fs, and BAOAB-RESPA with the nonbonded forces every
2 fs and the bonded ones every 1 fs (``elyte.md.integrators``). Prints, per integrator, the mean
density, potential energy per atom and kinetic temperature after the first 2 ps, with standard
errors from 1 ps blocks, and the wall time.

    .venv/bin/python benchmarks/mts_equilibrium.py runs/predict/<sweep>/<job> [--ps 10] [--threads 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import hydra
import numpy as np
from omegaconf import OmegaConf

from elyte.analysis.statistics import block_slices, standard_error
from elyte.formulation import compose, from_config
from elyte.md.platform import select
from elyte.md.stage import Stage, StartState, run_stage
from elyte.md.topology import build_topology
from elyte.pipeline.simulate import packed_box

INTEGRATORS = {"Langevin 1 fs": (1.0, 1), "MTS: nonbonded 2 fs, bonded 1 fs": (2.0, 2)}
DISCARD_PS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", type=Path, help="a finished elyte-predict job directory of a neat liquid")
    parser.add_argument("--ps", type=float, default=10.0, help="NPT picoseconds per integrator")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/mts_equilibrium"))
    args = parser.parse_args()

    cfg = OmegaConf.load(args.job / "config.yaml")
    composition = compose(from_config(OmegaConf.to_container(cfg.formulation, resolve=True)))
    _, cell, molecules = packed_box(composition, args.job, int(cfg.seed), float(cfg.density_scale))
    system = hydra.utils.instantiate(cfg.forcefield).system(molecules, cell)
    topology = build_topology(molecules, cell)
    final = sorted(args.job.glob("T*K/npt_production/final_state.xml"))
    if not final:
        raise SystemExit(f"{args.job}: no finished npt_production stage to start from")
    start = StartState.load(final[0])
    temperature = float(final[0].parts[-3].rstrip("K").lstrip("T"))
    platform, properties = select("CPU", args.threads)
    print(f"{args.job.name}: {system.getNumParticles()} atoms, {args.ps} ps NPT at {temperature} K per integrator, "
          f"averages after {DISCARD_PS} ps (errors from 1 ps blocks)\n")
    print("| integrator | density (g/cm^3) | potential (kcal/mol per atom) | kinetic T (K) | wall (s) |\n"
          "|---|---|---|---|---|")
    for name, (timestep, inner) in INTEGRATORS.items():
        steps = round(args.ps * 1000 / timestep)
        stage = Stage("npt", "npt", steps=steps, temperature=temperature, timestep=timestep, inner_steps=inner,
                      barostat_every=round(25 / timestep), report_every=round(20 / timestep), segment_steps=steps)
        result = run_stage(stage, system, topology, start, platform, properties,
                           args.out / args.job.name / name.split(":")[0].replace(" ", "_"), seed=5)
        thermo = result.thermo()
        thermo = thermo[thermo.time_ps > DISCARD_PS]
        cells = []
        for column, factor in (("density_g_cm3", 1.0), ("potential_kcal_mol", 1.0 / system.getNumParticles()),
                               ("temperature_K", 1.0)):
            x = thermo[column].to_numpy() * factor
            means = np.array([x[s].mean() for s in block_slices(len(x), max(2, int(args.ps - DISCARD_PS)))])
            cells.append(f"{x.mean():.4f} +/- {standard_error(means):.4f}")
        print(f"| {name} | " + " | ".join(cells) + f" | {result.wall_seconds:.0f} |")


if __name__ == "__main__":
    main()
