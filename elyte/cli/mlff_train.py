"""mlff-train: train the mlff force field (see docs/mlff_training.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import Dataset, Subset

from elyte.cli.app import hydra_command
from elyte.runs import start_run
from mlff.data import fit_reference_energies, load_dataset, split_dataset
from mlff.model.forcefield import ForceField
from mlff.model.io import load_model
from mlff.train.distributed import Context, barrier, init_from_env
from mlff.train.ensemble import train_ensemble
from mlff.train.losses import check_weights
from mlff.train.plots import learning_curve, parity
from mlff.train.trainer import Trainer, TrainConfig, evaluate

log = logging.getLogger("elyte.mlff_train")


def load_splits(cfg: DictConfig, cache_dir: Path, context: Context) -> list[Dataset]:
    """Training, validation and test sets; ranks read one after the other (imports write a cache)."""
    data_cfg = OmegaConf.to_container(cfg.data, resolve=True)
    data_cfg["paths"] = [to_absolute_path(str(p)) for p in data_cfg.get("paths") or []]
    cache_dir.mkdir(parents=True, exist_ok=True)
    dataset = None
    for rank in range(context.world_size):
        if rank == context.rank:
            dataset = load_dataset(data_cfg, cache_dir)
        barrier(context)
    if cfg.max_structures:
        dataset = Subset(dataset, list(range(min(int(cfg.max_structures), len(dataset)))))
    splits = split_dataset(dataset, data_cfg["split"])
    if len(splits) != 3:
        raise ValueError(f"data.split.fractions must give train, validation and test fractions, got {len(splits)}")
    log.info("%d structures: %d training, %d validation, %d test", len(dataset), *map(len, splits))
    return splits


def warn_unseen_elements(train_set: Dataset, others: dict[str, Dataset]) -> None:
    """Elements of the validation or test set that no training structure holds have no fitted
    reference energy (0) and untrained weights: their errors are meaningless, say so."""
    seen = {int(z) for s in train_set for z in s.numbers}
    for name, dataset in others.items():
        unseen = sorted({int(z) for s in dataset for z in s.numbers} - seen)
        if unseen:
            log.warning("the %s set holds elements %s that no training structure has: its errors will be large "
                        "(use more data or data.split.by_group=false)", name, unseen)


def check_elements(model: ForceField, dataset: Dataset) -> None:
    """A model can only be fine-tuned on structures of its own elements."""
    unknown = sorted({int(z) for s in dataset for z in s.numbers} - set(model.elements))
    if unknown:
        raise ValueError(f"the training data holds elements {unknown} that the init_from model (elements "
                         f"{model.elements}) lacks: train a new model instead (init_from=null)")


def report(trainer: Trainer, model_path: Path, val_set: Dataset, test_set: Dataset, directory: Path) -> dict:
    """Learning curve, validation parity plots and the validation / test metrics of the saved model."""
    model, terms = trainer.ema_model, trainer.loss.terms
    single = Context(device=trainer.context.device)
    batch = trainer.config.eval_batch_size or trainer.config.batch_size
    summary = {"model": str(model_path), "best_epoch": trainer.best_epoch, "epochs_trained": trainer.epoch,
               "stopped_early": trainer.stopped_early}
    learning_curve(trainer.history, directory / "learning_curve.png")
    for name, dataset in (("validation", val_set), ("test", test_set)):
        if not len(dataset):
            summary[name] = {}
            continue
        metrics, pairs = evaluate(model, dataset, terms, trainer.collater, batch, single, trainer.loss.needs_stress,
                                  collect=name == "validation")
        summary[name] = metrics
        if pairs:
            parity(pairs["energy"].numpy(), pairs["energy_ref"].numpy(), directory / "parity_energy.png",
                   "energy - sum E_ref", "kcal/mol")
            parity(pairs["forces"].numpy(), pairs["forces_ref"].numpy(), directory / "parity_forces.png",
                   "force component", "kcal/mol/A")
        log.info("%s: %s", name, ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    return summary


def check_run_dir(context: Context) -> None:
    """Under torchrun every rank must write to (and resume from) one directory: it must be named."""
    overrides = HydraConfig.get().overrides.hydra
    if context.distributed and not any(str(o).startswith("hydra.run.dir=") for o in overrides):
        raise ValueError("with several ranks, name the run directory so that every rank uses the same one: "
                         "add hydra.run.dir=runs/mlff_train/<name>")


@hydra_command("mlff_train")
def main(cfg: DictConfig) -> None:
    weights = check_weights(OmegaConf.to_container(cfg.loss))  # bad weights fail before any data is read
    train = TrainConfig.from_dict(OmegaConf.to_container(cfg.train, resolve=True))
    context = init_from_env(train.device)
    check_run_dir(context)
    if context.is_main:
        run_dir = start_run(cfg)
    else:  # one log for the run: the other ranks report only problems
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        logging.getLogger().setLevel(logging.WARNING)
    train_set, val_set, test_set = load_splits(cfg, run_dir / "data", context)
    if context.is_main:
        warn_unseen_elements(train_set, {"validation": val_set, "test": test_set})
    if cfg.init_from:
        start = to_absolute_path(str(cfg.init_from))
        check_elements(load_model(start), train_set)
        log.info("fine-tuning %s: its architecture, weights and reference energies (the model: section is "
                 "not used)", start)

        def build():
            return load_model(start)
    else:
        structures = list(train_set)
        references = fit_reference_energies(structures) if any(s.energy is not None for s in structures) else {}
        log.info("reference energies (kcal/mol): %s", references)

        def build():
            return hydra.utils.instantiate(cfg.model, reference_energies=references)

    metadata = {"command": "mlff-train", "run_dir": str(run_dir), "loss": weights,
                "data": OmegaConf.to_container(cfg.data, resolve=True),
                "init_from": str(cfg.init_from) if cfg.init_from else None}
    members = train_ensemble(int(cfg.n_models), build, train_set, val_set, weights, train, run_dir,
                             resume=bool(cfg.resume), metadata=metadata, context=context)
    if not context.is_main:
        return
    summaries = [report(trainer, path, val_set, test_set, path.parent) for trainer, path in members]
    summary = summaries[0] if len(summaries) == 1 else {"members": summaries}
    summary["n_structures"] = {"train": len(train_set), "validation": len(val_set), "test": len(test_set)}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    log.info("done: %s", ", ".join(str(path) for _, path in members))


if __name__ == "__main__":
    main()
