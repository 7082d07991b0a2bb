"""The QM label store: round trip, duplicates, failures, crash and resume, units, corrupt files;
and the import of qm_monomer_100 (with a check of its force sign convention)."""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from elyte.labels.monomer100 import import_monomer_100
from elyte.labels.store import LabelStore, LabelStoreError, Record


def water(shift: float = 0.0) -> Record:
    positions = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]) + shift
    return Record(numbers=[8, 1, 1], positions=positions, method="wb97x-d/def2-svpd",
                  labels={"energy": np.array(-47960.1), "forces": np.ones((3, 3)), "dipole": np.array([0.0, 0.4, 0.0])},
                  provenance={"source": "test"})


def test_round_trip_and_duplicates(tmp_path):
    with LabelStore(tmp_path / "l.h5") as store:
        assert store.add(water()) and not store.add(water())
        assert store.add(water(0.5))
        assert len(store) == 2
    with LabelStore(tmp_path / "l.h5", "r") as store:
        records = list(store)
    assert len(records) == 2
    first = next(r for r in records if np.allclose(r.positions, water().positions))
    assert first.method == "wb97x-d/def2-svpd" and first.provenance == {"source": "test"}
    assert float(first.labels["energy"]) == -47960.1 and first.labels["forces"].shape == (3, 3)


def test_failures_are_recorded_not_labelled(tmp_path):
    with LabelStore(tmp_path / "l.h5") as store:
        assert store.add_failure(water(), "SCF not converged after 100 cycles")
        assert water().key() in store and len(store) == 0
        assert not store.add(water())  # resuming does not retry a recorded failure
        assert store.failures() == {water().key(): "SCF not converged after 100 cycles"}
    with pytest.raises(ValueError, match="NaN"):
        Record(numbers=[1], positions=[[0, 0, 0]], method="x", labels={"energy": np.array(np.nan)})


def test_interrupted_run_resumes_without_loss_or_duplicates(tmp_path):
    """A writer killed (no clean close) after 5 of 10 records; the rerun adds exactly the rest."""
    path = tmp_path / "l.h5"
    script = f"""
import os, numpy as np
from elyte.labels.store import LabelStore, Record
store = LabelStore({str(path)!r})
for k in range(10):
    store.add(Record(numbers=[1, 1], positions=[[0, 0, 0], [0.74 + 0.01 * k, 0, 0]], method="m",
                     labels={{"energy": np.array(float(k))}}))
    if k == 4:
        os._exit(1)
"""
    assert subprocess.run([sys.executable, "-c", script]).returncode == 1
    with LabelStore(path) as store:
        assert len(store) == 5
        added = sum(store.add(Record(numbers=[1, 1], positions=[[0, 0, 0], [0.74 + 0.01 * k, 0, 0]], method="m",
                                     labels={"energy": np.array(float(k))})) for k in range(10))
        assert added == 5 and len(store) == 10
        assert sorted(float(r.labels["energy"]) for r in store) == [float(k) for k in range(10)]


def test_units_converted_on_read(tmp_path):
    path = tmp_path / "ev.h5"
    with LabelStore(path) as store:
        store.add(water())
    with h5py.File(path, "a") as f:  # a file written by another tool in eV and nm
        f.attrs["units"] = json.dumps({"length": "nm", "energy": "eV", "force": "eV/Angstrom", "dipole": "e*angstrom",
                                        "charge": "e"})
    with LabelStore(path, "r") as store:
        record = next(iter(store))
    assert float(record.labels["energy"]) == pytest.approx(-47960.1 * 23.0605478, rel=1e-7)
    assert record.positions[1, 0] == pytest.approx(9.6)
    with h5py.File(path, "a") as f:
        f.attrs["units"] = json.dumps({"length": "furlong"})
    with pytest.raises(LabelStoreError, match="units"):
        LabelStore(path, "r")


def test_corrupt_file_is_reported(tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"garbage" * 100)
    with pytest.raises(LabelStoreError, match="corrupt"):
        LabelStore(path, "r")


def test_a_store_open_for_writing_elsewhere_is_reported_as_such(tmp_path):
    """HDF5 locks a file open for writing: a reader is told another process has it, not that it is corrupt."""
    path = tmp_path / "busy.h5"
    LabelStore(path).close()
    writer = subprocess.Popen([sys.executable, "-c", "import sys\nfrom elyte.labels.store import LabelStore\n"
                               f"s = LabelStore({str(path)!r})\nprint('open', flush=True)\nsys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(LabelStoreError, match="open in another process"):
            LabelStore(path, "r")
    finally:
        writer.communicate("")


def test_import_monomer_100(shared_data, tmp_path):
    with LabelStore(tmp_path / "m.h5") as store:
        assert import_monomer_100(shared_data / "qm_monomer_100", store) == 200
        assert import_monomer_100(shared_data / "qm_monomer_100", store) == 0
        by_molecule = collections.defaultdict(list)
        for record in store:
            by_molecule[record.provenance["name"]].append(record)
    # forces are -dE/dx: the energy change between two conformers matches the work of the mean force
    # along the straight path between them (trapezoid rule)
    delta_e, work = [], []
    for records in by_molecule.values():
        a, b = sorted(records, key=lambda r: r.provenance["conformer"])[:2]
        delta_e.append(float(b.labels["energy"] - a.labels["energy"]))
        work.append(float(-((a.labels["forces"] + b.labels["forces"]) / 2 * (b.positions - a.positions)).sum()))
    assert np.corrcoef(delta_e, work)[0, 1] > 0.99


def test_gzip_store_reads_and_refuses_writes(tmp_path):
    import gzip

    path = tmp_path / "l.h5"
    with LabelStore(path) as store:
        store.add(water())
    packed = tmp_path / "l.h5.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with LabelStore(packed, "r") as store:
        assert [r.key() for r in store] == [water().key()]
    with pytest.raises(LabelStoreError, match="gunzip"):
        LabelStore(packed, "a")


def test_response_units_must_be_internal(tmp_path):
    path = tmp_path / "l.h5"
    with LabelStore(path) as store:
        store.add(water())
    with h5py.File(path, "a") as f:
        units = json.loads(f.attrs["units"])
        assert units["polarizability"] == "angstrom^3"
        f.attrs["units"] = json.dumps({**units, "polarizability": "bohr^3"})
    with pytest.raises(LabelStoreError, match="polarizability"):
        LabelStore(path, "r")


def test_records_are_read_one_at_a_time_by_key(tmp_path):
    source = Record(numbers=[1, 1], positions=[[0, 0, 0], [0.74, 0, 0]], method="m", labels={"energy": np.array(-1.0)})
    with LabelStore(tmp_path / "one.h5") as store:
        store.add(source)
        (key,) = store.keys()
        again = store.read(key)
        assert again.key() == source.key()
        np.testing.assert_array_equal(again.positions, source.positions)
        with pytest.raises(KeyError, match="no labelled record"):
            store.read("missing")
