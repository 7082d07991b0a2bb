"""elyte-label: QM labels for files, SMILES and sampling recipes into a resumable HDF5 store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from elyte.cli.app import hydra_command
from elyte.labels.engines import make_backend
from elyte.labels.inputs import from_smiles, read_file
from elyte.labels.runner import run
from elyte.labels.sampling.recipe import expand
from elyte.labels.structure import QMStructure
from elyte.runs import start_run

log = logging.getLogger("elyte.label")


def gather(cfg: DictConfig) -> list[QMStructure]:
    """The structures the config names: files, then SMILES, then the recipe's samples."""
    structures: list[QMStructure] = []
    for path in cfg.files:
        structures += read_file(to_absolute_path(str(path)))
    if cfg.smiles:
        structures += from_smiles(OmegaConf.to_container(cfg.smiles))
    recipe = OmegaConf.to_container(cfg.recipe, resolve=True) if cfg.recipe else {}
    if recipe:
        structures += expand(recipe, make_backend(OmegaConf.to_container(cfg.sampler)))
    if not structures:
        raise ValueError("nothing to label: give files=[...], smiles={name: SMILES} or recipe=NAME")
    return structures[: cfg.limit] if cfg.limit else structures


@hydra_command("label")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    structures = gather(cfg)
    store = Path(to_absolute_path(str(cfg.store)))
    log.info("%d structures to label into %s", len(structures), store)
    summary = run(structures, OmegaConf.to_container(cfg.backend), list(cfg.requests), store,
                  workers=int(cfg.workers), threads=int(cfg.threads), counterpoise=bool(cfg.counterpoise))
    table = summary.table()
    (run_dir / "summary.md").write_text(table + "\n")
    (run_dir / "summary.json").write_text(json.dumps(summary.__dict__, indent=2))
    log.info("summary\n%s", table)


if __name__ == "__main__":
    main()
