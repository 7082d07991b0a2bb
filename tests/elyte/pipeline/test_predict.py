"""elyte-predict end to end on a tiny neat-DMC box: every output, resume after a kill, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from elyte.formulation import FormulationError, compose, from_config
from elyte.paths import data_dir
from elyte.pipeline.predict import predict
from elyte.pipeline.protocol import Protocol
from polff.forcefield import ParameterFiles, PolffForceField

DMC = {"name": "DMC", "smiles": "COC(=O)OC", "ratio": 1.0}
# multiple time stepping as the shipped thermo protocol: the whole pipeline, resume included, on that path
TINY = {"name": "tiny", "timestep": 2.0, "inner_steps": 2, "segment_steps": 100, "stages": {
    "minimize": {"steps": 100}, "heat": {"steps": 100, "report_every": 20},
    "npt_equilibration": {"steps": 100, "report_every": 20}, "npt_production": {"steps": 300, "report_every": 10},
    "nvt_transport": {"steps": 200, "report_every": 10, "trajectory_every": 20}},
    "gas": {"steps": 400, "equilibration_steps": 100, "report_every": 10}}


def _forcefield():
    return PolffForceField(ParameterFiles({"DMC": data_dir() / "forcefields" / "byteff_pol" / "DMC.itp"}), cutoff=6.0)


def _formulation():
    return from_config({"name": "neat DMC", "solvents": [DMC], "size": 16, "size_unit": "molecules"})


def _run(directory):
    # the Reference platform is bitwise deterministic run to run (the CPU platform is not), so
    # "identical" can be checked exactly
    return predict(_formulation(), _forcefield(), Protocol.from_config(TINY), directory, seed=4, platform="Reference")


@pytest.mark.slow
def test_predict_writes_every_output_and_resumes_identically(tmp_path, monkeypatch):
    whole = _run(tmp_path / "whole")
    for name in ["box.extxyz", "results.json", "properties.csv", "report.md", "density_298K.png"]:
        assert (tmp_path / "whole" / name).is_file(), name
    table = pd.read_csv(tmp_path / "whole" / "properties.csv")
    assert {"density_g_cm3", "hvap_kJ_mol"} <= set(table.property)
    assert (table.error > 0).all()
    density = table.set_index("property").loc["density_g_cm3"]
    assert density.experimental == pytest.approx(1.0633) and 0.3 < density.value < 2.0
    results = json.loads((tmp_path / "whole" / "results.json").read_text())
    assert results["n_atoms"] == 192 and set(results["temperatures"][0]["stage_seconds"]) >= {"npt_production"}
    # 0.4 ps of NVT is ballistic: D is not computed, the report says why, the MSD is plotted anyway
    assert any(n.startswith("D of DMC not computed: no diffusive regime") for n in whole[0].notes)
    assert (tmp_path / "whole" / "msd_298K.png").is_file()

    # kill the run during the NVT stage, then run again: finished stages are skipped, results identical
    from elyte.pipeline import simulate
    original = simulate.run_stage
    ran = []

    def dies_in_nvt(stage, *args, **kwargs):
        ran.append(stage.name)
        if stage.name == "nvt_transport":
            raise KeyboardInterrupt
        return original(stage, *args, **kwargs)

    monkeypatch.setattr(simulate, "run_stage", dies_in_nvt)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "killed")
    monkeypatch.setattr(simulate, "run_stage", original)
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in (tmp_path / "killed" / "T298.15K").glob("*/done.json")}
    assert set(stamps) == {"minimize", "heat", "npt_equilibration", "npt_production"}
    resumed = _run(tmp_path / "killed")
    after = {p.parent.name: p.stat().st_mtime_ns for p in (tmp_path / "killed" / "T298.15K").glob("*/done.json")}
    assert all(after[k] == v for k, v in stamps.items())  # not redone
    for a, b in zip(whole[0].properties, resumed[0].properties):
        assert (a.name, a.estimate.value, a.estimate.error) == (b.name, b.estimate.value, b.estimate.error)


def test_bad_formulations_are_refused_with_the_reason():
    with pytest.raises(FormulationError, match="not charge-neutral"):
        from_config({"name": "x", "solvents": [DMC], "salts": [{"name": "LiLi", "concentration": 1.0, "ions": [
            {"name": "Li", "smiles": "[Li+]", "count": 2}, {"name": "PF6", "smiles": "F[P-](F)(F)(F)(F)F"}]}]})
    with pytest.raises(FormulationError, match="cannot be reached"):
        compose(from_config({"name": "x", "solvents": [DMC], "salts": [{"name": "LiPF6", "concentration": 80.0, "ions": [
            {"name": "Li", "smiles": "[Li+]"}, {"name": "PF6", "smiles": "F[P-](F)(F)(F)(F)F"}]}]}))
    with pytest.raises(FormulationError, match="invalid SMILES"):
        from_config({"name": "x", "solvents": [{"name": "bad", "smiles": "C1CC"}]})


def test_cli_names_a_species_without_parameters(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "elyte.cli.predict", f"hydra.run.dir={tmp_path}", "formulation=lifsi_dme",
         "formulation.size=300"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert "no parameter file for species 'DME'" in result.stdout + result.stderr
