"""The shipped DFT relabellings of dimers (wB97X-D4/def2-SVPD): each record is a GFN2-xTB dimer of
the shipped sets at the same geometry, with its interaction energy (counterpoise-corrected where the
file says so); the ion-solvent sets hold each cation (and, at random geometries, anion) with its
solvents, and DFT binds every cation-solvent pair less than GFN2-xTB does, at random geometries and at
GFN2-xTB minima (what docs/polff_validation.md reports)."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import shipped_records

SETS = {  # DFT file: (GFN2-xTB file, counterpoise, count)
    "solvent_homodimers_v1_wb97x.h5.gz": ("solvent_dimers_v1_gfn2.h5.gz", False, 11),
    "solvent_homodimers_v1_wb97x_cp.h5.gz": ("solvent_dimers_v1_gfn2.h5.gz", True, 11),
    "ion_solvent_v1_wb97x_cp.h5.gz": ("electrolyte_v1_gfn2.h5.gz", True, 28),
    "ion_solvent_minima_v1_wb97x_cp.h5.gz": ("ion_solvent_minima_v1_gfn2.h5.gz", True, 22),
}
SOLVENTS = {"water", "methanol", "ethanol", "acetonitrile", "acetone", "DMSO", "EC", "VC", "FEC", "DMC", "DME"}
CATION_PAIRS = {f"{ion}+{s}" for ion in ("Li", "Na") for s in SOLVENTS}


@pytest.fixture(scope="module")
def gfn2_dimers():
    """(name, rounded geometry) -> GFN2-xTB interaction energy, over both GFN2-xTB dimer sets."""
    out = {}
    for name in {source for source, _, _ in SETS.values()}:
        for r in shipped_records(name):
            if r.provenance.get("kind") == "dimer":
                out[r.provenance["name"], r.positions.round(6).tobytes()] = float(r.labels["interaction_energy"])
    return out


@pytest.mark.parametrize("file_name", SETS)
def test_each_dft_dimer_relabels_a_gfn2_dimer(file_name, gfn2_dimers):
    _, counterpoise, count = SETS[file_name]
    records = shipped_records(file_name)
    assert len(records) == count
    for r in records:
        assert r.method == "wb97x-d4/def2-svpd" and r.provenance["kind"] == "dimer"
        assert (r.provenance["name"], r.positions.round(6).tobytes()) in gfn2_dimers
        assert bool(r.provenance.get("counterpoise", False)) == counterpoise
        assert np.isfinite(r.labels["interaction_energy"])


@pytest.mark.parametrize("file_name, pairs", [
    ("ion_solvent_v1_wb97x_cp.h5.gz",
     CATION_PAIRS | {f"{ion}+{s}" for ion in ("BF4", "PF6") for s in ("water", "methanol", "acetonitrile")}),
    ("ion_solvent_minima_v1_wb97x_cp.h5.gz", CATION_PAIRS)])
def test_ion_solvent_pairs_and_the_cations_weaker_binding(gfn2_dimers, file_name, pairs):
    records = shipped_records(file_name)
    assert {r.provenance["name"] for r in records} == pairs
    for r in records:
        dft, gfn2 = float(r.labels["interaction_energy"]), gfn2_dimers[r.provenance["name"], r.positions.round(6).tobytes()]
        assert dft < 0, r.provenance["name"]
        if r.total_charge > 0:
            assert gfn2 < dft, r.provenance["name"]
