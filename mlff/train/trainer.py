"""The training loop: weighted losses, Adam/AdamW, learning-rate schedule, EMA weights, gradient
clipping, early stopping, a checkpoint every epoch with exact resume, and data parallelism.

Validation, model selection and the saved model use the EMA weights. The checkpoint
(``checkpoint.pt``) holds the raw and EMA weights, the optimizer, the schedule, torch's RNG states,
the data order (a ``DistributedSampler`` shuffled by seed and epoch), the epoch, the early-stopping
state with the best EMA weights and the metric history: a run resumed from it ends with weights
bit-identical to an uninterrupted run (same machine, thread count and number of ranks).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

from elyte.progress import progress
from mlff.data.batch import Collater
from mlff.model.forcefield import ForceField
from mlff.model.io import save_model
from mlff.train.distributed import (Context, all_reduce_gradients, all_reduce_sum, barrier, broadcast_parameters,
                                    current, resolve_device)
from mlff.train.losses import Metrics, WeightedLoss, check_labels, check_model_outputs, label_counts
from mlff.train.optim import EMA, LRSchedule, make_optimizer
from mlff.train.records import MetricsLog

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# settings that may change between an interrupted run and its resumption
RESUMABLE_CHANGES = {"epochs", "device", "num_workers", "eval_batch_size"}


@dataclass
class TrainConfig:
    """Optimization settings (``configs/train/default.yaml``).

    ``batch_size``: structures per optimizer step summed over all ranks; ``warmup_steps``, optimizer
    steps of linear warm-up; ``early_stopping_patience``: epochs without a lower validation loss before
    stopping (``None``: never); ``grad_clip``: maximum gradient norm (``None``: no clipping);
    ``ema_decay``: 0 makes the EMA the raw weights.
    """

    epochs: int = 100
    batch_size: int = 8
    eval_batch_size: int | None = None
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "cosine"
    warmup_steps: int = 0
    min_lr: float = 1e-5
    plateau_factor: float = 0.5
    plateau_patience: int = 5
    ema_decay: float = 0.99
    grad_clip: float | None = 10.0
    early_stopping_patience: int | None = None
    seed: int = 0
    dtype: str = "float64"
    device: str = "auto"
    num_workers: int = 0

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"train.dtype must be one of {sorted(DTYPES)}, got {self.dtype!r}")
        if not self.lr > 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"train.grad_clip must be > 0 or null, got {self.grad_clip}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @classmethod
    def from_dict(cls, data: Mapping) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown train setting(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(data))


def loss_value(metrics: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """sum_k w_k RMSE_k^2 (energy per atom): the weighted loss over a whole data set."""
    return sum(w * metrics.get(f"{k}_rmse", 0.0) ** 2 for k, w in weights.items())


def evaluate(model: ForceField, dataset: Dataset, terms: list[str], collater: Collater, batch_size: int,
             context: Context | None = None, compute_stress: bool = False, collect: bool = False
             ) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """MAE / RMSE per property of ``model`` on ``dataset`` (each rank its share, summed over ranks).

    With ``collect``, also predicted and reference energies per structure (less the model's sum of
    per-element reference energies) and forces per atom of the labelled entries (this rank's share),
    for parity plots.
    """
    context = context or Context()
    shard = Subset(dataset, list(range(context.rank, len(dataset), context.world_size)))
    metrics = Metrics(terms)
    pairs: dict[str, list[torch.Tensor]] = {"energy": [], "energy_ref": [], "forces": [], "forces_ref": []}
    was_training = model.training
    model.eval()
    dtype = next(model.parameters()).dtype
    for batch in DataLoader(shard, batch_size=batch_size, shuffle=False, collate_fn=collater):
        batch = batch.to(context.device, dtype)
        with torch.enable_grad():
            prediction = model(batch, compute_forces="forces" in terms or collect, compute_stress=compute_stress)
        metrics.update(prediction, batch)
        if collect:
            offset = reference_sum(model, batch)
            pairs["energy"].append((prediction["energy"] - offset)[batch.energy_mask].detach().cpu())
            pairs["energy_ref"].append((batch.energy - offset)[batch.energy_mask].cpu())
            pairs["forces"].append(prediction["forces"][batch.forces_mask].detach().cpu())
            pairs["forces_ref"].append(batch.forces[batch.forces_mask].cpu())
    model.train(was_training)
    all_reduce_sum(metrics.tensor(), context)
    collected = {k: torch.cat(v) if v else torch.zeros(0) for k, v in pairs.items()} if collect else {}
    return metrics.compute(), collected


def reference_sum(model: ForceField, batch) -> torch.Tensor:
    """sum_i E_ref,Z_i per structure of ``batch`` (kcal/mol) from the model's reference energies."""
    table = torch.zeros(int(batch.numbers.max()) + 1, dtype=torch.float64, device=batch.numbers.device)
    for z, energy in model.reference_energies.items():
        if z < len(table):
            table[z] = energy
    per_structure = table.new_zeros(batch.n_structures).index_add_(0, batch.batch, table[batch.numbers])
    return per_structure.to(batch.energy.dtype)


class Trainer:
    """Trains ``model`` on ``train_set`` (structures), validating its EMA on ``val_set`` every epoch.

    ``directory`` receives ``checkpoint.pt``, ``metrics.csv`` and ``tensorboard/`` (rank 0 only).
    Under ``torch.distributed`` (an initialized process group) every rank must construct the
    trainer with the same arguments; each then processes its share of every batch.
    """

    def __init__(self, model: ForceField, train_set: Dataset, val_set: Dataset, weights: Mapping[str, float],
                 config: TrainConfig, directory: str | Path, context: Context | None = None):
        self.config = config
        self.directory = Path(directory)
        self.context = context or current(resolve_device(config.device))
        self.loss = WeightedLoss(weights)
        check_model_outputs(self.loss.weights, model.charge_head is not None)
        check_labels(self.loss.weights, train_set, "training set")
        world = self.context.world_size
        if config.batch_size % world:
            raise ValueError(f"train.batch_size {config.batch_size} is not divisible by the {world} ranks")
        self.train_set, self.val_set = train_set, val_set
        self.model = model.to(self.context.device, config.torch_dtype).train()
        broadcast_parameters(self.model, self.context)
        self.ema_model = copy.deepcopy(self.model).eval()
        self.collater = Collater(model.config.cutoff, model.config.long_cutoff, config.torch_dtype,
                                 molecules="interaction_energy" in self.loss.weights)
        self.sampler = DistributedSampler(train_set, num_replicas=world, rank=self.context.rank, shuffle=True,
                                          seed=config.seed, drop_last=False)
        self.loader = DataLoader(train_set, batch_size=config.batch_size // world, sampler=self.sampler,
                                 collate_fn=self.collater, num_workers=config.num_workers)
        self.optimizer = make_optimizer(self.model.parameters(), config.optimizer, config.lr, config.weight_decay,
                                        config.betas)
        self.schedule = LRSchedule(self.optimizer, config.schedule, config.lr, config.epochs * len(self.loader),
                                   config.warmup_steps, config.min_lr, config.plateau_factor,
                                   config.plateau_patience)
        self.ema = EMA(self.model, config.ema_decay)
        self.epoch = 0
        self.best_loss = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.best_state = copy.deepcopy(self.ema.shadow)
        self.history: list[dict[str, float]] = []

    @property
    def checkpoint_path(self) -> Path:
        return self.directory / CHECKPOINT

    @property
    def stopped_early(self) -> bool:
        patience = self.config.early_stopping_patience
        return patience is not None and self.bad_epochs >= patience

    def fit(self) -> ForceField:
        """Train until ``config.epochs`` (or early stopping) from the current state; returns the model
        holding the best EMA weights (lowest validation loss)."""
        records = MetricsLog(self.directory, resume_epoch=self.epoch) if self.context.is_main else None
        try:
            while self.epoch < self.config.epochs and not self.stopped_early:
                self._run_epoch(records)
        finally:
            if records is not None:
                records.close()
        if self.stopped_early:
            log.info("early stopping after epoch %d: no improvement for %d epochs (best epoch %d)", self.epoch,
                     self.bad_epochs, self.best_epoch)
        self.ema_model.load_state_dict(self.best_state)
        return self.ema_model

    def _run_epoch(self, records: MetricsLog | None) -> None:
        self.epoch += 1
        start = time.perf_counter()
        train_metrics = self._train_epoch()
        self.ema.copy_to(self.ema_model)
        val_metrics = self.validate()
        monitored = val_metrics if len(self.val_set) else train_metrics
        val_loss = loss_value(monitored, self.loss.weights)
        self.schedule.end_epoch(val_loss)
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.best_state = copy.deepcopy(self.ema.shadow)
        else:
            self.bad_epochs += 1
        row = {"epoch": self.epoch, "lr": self.optimizer.param_groups[0]["lr"],
               "time_s": time.perf_counter() - start,
               "train/loss": loss_value(train_metrics, self.loss.weights), "val/loss": val_loss,
               **{f"train/{k}": v for k, v in train_metrics.items()},
               **{f"val/{k}": v for k, v in val_metrics.items()}}
        self.history.append(row)
        log.info("epoch %d/%d: train loss %.4g, val loss %.4g%s", self.epoch, self.config.epochs,
                 row["train/loss"], val_loss, " (best)" if self.best_epoch == self.epoch else "")
        if records is not None:
            records.write(row)
            self.save_checkpoint()
        barrier(self.context)

    def _train_epoch(self) -> dict[str, float]:
        self.sampler.set_epoch(self.epoch)
        metrics = Metrics(self.loss.terms)
        batches = self.loader
        if self.context.is_main:
            batches = progress(batches, f"epoch {self.epoch}/{self.config.epochs}", total=len(self.loader),
                               unit="batch")
        for batch in batches:
            self._step(batch.to(self.context.device), metrics)
        all_reduce_sum(metrics.tensor(), self.context)
        return metrics.compute()

    def _step(self, batch, metrics: Metrics) -> None:
        counts = label_counts(batch, self.loss.terms)
        stacked = all_reduce_sum(torch.stack(list(counts.values())), self.context)
        counts = dict(zip(counts, stacked))
        prediction = self.model(batch, compute_stress=self.loss.needs_stress)
        loss, _ = self.loss(prediction, batch, counts)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        all_reduce_gradients(self.model, self.context)
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.schedule.step()
        self.ema.update(self.model)
        metrics.update(prediction, batch)

    def validate(self) -> dict[str, float]:
        """Metrics of the EMA weights on the validation set (empty dict without one)."""
        if not len(self.val_set):
            return {}
        metrics, _ = evaluate(self.ema_model, self.val_set, self.loss.terms, self.collater, self._eval_batch_size(),
                              self.context, self.loss.needs_stress)
        return metrics

    def _eval_batch_size(self) -> int:
        return self.config.eval_batch_size or self.config.batch_size

    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "epoch": self.epoch,
            "config": dataclasses.asdict(self.config),
            "weights": dict(self.loss.weights),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "rng": rng,
            "sampler": {"seed": self.sampler.seed, "epoch": self.epoch, "world_size": self.context.world_size},
            "best": {"loss": self.best_loss, "epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
                     "ema": self.best_state},
            "history": self.history,
        }

    def save_checkpoint(self) -> Path:
        """Write the full training state to ``checkpoint.pt`` atomically (a crash never leaves half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.checkpoint_path.with_suffix(".tmp")
        torch.save(self.state_dict(), partial)
        os.replace(partial, self.checkpoint_path)
        return self.checkpoint_path

    def load_checkpoint(self, path: str | Path | None = None) -> None:
        """Restore the state :meth:`save_checkpoint` wrote; the run continues after its epoch."""
        path = Path(path or self.checkpoint_path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume (start without resume)")
        state = torch.load(path, map_location=self.context.device, weights_only=True)
        self._check_compatible(state, path)
        self.model.load_state_dict(state["model"])
        self.ema.load_state_dict(state["ema"])
        self.ema.copy_to(self.ema_model)
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng"]["cuda"]])
        self.epoch = int(state["epoch"])
        best = state["best"]
        self.best_loss, self.best_epoch, self.bad_epochs = float(best["loss"]), int(best["epoch"]), int(
            best["bad_epochs"])
        self.best_state = best["ema"]
        self.history = list(state["history"])
        log.info("resumed from %s after epoch %d (best epoch %d)", path, self.epoch, self.best_epoch)

    def _check_compatible(self, state: dict, path: Path) -> None:
        saved, now = state["config"], dataclasses.asdict(self.config)
        changed = sorted(k for k in now if k not in RESUMABLE_CHANGES and _plain(saved.get(k)) != _plain(now[k]))
        if changed:
            raise ValueError(f"{path} was written with other train settings {changed} "
                             f"({', '.join(f'{k}: {saved.get(k)} -> {now[k]}' for k in changed)}); "
                             "resume with the original settings")
        if dict(state["weights"]) != dict(self.loss.weights):
            raise ValueError(f"{path} was trained with loss weights {state['weights']}, now {self.loss.weights}")
        if state["sampler"]["world_size"] != self.context.world_size:
            raise ValueError(f"{path} was written by {state['sampler']['world_size']} ranks, this run has "
                             f"{self.context.world_size}: the data order would differ; resume with the same count")

    def save_model(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Save the best EMA weights in the model-file format (with the reference energies)."""
        model = copy.deepcopy(self.ema_model)
        model.load_state_dict(self.best_state)
        meta = {"best_epoch": self.best_epoch, "epochs_trained": self.epoch,
                "best_val_loss": self.best_loss, **(metadata or {})}
        return save_model(model.cpu(), path, meta)


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value
