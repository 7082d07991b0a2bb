"""polff-simulate / mlff-simulate: NVT or NPT MD of a structure file in OpenMM with a force field
(``configs/simulate.yaml`` with polff, ``configs/mlff_simulate.yaml`` with an mlff model file)."""

from __future__ import annotations

import json
import logging

import hydra
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import openmm.app as app  # noqa: E402
import pandas as pd  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from elyte import units  # noqa: E402
from elyte.cli.app import exit_on_failure, hydra_command  # noqa: E402
from elyte.formulation import Species  # noqa: E402
from elyte.io.structures import read_structure  # noqa: E402
from elyte.md.platform import select  # noqa: E402
from elyte.md.stage import Stage, StartState, run_stage  # noqa: E402
from elyte.md.topology import build_topology  # noqa: E402
from elyte.molecules import assign_species  # noqa: E402
from elyte.runs import start_run  # noqa: E402

log = logging.getLogger("elyte.simulate")


def _stages(cfg: DictConfig) -> list[Stage]:
    common = dict(temperature=float(cfg.temperature), pressure=float(cfg.pressure), timestep=float(cfg.timestep),
                  inner_steps=int(cfg.inner_steps),
                  hydrogen_mass=None if cfg.hydrogen_mass is None else float(cfg.hydrogen_mass))
    stages = []
    if int(cfg.minimize_steps):
        stages.append(Stage("minimize", "minimize", steps=int(cfg.minimize_steps), **common))
    stages.append(Stage("md", str(cfg.ensemble), steps=int(cfg.steps), friction=float(cfg.friction),
                        barostat_every=int(cfg.barostat_every), report_every=int(cfg.report_every),
                        trajectory_every=int(cfg.trajectory_every), segment_steps=int(cfg.segment_steps),
                        max_bond_stretch=None if cfg.max_bond_stretch is None else float(cfg.max_bond_stretch),
                        **common))
    return stages


def _plot(thermo: pd.DataFrame, path) -> None:
    columns = [c for c in ("temperature_K", "density_g_cm3", "potential_kcal_mol") if thermo[c].notna().any()]
    fig, axes = plt.subplots(len(columns), 1, figsize=(6, 2.2 * len(columns)), sharex=True)
    for ax, column in zip(list(axes) if len(columns) > 1 else [axes], columns):
        ax.plot(thermo.time_ps, thermo[column], lw=0.8)
        ax.set_ylabel(column.replace("_", " "))
    axes[-1].set_xlabel("time (ps)") if len(columns) > 1 else axes.set_xlabel("time (ps)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    with exit_on_failure(log):
        simulate(cfg, run_dir)


def simulate(cfg: DictConfig, run_dir) -> None:
    """Identify the molecules, build the system, run minimization and MD, write the outputs."""
    if cfg.ensemble not in ("npt", "nvt"):
        raise SystemExit(f"ensemble must be 'npt' or 'nvt', got {cfg.ensemble!r}")
    atoms = read_structure(cfg.structure)
    species = [Species.from_smiles(str(s["name"]), str(s["smiles"])) for s in cfg.species]
    order, molecules = assign_species(atoms, species)
    atoms = atoms[order]
    periodic = bool(atoms.pbc.all())
    cell = atoms.cell[:] if periodic else None
    if cfg.ensemble == "npt" and not periodic:
        raise SystemExit(f"{cfg.structure} has no periodic box: use ensemble=nvt for a cluster")
    forcefield = hydra.utils.instantiate(cfg.forcefield)
    system = forcefield.system(molecules, cell)
    topology = build_topology(molecules, cell)
    with open(run_dir / "topology.pdb", "w") as f:
        app.PDBFile.writeFile(topology, atoms.positions * units.ANGSTROM_TO_NM * 10.0, f)  # PDB takes Angstrom
    log.info("%d atoms, %d molecules (%s), force field %s", len(atoms), len(molecules),
             ", ".join(f"{sum(m.name == s.name for m in molecules)} {s.name}" for s in species), forcefield.name)
    platform, properties = select(str(cfg.platform), cfg.threads, system)
    start = StartState(atoms.positions, cell)
    for stage in _stages(cfg):
        result = run_stage(stage, system, topology, start, platform, properties, run_dir / stage.name, int(cfg.seed))
        start = result.final
    thermo = result.thermo()
    thermo.to_csv(run_dir / "thermo.csv", index=False)
    _plot(thermo, run_dir / "thermo.png")
    ns_per_day = result.steps_per_second * float(cfg.timestep) * 86400e-6
    summary = {"n_atoms": len(atoms), "platform": platform.getName(), "steps": int(cfg.steps),
               "ns_per_day": ns_per_day, "final_temperature_K": float(thermo.temperature_K.iloc[-1]),
               "mean_density_g_cm3": float(thermo.density_g_cm3.mean()) if periodic else None}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "report.md").write_text(
        f"# MD of {cfg.structure}\n\n{len(atoms)} atoms, {cfg.ensemble.upper()} at {cfg.temperature} K, "
        f"{cfg.steps} steps of {cfg.timestep} fs on {platform.getName()} ({ns_per_day:.2f} ns/day).\n\n"
        f"![thermo](thermo.png)\n\nResolved configuration: `config.yaml`. Trajectory: `md/segment_*/traj.dcd` "
        "with `topology.pdb`.\n")
    log.info("done: %.2f ns/day, outputs in %s", ns_per_day, run_dir)


main = hydra_command("simulate")(_main)  # polff-simulate
main_mlff = hydra_command("mlff_simulate")(_main)  # mlff-simulate


if __name__ == "__main__":
    main()
