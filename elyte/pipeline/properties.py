"""Properties from the pipeline's runs, each with its error, method and plot.

Thin glue: reading stage outputs (thermo CSVs, DCD segments, cosine profiles) and calling the
estimators of ``elyte.analysis``. Reported units: g/cm^3, kJ/mol, mPa s, 1e-9 m^2/s, S/m.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from elyte import units
from elyte.analysis.density import density, density_series
from elyte.analysis.statistics import Estimate, detect_equilibration
from elyte.analysis.vaporization import heat_of_vaporization
from elyte.md.stage import StageResult
from elyte.pipeline.report import PropertyResult, line_plot
from elyte.pipeline.simulate import GasRun, LiquidRun


def thermo(result: StageResult) -> pd.DataFrame:
    """All thermo rows of a stage, segments concatenated."""
    return pd.concat([pd.read_csv(p / "thermo.csv") for p in result.segments], ignore_index=True)


def equilibrated(series: np.ndarray) -> np.ndarray:
    """The part of a series after the detected equilibration time (Chodera's method)."""
    return series[detect_equilibration(series).t0:]


def density_result(run: LiquidRun, plot_dir: Path) -> tuple[PropertyResult, str]:
    """Mean NPT-production density; plots the density over both NPT stages."""
    mass = float(run.masses.sum())
    production = thermo(run.stages["npt_production"])
    estimate = density(equilibrated(production.volume_A3.to_numpy()), mass)
    series = []
    for name in ("npt_equilibration", "npt_production"):
        if name in run.stages:
            t = thermo(run.stages[name])
            series.append((name, t.time_ps.tolist(), density_series(t.volume_A3.to_numpy(), mass).tolist()))
    offset = series[0][1][-1] if len(series) == 2 else 0.0
    if len(series) == 2:  # production continues after equilibration on the time axis
        series[1] = (series[1][0], [x + offset for x in series[1][1]], series[1][2])
    name = f"density_{run.temperature:.0f}K.png"
    line_plot(plot_dir / name, series, "time (ps)", "density (g/cm^3)", f"NPT at {run.temperature:.2f} K")
    return PropertyResult("density_g_cm3", estimate, "NPT mean, equilibration detected, s.e. from g"), name


def hvap_result(run: LiquidRun, gas: GasRun) -> PropertyResult:
    """Heat of vaporization of a neat liquid (kJ/mol): gas molecule vs liquid box, + RT."""
    liquid = equilibrated(thermo(run.stages["npt_production"]).potential_kcal_mol.to_numpy())
    gas_energy = thermo(gas.stages["gas_production"]).potential_kcal_mol.to_numpy()
    estimate = heat_of_vaporization(liquid, len(run.molecules), gas_energy, run.temperature)
    kj = Estimate(estimate.value * units.KCAL_TO_KJ, estimate.error * units.KCAL_TO_KJ, "kJ/mol")
    return PropertyResult("hvap_kJ_mol", kj, "E_gas - E_liquid/N + RT")
