"""The shipped solvent-solvent dimers data/qm/solvent_dimers_v1_gfn2.h5.gz: every unordered pair of the
recipe's solvents, at the recipe's contact ratios, and reproducible by relabelling.
(1,686 records: the module is marked slow.)"""

from __future__ import annotations

import numpy as np
import pytest

from elyte.cli.label import load_recipe
from elyte.labels.esp import vdw_radius

from .conftest import assert_gfn2_relabelling_reproduces, shipped_records

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def records():
    return shipped_records("solvent_dimers_v1_gfn2.h5.gz")


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("solvent_dimers_v1")


def test_every_unordered_solvent_pair_is_there(records, recipe):
    dimers = [r for r in records if r.provenance["kind"] == "dimer"]
    solvents = recipe["dimers"]["solvents"]
    expected = {tuple(sorted((a, b))) for k, a in enumerate(solvents) for b in solvents[k:]}
    found = [tuple(sorted(r.provenance["partners"])) for r in dimers]
    assert set(found) == expected
    assert all(found.count(pair) == recipe["dimers"]["per_pair"] for pair in expected)
    assert all(r.provenance["fragment_charges"] == [0, 0] for r in dimers)


def test_contact_ratios_span_the_repulsive_wall(records, recipe):
    lo, hi = recipe["dimers"]["solvent_scale"]
    ratios, energies = [], []
    for r in records:
        if r.provenance["kind"] != "dimer":
            continue
        fragments = np.asarray(r.provenance["fragments"])
        a, b = r.positions[fragments == 0], r.positions[fragments == 1]
        radii = np.array([vdw_radius(z) for z in r.numbers])
        dist = np.linalg.norm(a[:, None] - b[None], axis=-1)
        ratios.append((dist / (radii[fragments == 0][:, None] + radii[fragments == 1][None])).min())
        energies.append(r.labels["interaction_energy"])
    ratios, energies = np.array(ratios), np.array(energies)
    assert lo - 1e-3 < ratios.min() < lo + 0.05 and hi - 0.05 < ratios.max() < hi + 1e-3
    # closest contacts below 0.75 of the Bondi sum are repulsive on average; past 1.3 only dipoles interact
    assert energies[ratios < 0.75].mean() > 2.0
    assert np.abs(energies[ratios > 1.3]).max() < 3.0


def test_relabelling_reproduces_stored_labels(records):
    assert_gfn2_relabelling_reproduces(records, 3, seed=1)
