"""Per-epoch metrics: one row per epoch in ``metrics.csv`` and scalars in TensorBoard event files."""

from __future__ import annotations

import csv
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter


class MetricsLog:
    """Writes epoch rows to ``<directory>/metrics.csv`` and ``<directory>/tensorboard/``.

    Columns are fixed by the first row written in this process; on resume the existing file is
    truncated to the epochs the checkpoint holds, so a resumed run has no duplicate rows.
    """

    def __init__(self, directory: str | Path, resume_epoch: int = 0):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.directory / "metrics.csv"
        self.rows = self._existing(resume_epoch)
        self.writer = SummaryWriter(log_dir=str(self.directory / "tensorboard"), purge_step=resume_epoch + 1
                                    if resume_epoch else None)

    def _existing(self, resume_epoch: int) -> list[dict]:
        if not resume_epoch or not self.csv_path.is_file():
            return []
        with self.csv_path.open() as handle:
            return [row for row in csv.DictReader(handle) if int(row["epoch"]) <= resume_epoch]

    def write(self, row: dict[str, float]) -> None:
        """Append one epoch (``row['epoch']`` is the TensorBoard step; keys ``a/b`` group the plots)."""
        self.rows.append(row)
        columns = list(dict.fromkeys(key for r in self.rows for key in r))
        with self.csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)
        step = int(row["epoch"])
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, float(value), step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
