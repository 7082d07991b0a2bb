"""The shipped torsion scans data/qm/torsions_v1_gfn2.h5.gz: every rotatable dihedral of the recipe's
species scanned over the whole circle, each point holding its angle, profiles of a physical size,
and reproducible by relabelling."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdMolTransforms

from elyte.cli.label import load_recipe
from elyte.labels.sampling.molecules import molecule
from elyte.labels.sampling.torsions import rotatable_dihedrals

from .conftest import assert_gfn2_relabelling_reproduces, shipped_records


@pytest.fixture(scope="module")
def records():
    return shipped_records("torsions_v1_gfn2.h5.gz")


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("torsions_v1")


@pytest.fixture(scope="module")
def scans(records):
    """(species name, dihedral) -> [(angle, energy kcal/mol, record)]"""
    out = defaultdict(list)
    for r in records:
        if r.provenance["kind"] == "torsion_scan":
            out[(r.provenance["name"], tuple(r.provenance["dihedral"]))].append(
                (r.provenance["angle"], float(r.labels["energy"]), r))
    return out


def test_every_rotatable_dihedral_is_scanned_round_the_circle(scans, recipe):
    cfg = recipe["torsions"]
    angles = list(np.arange(-180.0, 180.0, cfg["step"]))
    for name in cfg["species"]:
        dihedrals = rotatable_dihedrals(molecule(recipe["species"][name]), cfg["max_per_species"])
        assert dihedrals, f"{name} has no rotatable dihedral: it should not be in the recipe"
        for dihedral in dihedrals:
            assert sorted(a for a, _, _ in scans[(name, dihedral)]) == angles, (name, dihedral)
    assert {name for name, _ in scans} == set(cfg["species"])


def test_points_hold_their_angles_and_profiles_are_physical(scans):
    for (name, dihedral), points in scans.items():
        for angle, _, record in points:
            conformer = Chem.Conformer(len(record.numbers))
            for k, xyz in enumerate(record.positions):
                conformer.SetAtomPosition(k, xyz.tolist())
            measured = rdMolTransforms.GetDihedralDeg(conformer, *dihedral)
            assert abs((measured - angle + 180.0) % 360.0 - 180.0) < 1.0, (name, dihedral, angle, measured)
        energies = np.array([e for _, e, _ in points])
        assert 0.3 < np.ptp(energies) < 40.0, (name, dihedral, np.ptp(energies))


def test_relabelling_reproduces_stored_labels(records):
    assert_gfn2_relabelling_reproduces(records, 3, seed=2)

