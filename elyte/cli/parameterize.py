"""polff-parameterize: force-field parameters for molecules from SMILES with the GNN parameterizer."""

from __future__ import annotations

import csv
import logging

import openmm
from omegaconf import DictConfig, OmegaConf

from elyte.cli.app import exit_on_failure, hydra_command
from elyte.formulation import Species
from elyte.runs import start_run
from polff.forcefield import GNNParameters, PolffForceField
from polff.io.byteff import write_byteff
from polff.parameters import NONBONDED_FIELDS

log = logging.getLogger("elyte.parameterize")


def _atoms_table(path, params, spread: dict) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["atom", "element", *NONBONDED_FIELDS, *(f"{n}_spread" for n in NONBONDED_FIELDS)])
        for i in range(params.n_atoms):
            writer.writerow([i, params.elements[i], *(f"{getattr(params, n)[i]:.6g}" for n in NONBONDED_FIELDS),
                             *(f"{spread[n][i]:.3g}" if n in spread else "" for n in NONBONDED_FIELDS)])


@hydra_command("parameterize")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    model = OmegaConf.to_container(cfg.gnn) if OmegaConf.is_list(cfg.gnn) else str(cfg.gnn)
    with exit_on_failure(log):
        source = GNNParameters(model)
        forcefield = PolffForceField(source)
        lines = ["# polff-parameterize", "", "| molecule | SMILES | atoms | charge (e) | files |", "|---|---|---|---|---|"]
        for entry in cfg.molecules:
            name, smiles = str(entry["name"]), str(entry["smiles"])
            species = Species.from_smiles(str(name), str(smiles))
            params = source(species)
            params.name = str(name)
            itp, json_path = write_byteff(params, run_dir)
            system_xml = run_dir / f"{name}_system.xml"
            system_xml.write_text(openmm.XmlSerializer.serialize(forcefield.system([species], None)))
            _atoms_table(run_dir / f"{name}_atoms.csv", params, source.spread[species.name])
            lines.append(f"| {name} | `{smiles}` | {params.n_atoms} | {params.total_charge:+.3f} | "
                         f"{itp.name}, {json_path.name}, {system_xml.name}, {name}_atoms.csv |")
            log.info("%s: %d atoms, %d bonds, %d angles, %d proper and %d improper rows", name, params.n_atoms,
                     len(params.bonds), len(params.angles), len(params.propers.k), len(params.impropers.k))
    (run_dir / "summary.md").write_text("\n".join(lines) + "\n")
    log.info("parameters written to %s", run_dir)


if __name__ == "__main__":
    main()
