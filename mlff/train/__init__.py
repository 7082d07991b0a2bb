"""mlff training: weighted losses and metrics, the trainer (EMA, schedules, checkpoints with exact
resume, data parallelism under torchrun), ensembles and committees. See docs/mlff_training.md."""

from mlff.train.ensemble import Committee, train_ensemble
from mlff.train.losses import Metrics, WeightedLoss, check_labels, check_weights
from mlff.train.trainer import Trainer, TrainConfig, evaluate

__all__ = ["Committee", "Metrics", "TrainConfig", "Trainer", "WeightedLoss", "check_labels", "check_weights",
           "evaluate", "train_ensemble"]
