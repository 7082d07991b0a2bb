"""polff-simulate end to end on a small DMC box: outputs, resume, blow-up reporting."""

from __future__ import annotations

import json
import subprocess
import sys

import ase.io
import mdtraj
import pytest

from elyte.box import build_box
from elyte.formulation import compose, from_config

DMC = {"name": "DMC", "smiles": "COC(=O)OC"}


@pytest.fixture(scope="module")
def dmc_box(tmp_path_factory):
    formulation = from_config({"name": "DMC", "solvents": [{**DMC, "ratio": 1}], "size": 16, "size_unit": "molecules"})
    box = build_box(compose(formulation), seed=2)
    path = tmp_path_factory.mktemp("box") / "dmc.extxyz"
    ase.io.write(path, box.atoms)
    return path


def _simulate(run_dir, structure, *overrides):
    return subprocess.run(
        [sys.executable, "-m", "elyte.cli.simulate", f"hydra.run.dir={run_dir}", f"structure={structure}",
         "species=[{name: DMC, smiles: 'COC(=O)OC'}]", "forcefield.cutoff=6.0", "threads=1", "steps=60",
         "report_every=10", "trajectory_every=20", "segment_steps=30", "minimize_steps=50", *overrides],
        capture_output=True, text=True, timeout=600)


def test_simulate_writes_everything_and_resumes(dmc_box, tmp_path):
    result = _simulate(tmp_path, dmc_box)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ["config.yaml", "simulate.log", "topology.pdb", "thermo.csv", "thermo.png", "summary.json", "report.md"]:
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_atoms"] == 16 * 12 and 0.3 < summary["mean_density_g_cm3"] < 2.0
    traj = mdtraj.load([str(p) for p in sorted(tmp_path.glob("md/segment_*/traj.dcd"))], top=str(tmp_path / "topology.pdb"))
    assert traj.n_frames == 3 and traj.n_residues == 16
    again = _simulate(tmp_path, dmc_box)
    assert again.returncode == 0 and "already done, skipped" in again.stderr + again.stdout


def test_blow_up_names_the_stage_and_step(dmc_box, tmp_path):
    result = _simulate(tmp_path, dmc_box, "timestep=25.0", "minimize_steps=0", "ensemble=nvt")
    assert result.returncode == 1
    assert "stage 'md' blew up at step" in result.stderr + result.stdout


def test_multiple_time_stepping_and_heavier_hydrogens_reach_the_stage(dmc_box, tmp_path):
    result = _simulate(tmp_path, dmc_box, "timestep=2.0", "inner_steps=2", "hydrogen_mass=3")
    assert result.returncode == 0, result.stderr[-3000:]
    stage = json.loads((tmp_path / "md" / "stage.json").read_text())
    assert (stage["timestep"], stage["inner_steps"], stage["hydrogen_mass"]) == (2.0, 2, 3.0)
