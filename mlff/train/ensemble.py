"""Ensembles: N models trained from different seeds, and a committee that averages them.

The spread (population standard deviation over members) of energies and forces estimates the
model uncertainty of a prediction; units as the members' (kcal/mol, kcal/mol/A).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from mlff.data.batch import Batch
from mlff.model.forcefield import ForceField
from mlff.model.io import load_model
from mlff.train.distributed import Context
from mlff.train.trainer import Trainer, TrainConfig

log = logging.getLogger(__name__)

MODEL_FILE = "model.pt"


def train_ensemble(n_models: int, build: Callable[[], ForceField], train_set: Dataset, val_set: Dataset,
                   weights: Mapping[str, float], config: TrainConfig, directory: str | Path, resume: bool = False,
                   metadata: dict | None = None, context: Context | None = None
                   ) -> list[tuple[Trainer, Path]]:
    """Train ``n_models`` members one after the other, member k with seed ``config.seed + k`` (weights
    initialized by ``build`` after seeding, data order from the seed) in ``directory/member_<k>/``
    (just ``directory`` for one model). Each member saves its best EMA weights to ``model.pt``.
    With ``resume``, every member with a checkpoint continues from it (a finished member only
    rewrites its model file). Returns (trainer, model file) per member."""
    if n_models < 1:
        raise ValueError(f"n_models must be >= 1, got {n_models}")
    directory = Path(directory)
    results = []
    for k in range(n_models):
        member_dir = directory if n_models == 1 else directory / f"member_{k}"
        member_config = dataclasses.replace(config, seed=config.seed + k)
        torch.manual_seed(member_config.seed)
        trainer = Trainer(build(), train_set, val_set, weights, member_config, member_dir, context)
        if resume and trainer.checkpoint_path.is_file():
            trainer.load_checkpoint()
        trainer.fit()
        path = member_dir / MODEL_FILE
        if trainer.context.is_main:
            trainer.save_model(path, {**(metadata or {}), "seed": member_config.seed, "member": k})
            log.info("member %d/%d (seed %d): best epoch %d -> %s", k + 1, n_models, member_config.seed,
                     trainer.best_epoch, path)
        results.append((trainer, path))
    return results


class Committee(nn.Module):
    """Mean and spread of the members' energies [B], forces [N, 3] (and stress [B, 3, 3])."""

    def __init__(self, members: Sequence[ForceField]):
        super().__init__()
        if not members:
            raise ValueError("a committee needs at least one model")
        first = members[0]
        for k, member in enumerate(members[1:], start=1):
            if (member.elements != first.elements or member.config.cutoff != first.config.cutoff
                    or member.config.long_cutoff != first.config.long_cutoff):
                raise ValueError(f"member {k} has elements / cutoffs {member.elements}, {member.config.cutoff}, "
                                 f"{member.config.long_cutoff} A, unlike member 0 ({first.elements}, "
                                 f"{first.config.cutoff}, {first.config.long_cutoff} A): use models of one ensemble")
        self.members = nn.ModuleList(members).eval()

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], map_location: str | torch.device = "cpu") -> Committee:
        """Load every model file (``mlff.model.io`` format)."""
        return cls([load_model(p, map_location) for p in paths])

    @property
    def config(self):
        """The first member's config (cutoffs for collating batches)."""
        return self.members[0].config

    def forward(self, batch: Batch, compute_stress: bool = False) -> dict[str, torch.Tensor]:
        """``energy`` / ``forces`` (/ ``stress``): member means; ``<name>_std``: population standard
        deviation over members; ``energies``: every member's energies [M, B]."""
        outputs = [member(batch, compute_stress=compute_stress, create_graph=False) for member in self.members]
        result = {}
        for name in ("energy", "forces", *(["stress"] if compute_stress else [])):
            stacked = torch.stack([o[name].detach() for o in outputs])
            result[name] = stacked.mean(dim=0)
            result[f"{name}_std"] = stacked.std(dim=0, correction=0)
            if name == "energy":
                result["energies"] = stacked
        return result
