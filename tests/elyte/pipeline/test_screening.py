"""Screening: the multirun summary gathers every job; the predict config composes with its launcher."""

from __future__ import annotations

import json
import logging

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from elyte.cli import app
from elyte.errors import InputError, MDError
from elyte.paths import config_dir
from elyte.pipeline.screening import write_summary
from elyte.runs import FAILED


def _job(directory, formulation, density, experimental=None):
    directory.mkdir()
    relative = None if experimental is None else 100 * (density - experimental) / experimental
    prop = {"temperature_K": 298.15, "property": "density_g_cm3", "value": density, "error": 0.01,
            "unit": "g/cm^3", "method": "NPT mean", "experimental": experimental, "relative_error_pct": relative,
            "experimental_source": ""}
    (directory / "results.json").write_text(json.dumps(
        {"formulation": formulation, "forcefield": "polff", "temperatures": [{"temperature_K": 298.15, "properties": [prop]}]}))


def test_summary_has_one_row_per_job_and_property(tmp_path):
    _job(tmp_path / "0_formulation=a", "A", 1.10)
    _job(tmp_path / "1_formulation=b", "B", 1.25)
    (tmp_path / "2_failed").mkdir()  # a job that died before writing results is left out
    table = write_summary(tmp_path)
    assert sorted(table.value) == [1.10, 1.25]
    text = (tmp_path / "summary.md").read_text()
    assert "| A | 298.15 | polff | 1.1 +/- 0.01 |" in text and "| B |" in text
    assert (tmp_path / "summary.csv").read_text().count("density_g_cm3") == 2
    assert "Errors against experiment" not in text  # no experimental values: no error table


def test_summary_reports_errors_against_experiment(tmp_path):
    _job(tmp_path / "0_liquid=a", "A", 1.10, experimental=1.00)
    _job(tmp_path / "1_liquid=b", "B", 0.80, experimental=1.00)
    _job(tmp_path / "2_liquid=c", "C", 0.95)  # no experiment: left out of the errors
    write_summary(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    # mean error (0.10 - 0.20) / 2 = -0.05, MAE 0.15, relative 15 %
    assert "| density_g_cm3 | g/cm^3 | 2 | -0.05 | 0.15 | 15 |" in text


def test_summary_names_the_failed_jobs(tmp_path):
    _job(tmp_path / "0_liquid=a", "A", 1.10)
    (tmp_path / "1_liquid=b").mkdir()
    (tmp_path / "1_liquid=b" / FAILED).write_text("MDError: stage 'gas_production' blew up at step 6520\n")
    table = write_summary(tmp_path)
    assert list(table.formulation) == ["A"]
    text = (tmp_path / "summary.md").read_text()
    assert "## Failed jobs" in text and "- `1_liquid=b`: MDError: stage 'gas_production' blew up" in text


def test_a_failed_job_of_a_sweep_is_recorded_and_does_not_raise(tmp_path, monkeypatch):
    log = logging.getLogger("test")
    monkeypatch.setattr(app, "in_sweep", lambda: True)
    (tmp_path / FAILED).write_text("from an earlier try\n")
    with app.exit_on_failure(log, tmp_path):
        raise MDError("stage 'md' blew up at step 10")
    assert (tmp_path / FAILED).read_text() == "MDError: stage 'md' blew up at step 10\n"
    with app.exit_on_failure(log, tmp_path):
        pass  # a successful try removes the record of the failed one
    assert not (tmp_path / FAILED).exists()
    monkeypatch.setattr(app, "in_sweep", lambda: False)  # a single run still exits with the error's code
    with pytest.raises(SystemExit) as exit_info, app.exit_on_failure(log, tmp_path):
        raise InputError("bad formulation")
    assert exit_info.value.code == 2


def test_predict_config_composes_with_the_joblib_launcher_and_summary_callback():
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="predict", return_hydra_config=True, overrides=["formulation=pure_dmc"])
    assert "joblib" in cfg.hydra.launcher._target_.lower()
    assert cfg.hydra.callbacks.sweep_summary._target_ == "elyte.pipeline.screening.SweepSummary"
    assert cfg.formulation.name == "DMC" and cfg.protocol.name == "quick"


def test_a_sweep_over_model_files_gives_one_folder_per_job():
    """A path in an override (a model file to compare) must not nest the job's folder, or the summary
    would not find its results.json; long names are cut below the file-name limit."""
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="predict", return_hydra_config=True,
                      overrides=["forcefield=polff", "forcefield.parameters.model=/runs/candidate/model.pt"])
    with open_dict(cfg):
        cfg.hydra.job.num = 3
    assert cfg.hydra.sweep.subdir == "3_forcefield.parameters.model=_runs_candidate_model.pt,forcefield=polff"
    assert len(app.job_dirname("formulation.liquid=" + "x" * 400)) <= 200
