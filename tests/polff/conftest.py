"""ByteFF-Pol reference clusters (../shared/data/byteff_pol_example) as ready-to-use fixtures."""

from __future__ import annotations

import json

import ase.io
import numpy as np
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


SPECIES = ["DMC", "EC", "LI", "PF6"]  # the order of solvent_salt.gro


@pytest.fixture(scope="session")
def small_box(byteff_dir, electrolyte_molecules):
    """27 molecules (12 EC, 9 DMC, 3 Li+, 3 PF6-) with geometries from the published box, randomly
    rotated on a 3x3x3 grid in a 21 A cubic box: a neutral periodic test system without overlaps."""
    atoms = ase.io.read(byteff_dir / "electrolyte" / "solvent_salt.gro")
    geometry, start = {}, 0
    for name, count in zip(SPECIES, [505, 345, 69, 69]):
        n = electrolyte_molecules[name].n_atoms
        geometry[name] = atoms.positions[start : start + n]
        start += n * count
    names = ["EC"] * 12 + ["DMC"] * 9 + ["LI"] * 3 + ["PF6"] * 3
    rng = np.random.default_rng(42)
    rng.shuffle(names)
    sites = np.stack(np.meshgrid(*[np.arange(3)] * 3, indexing="ij"), -1).reshape(-1, 3) * 7.0 + 3.5
    positions = []
    for name, site in zip(names, sites):
        xyz = geometry[name] - geometry[name].mean(axis=0)
        rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        positions.append(xyz @ rotation.T + site)
    molecules = [electrolyte_molecules[n] for n in names]
    return molecules, torch.tensor(np.concatenate(positions)), torch.eye(3, dtype=torch.float64) * 21.0
