"""Screening many formulations: a Hydra callback that, when a multirun (``elyte-predict -m ...``) ends,
gathers every job's ``results.json`` into ``summary.csv`` and ``summary.md`` in the sweep directory.

Jobs run through Hydra's launchers: joblib on one machine (the default here), submitit for SLURM
clusters (``pip install hydra-submitit-launcher``, then ``hydra/launcher=submitit_slurm``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from elyte.runs import FAILED
from elyte.units import KJ_TO_KCAL

log = logging.getLogger(__name__)


def collect(sweep_dir: Path) -> pd.DataFrame:
    """One row per (job, temperature, property) from every ``results.json`` under ``sweep_dir``."""
    rows = []
    for path in sorted(sweep_dir.glob("*/results.json")):
        results = json.loads(path.read_text())
        for block in results["temperatures"]:
            for p in block["properties"]:
                rows.append({"job": path.parent.name, "formulation": results["formulation"],
                             "forcefield": results["forcefield"], **p})
    return pd.DataFrame(rows)


def write_summary(sweep_dir: Path) -> pd.DataFrame:
    """Write ``summary.csv`` (long form) and ``summary.md`` (one row per formulation and temperature)."""
    table = collect(sweep_dir)
    table.to_csv(sweep_dir / "summary.csv", index=False)
    lines = [f"# Screening summary: {sweep_dir.name}", ""]
    if table.empty:
        lines.append("No finished job wrote results.json.")
    else:
        table["cell"] = [f"{v:.4g} +/- {e:.2g}" for v, e in zip(table.value, table.error)]
        wide = table.pivot_table(index=["formulation", "temperature_K", "forcefield"], columns="property",
                                 values="cell", aggfunc="first").reset_index()
        lines.append("| " + " | ".join(map(str, wide.columns)) + " |")
        lines.append("|" + "---|" * len(wide.columns))
        lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in wide.itertuples(index=False)]
        lines += experiment_errors(table)
    lines += failures(sweep_dir)
    (sweep_dir / "summary.md").write_text("\n".join(lines) + "\n")
    return table


def failures(sweep_dir: Path) -> list[str]:
    """Markdown lines naming the jobs that failed (``failed.txt`` in their run directory) and why."""
    found = sorted(sweep_dir.glob(f"*/{FAILED}"))
    if not found:
        return []
    lines = ["", "## Failed jobs (rerun the same command: finished stages are kept)", ""]
    return lines + [f"- `{path.parent.name}`: {path.read_text().strip()}" for path in found]


def experiment_errors(table: pd.DataFrame) -> list[str]:
    """Markdown lines: per property, the errors of the predictions that have an experimental value
    (reported, never fitted): count, mean signed and mean absolute error, mean absolute relative error."""
    known = table[table.experimental.notna()] if "experimental" in table else table.iloc[:0]
    if known.empty:
        return []
    lines = ["", "## Errors against experiment (zero-shot; experiment never used in any parameter)", "",
             "| property | unit | liquids | mean error | MAE | mean abs. relative error (%) |", "|---|---|---|---|---|---|"]
    for name, group in known.groupby("property"):
        error = group.value - group.experimental.astype(float)
        unit = group.unit.iloc[0]
        lines.append(f"| {name} | {unit} | {len(group)} | {error.mean():+.3g} | {error.abs().mean():.3g} | "
                     f"{group.relative_error_pct.astype(float).abs().mean():.3g} |")
        if name == "hvap_kJ_mol":
            lines.append(f"| {name} (kcal/mol) | kcal/mol | {len(group)} | {error.mean() * KJ_TO_KCAL:+.3g} | "
                         f"{error.abs().mean() * KJ_TO_KCAL:.3g} | |")
    return lines


class SweepSummary(Callback):
    """Hydra callback: summarize the sweep when the multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = write_summary(sweep_dir)
        log.info("screening summary of %d jobs: %s", table["job"].nunique() if not table.empty else 0,
                 sweep_dir / "summary.md")
