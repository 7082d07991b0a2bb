"""Figures of a training run: learning curves and parity plots (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402


def learning_curve(history: Sequence[dict[str, float]], path: str | Path) -> Path:
    """Training and validation loss and the learning rate against the epoch (log scales)."""
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_lr) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, height_ratios=[3, 1])
    for key, label in (("train/loss", "training"), ("val/loss", "validation")):
        values = [row.get(key, np.nan) for row in history]
        ax_loss.plot(epochs, values, label=label)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("weighted loss")
    ax_loss.legend()
    ax_lr.plot(epochs, [row["lr"] for row in history], color="gray")
    ax_lr.set_yscale("log")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def parity(predicted: np.ndarray, reference: np.ndarray, path: str | Path, quantity: str, unit: str) -> Path:
    """Predicted against reference values with the y = x line and MAE / RMSE in the title."""
    predicted, reference = np.ravel(predicted), np.ravel(reference)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(reference, predicted, s=6, alpha=0.6)
    if reference.size:
        low, high = float(min(reference.min(), predicted.min())), float(max(reference.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="black", lw=0.8)
        error = predicted - reference
        ax.set_title(f"{quantity}: MAE {np.abs(error).mean():.3g}, RMSE {np.sqrt((error ** 2).mean()):.3g} {unit}")
    else:
        ax.set_title(f"{quantity}: no labelled entries")
    ax.set_xlabel(f"reference {quantity} ({unit})")
    ax.set_ylabel(f"predicted {quantity} ({unit})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
