"""The shipped cation binding-site dimers data/qm/ion_sites_v{1,2}_gfn2.h5.gz: every cation on every
symmetry-distinct donor atom of every partner that has one (v2: the anions too, from closer in), at
the recipe's distances, with the attractive well and its repulsive wall both sampled, and
reproducible by relabelling."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.cli.label import load_recipe
from elyte.labels.sampling.binding import binding_sites
from elyte.labels.sampling.molecules import embed

from .conftest import assert_gfn2_relabelling_reproduces, shipped_records


@pytest.fixture(scope="module", params=["ion_sites_v1", "ion_sites_v2"])
def version(request):
    return request.param


@pytest.fixture(scope="module")
def records(version):
    return shipped_records(f"{version}_gfn2.h5.gz")


@pytest.fixture(scope="module")
def recipe(version):
    return load_recipe(version)


def test_every_cation_sits_on_every_site_of_every_solvent(records, recipe):
    cfg = recipe["binding_sites"]
    solvents = {name: embed(smiles, 1)[0] for name, smiles in recipe["species"].items()}  # RDKit order, as stored
    dimers = [r for r in records if r.provenance["kind"] == "dimer"]
    found = {}
    for r in dimers:
        key = (*r.provenance["partners"], r.provenance["site"])
        found[key] = found.get(key, 0) + 1
    expected = {(c, s, site) for c in cfg["cations"] for s in cfg["solvents"] for site in binding_sites(solvents[s])}
    assert set(found) == expected and set(found.values()) == {cfg["per_site"]}
    for r in dimers:
        cation, solvent = r.provenance["partners"]
        lo, hi = cfg["distance"][cation]
        dist = np.linalg.norm(r.positions[1:] - r.positions[0], axis=1)
        assert np.argmin(dist) == r.provenance["site"] and lo <= dist.min() <= hi


def test_the_well_and_its_wall_are_sampled(records):
    """Li+ on a carbonyl or ether O: bound by tens of kcal/mol near 2 A, less bound at the shortest distances."""
    rows = [(r.provenance["distance"], float(r.labels["interaction_energy"])) for r in records
            if r.provenance["kind"] == "dimer" and r.provenance["partners"][0] == "Li" and r.numbers[r.provenance["site"] + 1] == 8]
    distance, energy = np.array(rows).T
    assert energy[(distance > 1.8) & (distance < 2.2)].mean() < -30.0
    assert energy[distance < 1.55].mean() > energy[(distance > 1.8) & (distance < 2.2)].mean() + 5.0
    assert np.all(energy[distance > 2.8] < 0)


def test_relabelling_reproduces_stored_labels(records):
    assert_gfn2_relabelling_reproduces(records, 3, seed=2)


def test_v3_puts_every_cation_on_every_face_of_the_polyhedral_anions():
    """data/qm/ion_sites_v3_gfn2.h5.gz: each cation on each symmetry-distinct face of PF6-, BF4- and
    ClO4- at the recipe's distances from the centre atom, bound throughout (the tridentate contact is
    the ion pair's minimum; the face is no wall for the cation), relabelled identically."""
    from elyte.labels.sampling.binding import face_sites

    records = shipped_records("ion_sites_v3_gfn2.h5.gz")
    cfg = load_recipe("ion_sites_v3")["binding_sites"]
    anions = {name: embed(smiles, 1)[0] for name, smiles in load_recipe("ion_sites_v3")["species"].items()
              if name in cfg["solvents"]}
    on_faces = [r for r in records if "face" in r.provenance]
    found = {}
    for r in on_faces:
        key = tuple(r.provenance["partners"])
        found[key] = found.get(key, 0) + 1
        lo, hi = cfg["faces"][key[0]]
        assert lo <= np.linalg.norm(r.positions[0] - r.positions[r.provenance["site"] + 1]) <= hi
    assert found == {(c, s): cfg["per_site"] * len(face_sites(anions[s])) for c in cfg["cations"] for s in anions}
    energies = np.array([float(r.labels["interaction_energy"]) for r in on_faces])
    assert energies.max() < -50.0 and energies.min() > -200.0
    assert_gfn2_relabelling_reproduces(on_faces, 3, seed=2)
