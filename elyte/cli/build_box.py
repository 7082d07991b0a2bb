"""elyte-build-box: composition and packed periodic box of a formulation."""

from __future__ import annotations

import json
import logging

import ase.io
import numpy as np
from omegaconf import DictConfig, OmegaConf

from elyte import units
from elyte.box import build_box
from elyte.cli.app import hydra_command
from elyte.formulation import compose, from_config
from elyte.runs import start_run

log = logging.getLogger("elyte.build_box")


@hydra_command("build_box")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    formulation = from_config(OmegaConf.to_container(cfg.formulation, resolve=True))
    composition = compose(formulation)
    log.info("%s: %s, %d atoms", formulation.name,
             ", ".join(f"{n} {s.name}" for s, n in composition.counts), composition.n_atoms)
    box = build_box(composition, seed=int(cfg.seed), density_scale=float(cfg.density_scale),
                    max_loops=int(cfg.max_loops))
    atoms = box.atoms
    atoms.arrays["molecule"] = np.repeat(np.arange(len(box.molecules)), [m.n_atoms for m in box.molecules])
    atoms.arrays["molecule_name"] = np.repeat([m.name for m in box.molecules], [m.n_atoms for m in box.molecules])
    ase.io.write(run_dir / "box.extxyz", atoms)
    mass = sum(s.mass * n for s, n in composition.counts)
    summary = {
        "formulation": formulation.name,
        "species": [{"name": s.name, "smiles": s.smiles, "count": n, "charge": s.charge} for s, n in composition.counts],
        "n_atoms": composition.n_atoms,
        "box_length_A": float(atoms.cell.lengths()[0]),
        "estimated_density_g_cm3": mass / units.AVOGADRO / (composition.volume * 1e-24),
        "packed_density_g_cm3": mass / units.AVOGADRO / (atoms.get_volume() * 1e-24),
        "salt_concentrations": composition.concentrations,
        "temperatures_K": formulation.temperatures,
        "pressure_bar": formulation.pressure_bar,
    }
    (run_dir / "composition.json").write_text(json.dumps(summary, indent=2))
    log.info("box %.2f A, packed density %.3f g/cm^3 -> %s", summary["box_length_A"],
             summary["packed_density_g_cm3"], run_dir / "box.extxyz")


if __name__ == "__main__":
    main()
