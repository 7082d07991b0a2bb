"""Optimizer, learning-rate schedule and exponential moving average (EMA) of the weights.

Every object here has ``state_dict`` / ``load_state_dict`` so a checkpoint restores it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
SCHEDULES = ("constant", "cosine", "plateau")


def make_optimizer(parameters: Iterable[nn.Parameter], name: str, lr: float, weight_decay: float,
                   betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """Adam (L2 penalty in the gradient) or AdamW (decoupled weight decay)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"train.optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name]([p for p in parameters if p.requires_grad], lr=lr, weight_decay=weight_decay,
                            betas=tuple(betas))


class LRSchedule:
    """Learning rate = lr * warm-up(step) * decay, set on the optimizer before every step.

    Warm-up rises linearly from lr / warmup_steps to lr over the first ``warmup_steps`` optimizer steps.
    ``cosine`` decays from lr to ``min_lr`` over ``total_steps``; ``plateau`` multiplies by ``factor``
    when the validation loss has not improved by a relative ``threshold`` for ``patience`` epochs
    (never below ``min_lr``); ``constant`` keeps lr.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, kind: str, lr: float, total_steps: int,
                 warmup_steps: int = 0, min_lr: float = 0.0, factor: float = 0.5, patience: int = 5,
                 threshold: float = 1e-4):
        if kind not in SCHEDULES:
            raise ValueError(f"train.schedule must be one of {SCHEDULES}, got {kind!r}")
        if not 0 < factor < 1:
            raise ValueError(f"train.plateau_factor must lie in (0, 1), got {factor}")
        self.optimizer, self.kind, self.lr, self.min_lr = optimizer, kind, lr, min_lr
        self.total_steps, self.warmup_steps = max(1, total_steps), max(0, warmup_steps)
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.step_count = 0
        self.plateau_scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0
        self._apply()

    def current(self) -> float:
        warm = min(1.0, (self.step_count + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if self.kind == "cosine":
            progress = min(1.0, self.step_count / self.total_steps)
            decayed = self.min_lr + (self.lr - self.min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
        elif self.kind == "plateau":
            decayed = max(self.min_lr, self.lr * self.plateau_scale)
        else:
            decayed = self.lr
        return warm * decayed

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.current()

    def step(self) -> None:
        """After an optimizer step: advance and set the next learning rate."""
        self.step_count += 1
        self._apply()

    def end_epoch(self, validation_loss: float) -> None:
        """Plateau bookkeeping on the epoch's validation loss (no effect for other schedules)."""
        if self.kind != "plateau":
            return
        if validation_loss < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = validation_loss, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > self.patience:
                self.plateau_scale *= self.factor
                self.bad_epochs = 0
        self._apply()

    def state_dict(self) -> dict:
        return {"step_count": self.step_count, "plateau_scale": self.plateau_scale, "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.step_count = int(state["step_count"])
        self.plateau_scale = float(state["plateau_scale"])
        self.best = float(state["best"])
        self.bad_epochs = int(state["bad_epochs"])
        self._apply()


class EMA:
    """Exponential moving average of a model's floating-point parameters and buffers.

    After update n: ema = d ema + (1 - d) w with d = min(decay, (1 + n) / (10 + n)), so early
    averages are not dominated by the random initial weights. ``decay = 0`` tracks the raw weights.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0 <= decay < 1:
            raise ValueError(f"train.ema_decay must lie in [0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for key, value in model.state_dict().items():
            if value.is_floating_point():
                self.shadow[key].mul_(d).add_(value.detach(), alpha=1 - d)
            else:
                self.shadow[key].copy_(value)

    def copy_to(self, model: nn.Module) -> None:
        """Load the averaged weights into ``model`` (same architecture)."""
        model.load_state_dict(self.shadow)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
        self.shadow = {k: v.clone() for k, v in state["shadow"].items()}
