"""The shipped Hessian set data/qm/electrolyte_v1_gfn2_hessians.h5.gz: one relaxed minimum per species,
six zero modes and positive curvature elsewhere, forces small."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.labels.sampling.normal_modes import modes

from .conftest import shipped_records


@pytest.fixture(scope="module")
def records():
    return shipped_records("electrolyte_v1_gfn2_hessians.h5.gz")


def test_one_minimum_per_species(records):
    assert len({r.provenance["name"] for r in records}) == len(records) == 30
    for r in records:
        assert np.abs(r.labels["forces"]).max() < 0.2  # kcal/mol/A: relaxed to fmax 0.1 (per atom norm)


def test_hessians_are_minima(records):
    for r in records:
        n = len(r.numbers)
        h = r.labels["hessian"]
        assert h.shape == (3 * n, 3 * n)
        np.testing.assert_allclose(h, h.T, atol=1e-8)
        if n < 2:
            continue
        values, _ = modes(h, r.numbers, min_eigenvalue=-np.inf)
        rigid = 5 if n == 2 else 6
        assert np.abs(np.sort(np.abs(values))[:rigid]).max() < 0.1, r.provenance["name"]
        assert np.sort(values)[rigid:].min() > -0.05, r.provenance["name"]  # no imaginary vibrations
