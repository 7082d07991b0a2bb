"""The shipped store data/qm/ion_polarizabilities_wb97x.h5.gz: the static polarizabilities of the bare
monatomic cations (finite field, wB97X-D4/def2-TZVPPD), the alpha targets of Li+ and Na+ in polff
training (dftd4 has none for a bare ion)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import shipped_records

pytest.importorskip("pyscf")
pytest.importorskip("dftd4")

METHOD = "wb97x-d4/def2-tzvppd"


@pytest.fixture(scope="module")
def records():
    return shipped_records("ion_polarizabilities_wb97x.h5.gz")


def isotropic(record) -> float:
    return float(np.trace(record.labels["polarizability"]) / 3)


def test_each_cation_once_with_an_isotropic_polarizability(records):
    assert sorted(r.provenance["smiles"] for r in records) == ["[Li+]", "[Na+]"]
    assert {r.method for r in records} == {METHOD}
    for r in records:
        tensor = r.labels["polarizability"]
        np.testing.assert_allclose(tensor, isotropic(r) * np.eye(3), atol=1e-4 * isotropic(r))
    alpha = {r.provenance["name"]: isotropic(r) for r in records}
    # the free ions' polarizabilities (Li+ ~0.028, Na+ ~0.15 A^3): 1s^2 is far stiffer than 2p^6
    assert 0.02 < alpha["Li"] < 0.035 and 0.12 < alpha["Na"] < 0.17


def test_relabelling_reproduces_stored_labels(records):
    from elyte.labels.compute import label_structure
    from elyte.labels.engines import make_backend
    from elyte.labels.inputs import structure_from_record

    backend = make_backend({"name": "pyscf", "basis": "def2-tzvppd", "gpu": False})
    for record in records:
        fresh = label_structure(backend, structure_from_record(record), ["energy", "polarizability"])
        assert fresh["energy"] == pytest.approx(float(record.labels["energy"]), abs=1e-4)
        np.testing.assert_allclose(fresh["polarizability"], record.labels["polarizability"], atol=1e-4)
