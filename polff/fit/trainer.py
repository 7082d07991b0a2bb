"""Training loop of the parameterizer: split by molecule, AdamW with a cosine learning-rate schedule,
gradient clipping, early stopping on the validation loss, a checkpoint every epoch and exact resume.

Held-out molecules are chosen by identity (canonical SMILES, seeded): every conformer, every level
of theory and every dimer or cluster containing a held-out molecule is in the validation set,
never in a training batch. The checkpoint (``checkpoint.pt``) holds the model, optimizer, scheduler,
the shuffling generator's and torch's RNG states, the early-stopping state and the metric history,
so a run resumed from it ends with bit-identical weights to an uninterrupted run (same machine,
same thread count). The final model is the one with the lowest validation loss.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from elyte.progress import progress
from polff.fit.data import FitData
from polff.fit.losses import LOG_TARGETS, ClusterItem, FitLoss, MoleculeItem, split_outputs, targets_as_tensors
from polff.fit.targets import molecule_targets
from polff.params.graph import GraphBatch
from polff.params.model import Parameterizer, ParameterizerConfig

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Optimisation settings. ``batch_size``: molecules and clusters per step; the learning rate
    decays from ``lr`` to ``lr * min_lr_factor`` over ``epochs`` (cosine); ``patience``: epochs
    without a lower validation loss before stopping; ``max_time_s``: stop (resumable) after an
    epoch once this much wall time has passed; ``keep_in_training``: molecules (names or SMILES as in
    the stores) that are never held out, for species too few to spare (Li+ in a handful of ions);
    ``keep``: the weights returned, ``best`` (lowest validation loss) or ``last`` (the end of the
    schedule, for when the validation loss is too noisy to select by); ``log_errors``: per-atom
    targets (``alpha``, ``c6``) whose loss is the squared log ratio rather than the absolute error;
    ``oversample``: molecule names or SMILES -> visits per epoch of their training entries (a bare
    cation has one target entry against hundreds of its dimers)."""

    epochs: int = 100
    batch_size: int = 8
    lr: float = 1e-3
    min_lr_factor: float = 0.05
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    patience: int = 15
    val_fraction: float = 0.1
    seed: int = 0
    split_seed: int = 0
    keep_in_training: tuple[str, ...] = ()  # molecule names or SMILES never held out (e.g. the few ions)
    dtype: str = "float32"
    max_time_s: float | None = None
    keep: str = "best"
    log_errors: tuple[str, ...] = ()
    oversample: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.keep not in ("best", "last"):
            raise ValueError(f"train.keep must be 'best' or 'last', got {self.keep!r}")
        self.log_errors = tuple(self.log_errors)
        if not set(self.log_errors) <= set(LOG_TARGETS):
            raise ValueError(f"train.log_errors may name {list(LOG_TARGETS)}, got {list(self.log_errors)}")
        self.oversample = {str(k): int(v) for k, v in dict(self.oversample or {}).items()}
        if any(v < 1 for v in self.oversample.values()):
            raise ValueError(f"train.oversample counts must be >= 1, got {self.oversample}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"train.val_fraction must be in [0, 1), got {self.val_fraction}")
        self.keep_in_training = tuple(self.keep_in_training)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"train.dtype must be float32 or float64, got {self.dtype!r}")
        for name in ("lr", "grad_clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"train.{name} must be > 0, got {getattr(self, name)}")


def split_identities(identities: list[str], val_fraction: float, seed: int) -> set[str]:
    """The held-out identities: a seeded ``val_fraction`` of the distinct ones (at least one when
    the fraction is positive and there are two or more)."""
    unique = sorted(set(identities))
    if val_fraction <= 0 or len(unique) < 2:
        return set()
    n_val = min(len(unique) - 1, max(1, round(val_fraction * len(unique))))
    order = np.random.default_rng(seed).permutation(len(unique))
    return {unique[i] for i in order[:n_val]}


def _molecule_item(data: FitData, index: int) -> MoleculeItem:
    mol = data.molecules[index]
    graph = data.graphs[mol.smiles]

    def t(a):
        return torch.as_tensor(np.asarray(a, float), dtype=torch.float64)

    return MoleculeItem(mol.key, mol.smiles, GraphBatch.from_graphs([graph]),
                        targets_as_tensors(molecule_targets(mol, graph)), t(mol.positions), t(mol.energies),
                        None if mol.forces is None else t(mol.forces))


def cluster_item(data: FitData, index: int) -> ClusterItem:
    """The ``index``-th cluster of ``data`` as the loss and report functions take it."""
    c = data.clusters[index]
    return ClusterItem(f"{c.name} [{c.method}] #{index}", c.smiles,
                       GraphBatch.from_graphs([data.graphs[s] for s in c.smiles]),
                       torch.as_tensor(c.positions, dtype=torch.float64),
                       torch.tensor(c.interaction_energy, dtype=torch.float64))


@dataclass
class Split:
    """Training and validation items."""

    train_molecules: list[MoleculeItem]
    val_molecules: list[MoleculeItem]
    train_clusters: list[ClusterItem]
    val_clusters: list[ClusterItem]


def make_split(data: FitData, val_fraction: float, seed: int, keep_in_training: Sequence[str] = ()) -> Split:
    """Items split by molecule identity (see the module docstring); molecules named (or with the
    SMILES) in ``keep_in_training`` are never held out."""
    identity = {s: data.identity(s) for s in data.graphs}
    present = {m.smiles for m in data.molecules} | {s for c in data.clusters for s in c.smiles}
    kept = {identity[m.smiles] for m in data.molecules if m.name in keep_in_training or m.smiles in keep_in_training}
    kept |= {identity[s] for s in present if s in keep_in_training}
    unknown = sorted(set(keep_in_training) - {m.name for m in data.molecules} - present)
    if unknown:
        raise ValueError(f"train.keep_in_training names {unknown}, which are not molecules of the data (names or "
                         "SMILES as the label stores write them)")
    held_out = split_identities([identity[s] for s in present if identity[s] not in kept], val_fraction, seed)
    mols = [_molecule_item(data, i) for i in range(len(data.molecules))]
    clusters = [cluster_item(data, i) for i in range(len(data.clusters))]

    def held(smiles: list[str]) -> bool:
        return any(identity[s] in held_out for s in smiles)

    return Split([m for m in mols if not held([m.smiles])], [m for m in mols if held([m.smiles])],
                 [c for c in clusters if not held(c.smiles)], [c for c in clusters if held(c.smiles)])


def forward(model: Parameterizer, molecules: list[MoleculeItem], clusters: list[ClusterItem]
            ) -> tuple[list[tuple[MoleculeItem, dict]], list[tuple[ClusterItem, list[dict]]]]:
    """One model pass over every distinct molecule the items need; outputs handed to each item."""
    graphs = {}
    for item in molecules:
        graphs.setdefault(item.smiles, item.batch.graphs[0])
    for item in clusters:
        for smiles, graph in zip(item.smiles, item.batch.graphs):
            graphs.setdefault(smiles, graph)
    batch = GraphBatch.from_graphs(list(graphs.values()))
    per = dict(zip(graphs, split_outputs(batch, model(batch))))
    return [(m, per[m.smiles]) for m in molecules], [(c, [per[s] for s in c.smiles]) for c in clusters]


class Trainer:
    """Train one parameterizer on ``split`` with loss ``weights`` into ``out_dir``."""

    def __init__(self, split: Split, weights: dict[str, float], config: TrainConfig,
                 model_config: ParameterizerConfig | None = None, out_dir: str | Path = "."):
        self.split, self.config = split, config
        self.model_config = model_config or ParameterizerConfig()
        self.out_dir = Path(out_dir)
        self.loss = FitLoss(weights, log_errors=config.log_errors)
        if not split.train_molecules and not split.train_clusters:
            raise ValueError("no training data left after the split; lower train.val_fraction or add molecules")
        self.skipped_terms = self.loss.drop_missing(split.train_molecules, split.train_clusters)
        self.visited = self._visited_molecules()
        if not self.loss.terms:
            raise ValueError(f"no loss term has both a positive weight and training labels (weights {weights})")
        torch.manual_seed(config.seed)
        self.model = Parameterizer(self.model_config).to(getattr(torch, config.dtype))
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.epochs,
                                                                    eta_min=config.lr * config.min_lr_factor)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.epoch = 0
        self.best = {"loss": float("inf"), "epoch": 0, "state": copy.deepcopy(self.model.state_dict()), "bad": 0}
        self.history: list[dict[str, float]] = []

    # -- one epoch -------------------------------------------------------------------------------
    def _batches(self) -> list[tuple[list[MoleculeItem], list[ClusterItem]]]:
        mols, clusters = self.visited, self.split.train_clusters
        order = torch.randperm(len(mols) + len(clusters), generator=self.generator).tolist()
        size = self.config.batch_size
        return [([mols[i] for i in chunk if i < len(mols)], [clusters[i - len(mols)] for i in chunk if i >= len(mols)])
                for chunk in (order[k:k + size] for k in range(0, len(order), size))]

    def _visited_molecules(self) -> list[MoleculeItem]:
        """The training molecules, each as often per epoch as ``oversample`` says (default once)."""
        wanted = self.config.oversample
        names = {m.key.rsplit(" [", 1)[0] for m in self.split.train_molecules}
        names |= {m.smiles for m in self.split.train_molecules}
        if unknown := sorted(set(wanted) - names):
            raise ValueError(f"train.oversample names {unknown}, which are not training molecules (names or "
                             "SMILES as in the stores; a held-out molecule cannot be oversampled)")
        return [m for m in self.split.train_molecules
                for _ in range(wanted.get(m.key.rsplit(" [", 1)[0], wanted.get(m.smiles, 1)))]

    def train_epoch(self) -> dict[str, float]:
        """One pass over the training items; each term's mean over the items that have it and
        'total', their weighted sum (the model changes during the epoch: a running average)."""
        self.model.train()
        sums: dict[str, list[float]] = {}
        for mols, clusters in self._batches():
            self.optimizer.zero_grad()
            terms = self.loss(*forward(self.model, mols, clusters), create_graph=True)
            total = terms.pop("total")[0]
            if not total.requires_grad:  # no item of this batch has labels for an active term
                continue
            if not torch.isfinite(total):
                names = [m.key for m in mols] + [c.key for c in clusters]
                raise FloatingPointError(f"epoch {self.epoch + 1}: the loss is {float(total)} on {names}; lower "
                                         "train.lr, check these molecules' labels, or restart from the checkpoint")
            total.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.optimizer.step()
            for name, (value, count) in terms.items():
                acc = sums.setdefault(name, [0.0, 0])
                acc[0] += float(value.detach())
                acc[1] += count
        return self._with_total({k: v[0] / v[1] for k, v in sums.items()})

    def _with_total(self, means: dict[str, float]) -> dict[str, float]:
        return means | {"total": sum(self.loss.weights[k] * v for k, v in means.items())}

    def evaluate(self, molecules: list[MoleculeItem], clusters: list[ClusterItem]) -> dict[str, float]:
        """Mean of each term over ``molecules`` and ``clusters`` with the current weights; 'total'
        is the weighted sum of the term means."""
        if not molecules and not clusters:
            return {}
        self.model.eval()
        with torch.no_grad():
            mol_out, cluster_out = forward(self.model, molecules, clusters)
        terms = self.loss(mol_out, cluster_out, create_graph=False)
        if len(terms) == 1:  # only 'total': no item has labels for any active term
            return {}
        return self._with_total({k: float(v.detach()) / n for k, (v, n) in terms.items() if k != "total"})

    # -- checkpoints -----------------------------------------------------------------------------
    def _settings(self) -> dict:
        """What a checkpoint must agree on to be resumed (not the time budget, nor which weights are kept)."""
        config = dataclasses.asdict(self.config)
        config.pop("max_time_s")
        config.pop("keep")
        data = {"training": sorted(m.key for m in self.split.train_molecules),
                "held_out": sorted(m.key for m in self.split.val_molecules),
                "clusters": [len(self.split.train_clusters), len(self.split.val_clusters)]}
        return {"train": config, "model": dataclasses.asdict(self.model_config), "weights": self.loss.weights,
                "data": data}

    def save_checkpoint(self) -> Path:
        path = self.out_dir / CHECKPOINT
        state = {
            "settings": self._settings(), "epoch": self.epoch, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(), "torch_rng": torch.get_rng_state(),
            "best": self.best, "history": self.history,
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(state, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)  # never a half-written checkpoint
        return path

    def load_checkpoint(self, path: str | Path) -> None:
        """Continue from ``path`` (written by a run with the same settings)."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state["settings"] != self._settings():
            differ = sorted(k for k in state["settings"] if state["settings"][k] != self._settings()[k])
            raise ValueError(f"{path} was written with other {differ} settings; resume with the run's own "
                             "config (its config.yaml) or start a new run directory")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.best, self.history = state["epoch"], state["best"], state["history"]
        log.info("resumed from %s after epoch %d (best validation loss %.6g at epoch %d)", path, self.epoch,
                 self.best["loss"], self.best["epoch"])

    # -- the loop --------------------------------------------------------------------------------
    def fit(self, resume: bool = False, stop_after: int | None = None) -> Parameterizer:
        """Train until ``config.epochs``, early stopping, the time budget or ``stop_after`` epochs
        (an interruption: the checkpoint stays resumable). Returns the best or the last model (``config.keep``)."""
        checkpoint = self.out_dir / CHECKPOINT
        if resume and checkpoint.is_file():
            self.load_checkpoint(checkpoint)
        elif resume:
            log.info("no %s to resume from: starting a new run", checkpoint)
        start = time.monotonic()
        epochs = range(self.epoch + 1, self.config.epochs + 1) if self.best["bad"] < self.config.patience else range(0)
        for epoch in progress(epochs, desc="polff-train", total=len(epochs), unit="epoch"):
            row = self._epoch(epoch)
            log.info("epoch %d: train %.6g, val %.6g, lr %.3g%s", epoch, row["train_total"],
                     row.get("val_total", float("nan")), row["lr"], " (best)" if self.best["epoch"] == epoch else "")
            if self.best["bad"] >= self.config.patience:
                log.info("early stop: no lower validation loss for %d epochs", self.config.patience)
                break
            if stop_after is not None and epoch >= stop_after:
                break
            if self.config.max_time_s is not None and time.monotonic() - start > self.config.max_time_s:
                log.info("time budget of %g s used after epoch %d; resume with resume=true", self.config.max_time_s,
                         epoch)
                break
        kept = Parameterizer(self.model_config).to(getattr(torch, self.config.dtype))
        kept.load_state_dict(self.best["state"] if self.config.keep == "best" else self.model.state_dict())
        return kept.eval()

    def _epoch(self, epoch: int) -> dict[str, float]:
        tic = time.monotonic()
        lr = self.optimizer.param_groups[0]["lr"]
        train = self.train_epoch()
        val = self.evaluate(self.split.val_molecules, self.split.val_clusters)
        self.scheduler.step()
        self.epoch = epoch
        monitored = val.get("total", train["total"])  # no validation set: the training loss decides
        if monitored < self.best["loss"]:
            self.best = {"loss": monitored, "epoch": epoch, "state": copy.deepcopy(self.model.state_dict()), "bad": 0}
        else:
            self.best["bad"] += 1
        row = {"epoch": epoch, "lr": lr, "seconds": time.monotonic() - tic, "skipped": len(self.loss.skipped)}
        if self.loss.skipped:
            log.warning("epoch %d: %d evaluations left out (polarization catastrophe at the current parameters), "
                        "e.g. %s", epoch, len(self.loss.skipped), sorted(set(self.loss.skipped))[:5])
            self.loss.skipped.clear()
        row |= {f"train_{k}": v for k, v in train.items()} | {f"val_{k}": v for k, v in val.items()}
        self.history.append(row)
        self.save_checkpoint()
        return row
