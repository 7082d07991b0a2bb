"""The shipped dataset data/qm/electrolyte_v1_gfn2.h5.gz: complete, sane, and reproducible by relabelling.
(Reading its 1,320 records takes several seconds: the module is marked slow.)"""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from elyte.labels.compute import label_structure
from elyte.labels.engines import make_backend
from elyte.labels.inputs import structure_from_record
from elyte.labels.sampling.molecules import covalent_components
from elyte.labels.store import LabelStore
from elyte.paths import config_dir, data_dir

pytestmark = pytest.mark.slow

DATASET = data_dir() / "qm" / "electrolyte_v1_gfn2.h5.gz"
REQUESTS = ["energy", "forces", "dipole", "charges_mulliken", "dftd4", "interaction_energy"]


@pytest.fixture(scope="module")
def records():
    with LabelStore(DATASET, "r") as store:
        return list(store)


@pytest.fixture(scope="module")
def structures(records):
    return [structure_from_record(r) for r in records]


@pytest.fixture(scope="module")
def recipe():
    return OmegaConf.to_container(OmegaConf.load(config_dir() / "label" / "recipe" / "electrolyte_v1.yaml"))


def test_every_species_and_pair_is_present(structures, recipe):
    monomers = {s.provenance["name"] for s in structures if s.provenance["kind"] == "conformer"}
    assert monomers == set(recipe["species"])
    pairs = {s.provenance["name"] for s in structures if s.provenance["kind"] == "dimer"}
    ions, solvents = recipe["dimers"]["ions"], recipe["dimers"]["solvents"]
    assert {f"{i}+{s}" for i in ions for s in solvents} <= pairs
    assert {"Li+PF6", "Na+TFSI"} <= pairs
    assert {s.provenance["name"] for s in structures if s.provenance["kind"] == "cluster"} == {"Li-shell", "P-shell"}


def test_geometries_are_sane(structures):
    for s in structures:
        dist = np.linalg.norm(s.positions[:, None] - s.positions[None], axis=-1)
        assert len(s.numbers) == 1 or dist[np.triu_indices(len(s.numbers), 1)].min() > 0.65
        if s.fragments is not None:  # every fragment is one intact molecule (or ion)
            components = covalent_components(s.numbers, s.positions)
            for k in range(s.fragments.max() + 1):
                assert len(set(components[s.fragments == k])) == 1


def test_relabelling_reproduces_stored_labels(records, structures):
    stored = {r.key(): r for r in records}
    backend = make_backend({"name": "xtb"})
    rng = np.random.default_rng(0)
    for k in rng.choice(len(structures), size=4, replace=False):
        s = structures[k]
        record = stored[s.record("gfn2-xtb").key()]
        fresh = label_structure(backend, s, REQUESTS)
        assert set(fresh) == set(record.labels)
        for name, value in fresh.items():
            np.testing.assert_allclose(value, record.labels[name], rtol=1e-6, atol=1e-5)
