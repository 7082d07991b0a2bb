"""elyte-label: QM labels for files, SMILES and sampling recipes into a resumable HDF5 store."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from elyte.cli.app import hydra_command
from elyte.labels.engines import make_backend
from elyte.labels.inputs import from_smiles, read_file, read_store
from elyte.labels.runner import run
from elyte.labels.sampling.recipe import expand
from elyte.labels.structure import QMStructure
from elyte.paths import config_dir
from elyte.runs import start_run

log = logging.getLogger("elyte.label")


def load_recipe(name: str) -> dict:
    """A recipe by name (``configs/label/recipe/<name>.yaml``) or path, interpolations resolved; a recipe
    with ``extends: OTHER`` is merged over that recipe (a section set to null drops it)."""
    path = config_dir() / "label" / "recipe" / f"{name}.yaml"
    if not path.is_file():
        path = Path(to_absolute_path(name))
    if not path.is_file():
        known = sorted(p.stem for p in (config_dir() / "label" / "recipe").glob("*.yaml"))
        raise FileNotFoundError(f"recipe {name!r} is neither one of {known} nor a YAML file")
    recipe = OmegaConf.load(path)
    if "extends" in recipe:
        base = OmegaConf.create(load_recipe(str(recipe.pop("extends"))))
        recipe = OmegaConf.merge(base, recipe)
    return OmegaConf.to_container(recipe, resolve=True)


def gather(cfg: DictConfig) -> list[QMStructure]:
    """The structures the config names: files, stores, then SMILES, then the recipe's samples."""
    if "label" in cfg and "recipe" in cfg.label:
        raise ValueError("choose a recipe with recipe=NAME (not label/recipe=NAME)")
    structures: list[QMStructure] = []
    for path in cfg.files:
        structures += read_file(to_absolute_path(str(path)))
    for path in cfg.stores:
        structures += read_store(to_absolute_path(str(path)), include_failed=bool(cfg.include_failed),
                                 kinds=list(cfg.kinds) if cfg.kinds else None)
    if cfg.smiles:
        structures += from_smiles(OmegaConf.to_container(cfg.smiles))
    if cfg.recipe:
        structures += expand(load_recipe(str(cfg.recipe)), make_backend(OmegaConf.to_container(cfg.sampler)))
    if not structures:
        raise ValueError("nothing to label: give files=[...], stores=[...], smiles={name: SMILES} or recipe=NAME")
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
