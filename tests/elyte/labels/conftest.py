"""Small molecules shared by the label tests (Angstrom)."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.labels.structure import QMStructure

WATER = np.array([[0.0, 0.0, 0.12], [0.77, 0.0, -0.46], [-0.74, 0.05, -0.47]])  # slightly distorted


@pytest.fixture
def water() -> QMStructure:
    return QMStructure([8, 1, 1], WATER)


@pytest.fixture
def water_dimer() -> QMStructure:
    """Near the equilibrium geometry of (H2O)2 (O-O 2.91 A, linear hydrogen bond), two fragments."""
    positions = np.array([
        [-1.551007, -0.114520, 0.000000], [-1.934259, 0.762503, 0.000000], [-0.599677, 0.040712, 0.000000],
        [1.350625, 0.111469, 0.000000], [1.680398, -0.373741, -0.758561], [1.680398, -0.373741, 0.758561],
    ])
    return QMStructure([8, 1, 1, 8, 1, 1], positions, fragments=[0, 0, 0, 1, 1, 1])


def finite_difference_forces(compute_energy, structure: QMStructure, atoms=None, step: float = 1e-3) -> np.ndarray:
    """-dE/dx by central differences for the listed atoms (all by default), shape [len(atoms), 3]."""
    atoms = range(len(structure.numbers)) if atoms is None else atoms
    out = []
    for i in atoms:
        row = []
        for k in range(3):
            energies = []
            for sign in (1, -1):
                moved = structure.positions.copy()
                moved[i, k] += sign * step
                energies.append(compute_energy(QMStructure(structure.numbers, moved, structure.charge,
                                                           structure.multiplicity)))
            row.append(-(energies[0] - energies[1]) / (2 * step))
        out.append(row)
    return np.array(out)


def shipped_records(file_name: str) -> list:
    """Every record of a shipped label store under data/qm/."""
    from elyte.labels.store import LabelStore
    from elyte.paths import data_dir

    with LabelStore(data_dir() / "qm" / file_name, "r") as store:
        return list(store)


GFN2_REQUESTS = ["energy", "forces", "dipole", "charges_mulliken", "dftd4", "interaction_energy"]


def assert_gfn2_relabelling_reproduces(records: list, count: int, seed: int) -> None:
    """GFN2-xTB labels computed afresh for ``count`` random ``records`` equal the stored ones (the
    interaction energy only for records with fragments)."""
    from elyte.labels.compute import label_structure
    from elyte.labels.engines import make_backend
    from elyte.labels.inputs import structure_from_record

    backend = make_backend({"name": "xtb"})
    for k in np.random.default_rng(seed).choice(len(records), size=count, replace=False):
        record = records[k]
        requests = GFN2_REQUESTS if "fragments" in record.provenance else GFN2_REQUESTS[:-1]
        fresh = label_structure(backend, structure_from_record(record), requests)
        assert set(fresh) == set(record.labels)
        for name, value in fresh.items():
            np.testing.assert_allclose(value, record.labels[name], rtol=1e-6, atol=1e-5)
