"""One training run end to end: split, train one model per seed (an ensemble when several), and write
every output (checkpoint, metrics.csv, loss_curve.png, model file, validation summary)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from polff.fit.data import FitData
from polff.fit.report import cluster_rows, plot_losses, validation_rows, write_metrics, write_validation
from polff.fit.trainer import TrainConfig, Trainer, make_split
from polff.params.files import save_model
from polff.params.model import ParameterizerConfig
from polff.params.domain import environments_of

log = logging.getLogger(__name__)


def train_models(data: FitData, weights: dict[str, float], config: TrainConfig,
                 model_config: ParameterizerConfig | None = None, out_dir: str | Path = ".", n_models: int = 1,
                 resume: bool = False, metadata: dict | None = None) -> list[Path]:
    """Train ``n_models`` members (seeds ``config.seed + k``) on the same split; each member writes
    into ``out_dir`` (one model) or ``out_dir/member_<k>``. Returns the model files."""
    if n_models < 1:
        raise ValueError(f"n_models must be >= 1, got {n_models}")
    out_dir = Path(out_dir)
    split = make_split(data, config.val_fraction, config.split_seed, config.keep_in_training)
    log.info("split by molecule: %d training and %d held-out molecule entries, %d / %d clusters",
             len(split.train_molecules), len(split.val_molecules), len(split.train_clusters), len(split.val_clusters))
    paths = []
    for k in range(n_models):
        member_dir = out_dir if n_models == 1 else out_dir / f"member_{k}"
        member = dataclasses.replace(config, seed=config.seed + k)
        trainer = Trainer(split, weights, member, model_config, member_dir)
        model = trainer.fit(resume=resume)
        write_metrics(trainer.history, member_dir / "metrics.csv")
        plot_losses(trainer.history, member_dir / "loss_curve.png")
        summary = write_validation(validation_rows(model, split.val_molecules), member_dir,
                                   cluster_rows(model, split.val_clusters))
        kept_epoch = trainer.best["epoch"] if member.keep == "best" else trainer.epoch
        info = {"best_epoch": trainer.best["epoch"], "best_validation_loss": trainer.best["loss"], "kept_epoch": kept_epoch,
                "epochs_run": trainer.epoch, "loss_weights": trainer.loss.weights,
                "loss_terms_used": sorted(trainer.loss.terms), "loss_terms_skipped": trainer.skipped_terms,
                "train": dataclasses.asdict(member), "held_out": [m.key for m in split.val_molecules],
                "training_molecules": len(split.train_molecules),
                "atom_environments": sorted(environments_of(m.smiles for m in split.train_molecules))}
        paths.append(save_model(model, member_dir / "model.pt", metadata=(metadata or {}) | info))
        log.info("model %s (epoch %d, the %s one); held-out mean errors %s, interaction RMSE %s kcal/mol", paths[-1],
                 kept_epoch, member.keep, summary["mean"], summary.get("interaction_rmse_kcal_mol"))
    return paths
