"""Labelling runs: stored labels match the backend, failures are kept apart, an interrupted run resumes
losing at most the structure in flight, workers give the same labels, and the CLI end to end."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from elyte.labels.runner import run
from elyte.labels.sampling.molecules import embed
from elyte.labels.store import LabelStore
from elyte.labels.structure import QMStructure

pytest.importorskip("tblite")
XTB = {"name": "xtb"}
REQUESTS = ["energy", "forces", "dipole", "charges_mulliken", "dftd4", "interaction_energy"]


def molecules() -> list[QMStructure]:
    out = []
    for k, smiles in enumerate(["O", "CO", "CCO", "CC#N", "C1COCO1", "ClCCl"]):
        s = embed(smiles, 1, seed=k)[0]
        s.provenance.update(kind="monomer", name=smiles)
        out.append(s)
    return out


def test_run_stores_labels_and_failures(tmp_path):
    structures = molecules()[:2]
    broken = QMStructure([87, 1], [[0, 0, 0], [0, 0, 2.3]], provenance={"kind": "broken"})  # GFN2 stops at Rn
    summary = run(structures + [broken], XTB, REQUESTS, tmp_path / "l.h5")
    assert summary.labelled == {"monomer": 2} and summary.failed == {"broken": 1}
    with LabelStore(tmp_path / "l.h5", "r") as store:
        records = list(store)
        assert len(records) == 2 and "Z >86" in next(iter(store.failures().values()))
    water = next(r for r in records if r.provenance["name"] == "O")
    assert water.method == "gfn2-xtb" and water.labels["forces"].shape == (3, 3)
    assert set(water.labels) == {"energy", "forces", "dipole", "charges_mulliken", "atomic_polarizabilities", "c6"}
    assert "| monomer | 2 | 0 |" in summary.table()
    with pytest.raises(ValueError, match="ghost atoms"):
        run(structures, XTB, REQUESTS, tmp_path / "cp.h5", counterpoise=True)


def test_interrupted_run_resumes_losing_only_the_structure_in_flight(tmp_path):
    path = tmp_path / "l.h5"
    script = f"""
import os
import elyte.labels.runner as runner
from tests.elyte.labels.test_runner import molecules, XTB, REQUESTS
calls = []
original = runner._label
def dying(structure):
    calls.append(1)
    if len(calls) == 4:
        os._exit(1)  # killed while labelling the 4th structure
    return original(structure)
runner._label = dying
runner.run(molecules(), XTB, REQUESTS, {str(path)!r})
"""
    assert subprocess.run([sys.executable, "-c", script], cwd=str(_repo())).returncode == 1
    with LabelStore(path, "r") as store:
        assert len(store) == 3
    summary = run(molecules(), XTB, REQUESTS, path)
    assert summary.skipped == 3 and summary.labelled == {"monomer": 3}
    with LabelStore(path, "r") as store:
        assert sorted(r.provenance["name"] for r in store) == sorted(s.provenance["name"] for s in molecules())


def test_a_store_is_relabelled_at_another_level_with_its_fragments(tmp_path):
    from elyte.labels.inputs import read_store
    from elyte.labels.sampling.dimers import dimer

    rng = np.random.default_rng(0)
    water, methanol = molecules()[:2]
    pairs = [dimer(water, methanol, 1.0, rng), dimer(water, water, 0.9, rng)]
    run(pairs, XTB, REQUESTS, tmp_path / "gfn2.h5")
    again = read_store(tmp_path / "gfn2.h5")
    assert sorted(len(s.numbers) for s in again) == sorted(len(s.numbers) for s in pairs)
    for s in again:
        assert s.fragments is not None and s.fragment_charges == [0, 0]
        assert s.provenance["relabelled_from"] == "gfn2-xtb"
    assert len(read_store(tmp_path / "gfn2.h5", kinds=["dimer"])) == 2
    assert read_store(tmp_path / "gfn2.h5", kinds=["conformer"]) == []
    summary = run(again, {"name": "xtb", "method": "GFN1-xTB"}, REQUESTS, tmp_path / "gfn1.h5")
    assert summary.labelled == {"dimer": 2}
    with LabelStore(tmp_path / "gfn1.h5", "r") as store:
        assert all(r.method == "gfn1-xtb" and "interaction_energy" in r.labels for r in store)
    # a store whose interaction energies carry the other counterpoise choice is not resumed into
    with LabelStore(tmp_path / "gfn1.h5", "r") as store:
        record = next(iter(store))
    record.provenance["counterpoise"] = True
    with LabelStore(tmp_path / "cp.h5") as store:
        store.add(record)
    with pytest.raises(ValueError, match="computed with counterpoise correction; label into another store"):
        run(again, {"name": "xtb", "method": "GFN1-xTB"}, REQUESTS, tmp_path / "cp.h5")
    assert run(again, {"name": "xtb", "method": "GFN1-xTB"}, REQUESTS[:1], tmp_path / "cp.h5").labelled


def test_process_workers_give_the_same_labels(tmp_path):
    structures = molecules()[:3]
    run(structures, XTB, REQUESTS, tmp_path / "serial.h5")
    run(structures, XTB, REQUESTS, tmp_path / "pool.h5", workers=2, threads=1)
    with LabelStore(tmp_path / "serial.h5", "r") as a, LabelStore(tmp_path / "pool.h5", "r") as b:
        serial = {r.provenance["name"]: r for r in a}
        for r in b:
            np.testing.assert_allclose(r.labels["forces"], serial[r.provenance["name"]].labels["forces"], atol=1e-8)


def test_cli_end_to_end(tmp_path):
    store = tmp_path / "cli.h5"
    command = [sys.executable, "-m", "elyte.cli.label", "smiles={water: O, methanol: CO}", f"store={store}",
               f"hydra.run.dir={tmp_path / 'run'}", "workers=1"]
    first = subprocess.run(command, cwd=str(_repo()), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    with LabelStore(store, "r") as s:
        assert sorted(r.provenance["name"] for r in s) == ["methanol", "water"]
    assert "| smiles | 2 | 0 |" in (tmp_path / "run" / "summary.md").read_text()
    assert (tmp_path / "run" / "config.yaml").is_file()


def test_recipes_are_found_by_name_or_reported():
    from elyte.cli.label import load_recipe

    recipe = load_recipe("electrolyte_v1")
    assert "Li" in recipe["species"] and recipe["clusters"]["structure"].endswith("lipf6_ec_dmc_4116.data.gz")
    with pytest.raises(FileNotFoundError, match="electrolyte_v1"):
        load_recipe("nonexistent")
    hessians = load_recipe("electrolyte_v1_hessians")  # extends electrolyte_v1, drops its pair sampling
    assert hessians["species"] == recipe["species"] and hessians["seed"] == recipe["seed"]
    assert hessians["conformers"]["keep"] == 1 and hessians["conformers"]["n_embed"] == recipe["conformers"]["n_embed"]
    assert hessians["dimers"] is None and "extends" not in hessians


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("spec, module", [({"name": "xtb"}, "tblite"), ({"name": "pyscf"}, "pyscf"),
                                          ({"name": "pyscf"}, "dftd4")])
def test_a_missing_backend_module_stops_the_run_before_any_structure(tmp_path, monkeypatch, spec, module):
    """Not one failed record per structure (which reruns would skip): the run stops with the fix."""
    import importlib.util

    from elyte.errors import InputError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    with pytest.raises(InputError, match=rf"needs {module}.*ELYTE_EXTRAS=qm"):
        run(molecules()[:1], spec, ["energy"], tmp_path / "l.h5")
    assert not (tmp_path / "l.h5").exists()
