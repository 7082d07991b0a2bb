"""The prediction report: results.json, properties.csv, report.md and its PNG plots.

Each property is a row: temperature (K), property, value, error (one standard error), unit, method,
and, for pure liquids found in the reference table, the experimental value and the relative error.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from elyte.analysis.statistics import Estimate  # noqa: E402


@dataclass
class PropertyResult:
    name: str  # e.g. "density_g_cm3"
    estimate: Estimate
    method: str
    experimental: float | None = None
    experimental_source: str = ""

    @property
    def relative_error_pct(self) -> float | None:
        if self.experimental in (None, 0.0):
            return None
        return 100.0 * (self.estimate.value - self.experimental) / self.experimental

    def row(self, temperature: float) -> dict:
        return {"temperature_K": temperature, "property": self.name, "value": self.estimate.value,
                "error": self.estimate.error, "unit": self.estimate.unit, "method": self.method,
                "experimental": self.experimental, "relative_error_pct": self.relative_error_pct,
                "experimental_source": self.experimental_source}


@dataclass
class TemperatureResult:
    temperature: float
    properties: list[PropertyResult] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_ns_per_day: dict[str, float] = field(default_factory=dict)
    plots: list[tuple[str, str]] = field(default_factory=list)  # (caption, file name)
    notes: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)  # JSON-ready extras (e.g. shell compositions)


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.{digits}g}"


def write_report(directory: Path, header: dict, results: list[TemperatureResult]) -> None:
    """Write results.json, properties.csv and report.md into ``directory``."""
    rows = [p.row(r.temperature) for r in results for p in r.properties]
    payload = {**header, "temperatures": [
        {"temperature_K": r.temperature, "properties": [p.row(r.temperature) for p in r.properties],
         "stage_seconds": r.stage_seconds, "stage_ns_per_day": r.stage_ns_per_day, "notes": r.notes,
         "details": r.details} for r in results]}
    (directory / "results.json").write_text(json.dumps(payload, indent=2, default=float))
    with open(directory / "properties.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["temperature_K", "property"])
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# {header['formulation']}: predicted properties", "",
             f"Force field: {header['forcefield']}. Protocol: {header['protocol']}. "
             f"Box: {header['n_atoms']} atoms ({header['composition']}). Zero-shot: no experimental value "
             "enters any parameter; experimental values are shown only to report the error.", ""]
    for r in results:
        lines += [f"## {r.temperature:.2f} K", "",
                  "| property | value | error (1 s.e.) | unit | method | experiment | error % |",
                  "|---|---|---|---|---|---|---|"]
        for p in r.properties:
            lines.append(f"| {p.name} | {_fmt(p.estimate.value)} | {_fmt(p.estimate.error, 2)} | {p.estimate.unit} | "
                         f"{p.method} | {_fmt(p.experimental)} | {_fmt(p.relative_error_pct, 3)} |")
        lines += ["", "Wall time per stage: " + ", ".join(
            f"{k} {v:.1f} s" + (f" ({r.stage_ns_per_day[k]:.2f} ns/day)" if r.stage_ns_per_day.get(k) else "")
            for k, v in r.stage_seconds.items()), ""]
        lines += [f"- {note}" for note in r.notes] + ([""] if r.notes else [])
        for caption, name in r.plots:
            lines += [f"![{caption}]({name})", ""]
    (directory / "report.md").write_text("\n".join(lines) + "\n")


def line_plot(path: Path, series: list[tuple[str, list, list]], xlabel: str, ylabel: str,
              title: str = "", fits: list[tuple[str, list, list]] | None = None) -> None:
    """A simple line plot: ``series`` and optional dashed ``fits`` of (label, x, y)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, x, y in series:
        ax.plot(x, y, lw=1.0, label=label)
    for label, x, y in fits or []:
        ax.plot(x, y, "--", lw=1.0, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(series) + len(fits or []) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
