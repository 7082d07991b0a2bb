"""Formulation -> properties: the runs of the protocol at each temperature, then the analysis and the
report. Re-running with the same run directory skips every finished stage (resume after a kill)."""

from __future__ import annotations

import logging
from pathlib import Path

from elyte.formulation import Formulation, compose
from elyte.pipeline.properties import density_result, hvap_result, solvation_result, transport_results, viscosity_result
from elyte.pipeline.protocol import Protocol
from elyte.pipeline.reference import experimental
from elyte.pipeline.report import TemperatureResult, write_report
from elyte.pipeline.simulate import ForceField, run_gas, run_liquid

log = logging.getLogger(__name__)


def _attach_experiment(result: TemperatureResult, smiles: str) -> None:
    reference = experimental(smiles, result.temperature)
    for p in result.properties:
        if p.name in reference:
            p.experimental, p.experimental_source = reference[p.name]["value"], reference[p.name]["source"]


def _analyse(result: TemperatureResult, what: str, analysis) -> None:
    """Run one analysis; a failure (e.g. too short a run for a diffusive window) becomes a note in the
    report and a warning in the log instead of losing everything else."""
    try:
        analysis()
    except ValueError as err:
        log.warning("%.2f K: %s not computed: %s", result.temperature, what, err)
        result.notes.append(f"{what} not computed: {err}")


def _viscosity(result: TemperatureResult, liquid, rho) -> None:
    if "nemd" in liquid.stages and rho is not None:
        result.properties.append(viscosity_result(liquid, rho))


def _transport(result: TemperatureResult, liquid, run_dir: Path) -> None:
    if "nvt_transport" not in liquid.stages:
        return
    viscosity = next((p.estimate for p in result.properties if p.name == "viscosity_mPa_s"), None)
    props, notes, plots = transport_results(liquid, run_dir, viscosity)
    result.properties += props
    result.notes += notes
    result.plots += plots


def _solvation(result: TemperatureResult, liquid, run_dir: Path) -> None:
    if "nvt_transport" not in liquid.stages:
        return
    props, details, plots = solvation_result(liquid, run_dir)
    result.properties += props
    result.details.update(details)
    result.plots += plots


def predict(formulation: Formulation, forcefield: ForceField, protocol: Protocol, run_dir: Path, seed: int = 1,
            density_scale: float = 0.9, platform: str = "auto", threads: int | None = None) -> list[TemperatureResult]:
    """Run and analyse ``formulation`` at each of its temperatures; write the report to ``run_dir``."""
    composition = compose(formulation)
    pure = len(formulation.solvents) == 1 and not formulation.salts
    results = []
    for temperature in formulation.temperatures:
        directory = run_dir / f"T{temperature:.2f}K"
        liquid = run_liquid(forcefield, protocol, composition, temperature, formulation.pressure_bar, directory,
                            seed, density_scale, platform, threads)
        result = TemperatureResult(temperature)
        for name, stage in liquid.stages.items():
            result.stage_seconds[name] = stage.wall_seconds
            if stage.steps_per_second:
                result.stage_ns_per_day[name] = stage.steps_per_second * protocol.timestep * 86400e-6
        rho = None
        if "npt_production" in liquid.stages:
            prop, plot = density_result(liquid, run_dir)
            rho = prop.estimate
            result.properties.append(prop)
            result.plots.append(("density", plot))
        _analyse(result, "viscosity", lambda: _viscosity(result, liquid, rho))
        _analyse(result, "transport", lambda: _transport(result, liquid, run_dir))
        _analyse(result, "solvation", lambda: _solvation(result, liquid, run_dir))
        if pure and "npt_production" in liquid.stages and protocol.gas_stages(temperature):
            solvent = formulation.solvents[0][0]
            gas = run_gas(forcefield, protocol, solvent, temperature, directory / "gas", seed, platform, threads)
            result.stage_seconds.update({k: v.wall_seconds for k, v in gas.stages.items()})
            result.properties.append(hvap_result(liquid, gas))
        if pure:
            _attach_experiment(result, formulation.solvents[0][0].smiles)
        results.append(result)
    header = {"formulation": formulation.name, "forcefield": getattr(forcefield, "name", type(forcefield).__name__),
              "protocol": protocol.name, "n_atoms": composition.n_atoms,
              "composition": ", ".join(f"{n} {s.name}" for s, n in composition.counts),
              "salt_concentrations": composition.concentrations, "pressure_bar": formulation.pressure_bar}
    write_report(run_dir, header, results)
    return results
