"""ByteFF-Pol reference clusters (../shared/data/byteff_pol_example) as ready-to-use fixtures."""

from __future__ import annotations

import json

import ase.io
import pytest
import torch

from polff.io.byteff import read_byteff
from polff.system import PolSystem

CLUSTERS = ["a_ec_dimer", "b_li_4solv"]


@pytest.fixture(scope="session")
def byteff_dir(shared_data):
    return shared_data / "byteff_pol_example"


@pytest.fixture(scope="session")
def electrolyte_molecules(byteff_dir):
    return {n: read_byteff(byteff_dir / "electrolyte" / f"{n}.itp") for n in ["EC", "DMC", "LI", "PF6"]}


@pytest.fixture(scope="session")
def reference(byteff_dir):
    return json.loads((byteff_dir / "reference_energies" / "reference.json").read_text())


@pytest.fixture(scope="session", params=CLUSTERS)
def cluster(request, byteff_dir, electrolyte_molecules, reference):
    """(name, molecules, positions [N, 3] float64 tensor, reference record) of one cluster."""
    name = request.param
    record = reference["clusters"][name]
    atoms = ase.io.read(byteff_dir / "reference_energies" / f"{name}.extxyz")
    molecules = [electrolyte_molecules[m["resname"]] for m in record["molecules"]]
    return name, molecules, torch.tensor(atoms.positions, dtype=torch.float64), record


@pytest.fixture
def cluster_system(cluster):
    return PolSystem.from_molecules(cluster[1])
