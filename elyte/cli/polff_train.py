"""polff-train: fit the polff GNN parameterizer to QM labels (see docs/polff_training.md)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from elyte.cli.app import hydra_command
from elyte.labels.monomer100 import import_monomer_100
from elyte.labels.store import LabelStore
from elyte.paths import data_dir
from elyte.runs import start_run
from polff.fit.data import FitData, first_molecules, load_stores
from polff.fit.losses import check_weights
from polff.fit.run import train_models
from polff.fit.trainer import TrainConfig
from polff.params.model import ParameterizerConfig

log = logging.getLogger("elyte.polff_train")


def store_paths(cfg: DictConfig, scratch: Path) -> list[Path]:
    """The stores the config names; ``monomer_100`` is imported into a store in ``scratch``."""
    paths = [Path(to_absolute_path(str(p))) for p in cfg.stores]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"label store(s) {missing} do not exist (data.stores)")
    if cfg.data_qm:
        paths += sorted(p for p in (data_dir() / "qm").glob("*.h5*") if p.suffix in (".h5", ".gz"))
    if cfg.monomer_100:
        source = Path(to_absolute_path(str(cfg.monomer_100))).resolve()
        if not (source / "monomer_100.h5").is_file():
            raise FileNotFoundError(f"{source} holds no monomer_100.h5; set data.monomer_100=null or point it to "
                                    "the qm_monomer_100 directory")
        with LabelStore(scratch / "monomer_100.h5") as store:
            log.info("imported %d monomer_100 conformers from %s", import_monomer_100(source, store), source)
        paths.append(scratch / "monomer_100.h5")
    if not paths:
        raise ValueError("no label data: give data.stores=[...], data.monomer_100=DIR or put stores under data/qm/")
    return paths


def load_data(cfg: DictConfig) -> FitData:
    with tempfile.TemporaryDirectory() as scratch:
        names = OmegaConf.to_container(cfg.molecules) if cfg.molecules else None
        data = load_stores(store_paths(cfg, Path(scratch)), names=names)
    if cfg.max_molecules:
        data = first_molecules(data, int(cfg.max_molecules))
    log.info("%d molecule entries (%d with conformer energies), %d dimers/clusters", len(data.molecules),
             sum(len(m.energies) >= 2 for m in data.molecules), len(data.clusters))
    return data


@hydra_command("polff_train")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    weights = check_weights(OmegaConf.to_container(cfg.loss))  # a bad term fails before any data is read
    train = TrainConfig(**OmegaConf.to_container(cfg.train))
    model = ParameterizerConfig(**OmegaConf.to_container(cfg.model))
    data = load_data(cfg.data)
    paths = train_models(data, weights, train, model, run_dir, n_models=int(cfg.n_models), resume=bool(cfg.resume),
                         metadata={"command": "polff-train", "run_dir": str(run_dir)})
    log.info("done: %s", ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
