"""The command-line interface: listing, pending commands, and the structure command end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from elyte.cli.main import main, usage
from elyte.cli.registry import COMMANDS


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    pending = [c for c in COMMANDS.values() if c.entry is None]
    assert all(f"not landed yet: issue #{c.issue}" in usage() for c in pending)


def test_unknown_command_fails(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "unknown command" in capsys.readouterr().err


def run_structure(tmp_path, *overrides):
    return subprocess.run(
        [sys.executable, "-m", "elyte.cli.structure", f"hydra.run.dir={tmp_path}", *overrides],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_structure_command_end_to_end(tmp_path):
    """The shipped LiPF6/EC/DMC box: every output is written; the physics is right (PF6- has six F
    at 1.6 A, Li+ is four-coordinated, density as the box's masses and volume say)."""
    result = run_structure(tmp_path, "r_max=6", "bins=120", "pairs=[[P,F],[Li,O]]")
    assert result.returncode == 0, result.stderr
    for name in ["config.yaml", "structure.log", "rdf.csv", "rdf.png", "summary.json", "report.md"]:
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_atoms"] == 4116
    assert summary["composition"] == {"C": 1092, "F": 84, "H": 1820, "Li": 14, "O": 1092, "P": 14}
    assert summary["pairs"]["P-F"]["cn"] == pytest.approx(6.0)
    assert summary["pairs"]["P-F"]["peak_r"] == pytest.approx(1.6, abs=0.1)
    assert 3.0 <= summary["pairs"]["Li-O"]["cn"] <= 6.0
    mass = 182 * 88.06 + 182 * 90.08 + 14 * 151.9  # EC, DMC, LiPF6 in g/mol
    assert summary["density_g_cm3"] == pytest.approx(mass / 6.02214076e23 / (35.9208e-8) ** 3, rel=1e-3)
    assert "r_max: 6" in (tmp_path / "config.yaml").read_text()


def test_structure_command_reports_bad_input(tmp_path):
    result = run_structure(tmp_path, f"structure={tmp_path}/missing.xyz")
    assert result.returncode != 0
    assert "does not exist" in result.stderr


def test_build_box_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "elyte.cli.build_box", f"hydra.run.dir={tmp_path}", "formulation=lifsi_dme",
         "formulation.size=800", "seed=2"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "composition.json").read_text())
    names = {s["name"]: s["count"] for s in summary["species"]}
    assert names["Li"] == names["FSI"] > 0 and names["DME"] > 0
    assert summary["n_atoms"] <= 800
    import ase.io

    atoms = ase.io.read(tmp_path / "box.extxyz")
    assert len(atoms) == summary["n_atoms"] and atoms.pbc.all()
    assert set(atoms.arrays["molecule_name"]) == {"DME", "Li", "FSI"}
    assert "formulation" in (tmp_path / "config.yaml").read_text()


def test_landed_commands_point_at_their_entry():
    """pyproject's console scripts and the registry agree for every landed command."""
    import tomllib
    from pathlib import Path

    scripts = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    for name, command in COMMANDS.items():
        if command.entry is not None:
            assert scripts[name] == command.entry, name
