"""mlff data: structures and label checks, ASE / label-store / qm_monomer_100 readers with unit
conversion, reference energies, splits, collation with neighbour lists, lazy datasets."""

from __future__ import annotations

import ase
import ase.db
import ase.io
import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator
from hydra import compose, initialize_config_dir
from torch.utils.data import DataLoader

from elyte.labels.store import LabelStore, Record
from elyte.paths import config_dir
from elyte.units import EV_TO_KCAL, NM_TO_ANGSTROM
from mlff.data import (
    Collater,
    LabelError,
    LabelStoreDataset,
    MissingLabelError,
    Structure,
    StructureError,
    UnitsError,
    collate,
    fit_reference_energies,
    load_dataset,
    read_ase,
    read_ase_db,
    read_label_store,
    read_monomer_100,
    split_dataset,
    split_indices,
)
from tests.mlff.random_structures import cluster, periodic

WATER = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])


def labelled_water(shift=0.0, **info) -> ase.Atoms:
    atoms = ase.Atoms("OH2", positions=WATER + shift, cell=10.0 * np.eye(3), pbc=True)
    atoms.calc = SinglePointCalculator(atoms, energy=-2.0, forces=np.arange(9.0).reshape(3, 3),
                                       stress=np.array([1.0, 2.0, 3.0, 0.5, 0.25, 0.125]),
                                       charges=[-0.8, 0.4, 0.4], dipole=[0.1, 0.0, 0.2])
    atoms.info.update(info)
    return atoms


def test_structure_rejects_bad_labels():
    with pytest.raises(LabelError, match="energy label is NaN"):
        Structure(numbers=[8], positions=[[0, 0, 0]], energy=float("nan"), source="x.extxyz")
    with pytest.raises(LabelError, match="forces must have shape"):
        Structure(numbers=[8, 1], positions=np.zeros((2, 3)), forces=np.zeros((3, 3)))
    with pytest.raises(LabelError, match="no cell"):
        Structure(numbers=[8], positions=[[0, 0, 0]], pbc=True)
    s = Structure(numbers=[8], positions=[[0, 0, 0]], energy=1.0, source="x.extxyz")
    with pytest.raises(MissingLabelError, match="x.extxyz has no forces"):
        s.require(["energy", "forces"])


def test_extxyz_converted_from_ev(tmp_path):
    path = tmp_path / "w.extxyz"
    ase.io.write(path, [labelled_water(group="water", total_charge=-1), labelled_water(0.1)])
    first, second = read_ase(path)
    assert first.energy == pytest.approx(-2.0 * EV_TO_KCAL)
    np.testing.assert_allclose(first.forces, np.arange(9.0).reshape(3, 3) * EV_TO_KCAL)
    assert first.stress[0, 1] == pytest.approx(0.125 * EV_TO_KCAL)
    assert first.stress[2, 2] == pytest.approx(3 * EV_TO_KCAL)
    np.testing.assert_allclose(first.charges, [-0.8, 0.4, 0.4])
    np.testing.assert_allclose(first.dipole, [0.1, 0.0, 0.2])
    assert first.group == "water" and first.total_charge == -1 and second.group is None
    assert first.periodic and second.positions[0, 0] == pytest.approx(0.1)


def test_extxyz_virial_becomes_stress(tmp_path):
    atoms = labelled_water()
    atoms.calc = SinglePointCalculator(atoms, energy=-2.0)
    atoms.info["virial"] = np.diag([10.0, 20.0, 30.0]).reshape(-1)
    ase.io.write(tmp_path / "v.extxyz", atoms)
    (s,) = read_ase(tmp_path / "v.extxyz")
    np.testing.assert_allclose(np.diag(s.stress), -np.array([10.0, 20.0, 30.0]) / 1000.0 * EV_TO_KCAL)


def test_extxyz_with_stated_units(tmp_path):
    path = tmp_path / "nm.extxyz"
    atoms = labelled_water(energy_unit="kJ/mol", length_unit="nm")
    atoms.positions /= NM_TO_ANGSTROM
    atoms.cell /= NM_TO_ANGSTROM
    ase.io.write(path, atoms)
    (s,) = read_ase(path)
    np.testing.assert_allclose(s.positions, WATER, atol=1e-12)
    assert s.energy == pytest.approx(-2.0 / 4.184)
    assert s.forces[0, 1] == pytest.approx(1.0 / 4.184 / NM_TO_ANGSTROM)
    with pytest.raises(UnitsError, match="states energy in 'kJ/mol' but the reader was told 'eV'"):
        read_ase(path, units={"energy": "eV"})
    with pytest.raises(UnitsError, match="unknown energy unit"):
        read_ase(tmp_path / "nm.extxyz", units={"energy": "furlongs"})


def test_ase_db_with_metadata_units(tmp_path):
    path = tmp_path / "w.db"
    with ase.db.connect(path) as db:
        db.write(labelled_water(), group="water", total_charge=1)
        db.write(labelled_water(0.2))
    ase.db.connect(path).metadata = {"energy_unit": "kcal/mol"}
    first, second = read_ase_db(path)
    assert first.energy == pytest.approx(-2.0) and first.group == "water" and first.total_charge == 1
    assert second.forces[2, 2] == pytest.approx(8.0)
    with pytest.raises(UnitsError, match="metadata states energy"):
        read_ase_db(path, units={"energy": "eV"})


def water_record(shift: float, name: str, **labels) -> Record:
    base = {"energy": np.array(-47960.0 + shift), "forces": np.full((3, 3), shift), "dipole": np.array([0, 0.4, 0])}
    return Record(numbers=[8, 1, 1], positions=WATER + shift, method="m", labels={**base, **labels},
                  provenance={"name": name})


def make_store(path, n=6):
    with LabelStore(path) as store:
        for k in range(n):
            store.add(water_record(0.1 * k, f"mol{k // 2}", charges_mbis=np.array([-0.8, 0.4, 0.4])))
    return path


def test_label_store_reader_and_lazy_dataset(tmp_path):
    path = make_store(tmp_path / "a.h5")
    structures = read_label_store(path, charges_scheme="mbis")
    assert len(structures) == 6 and {s.group for s in structures} == {"mol0", "mol1", "mol2"}
    assert all(s.charges is not None and s.dipole is not None and s.stress is None for s in structures)
    with pytest.raises(KeyError, match="charge schemes present: \\['mbis'\\]"):
        read_label_store(path, charges_scheme="hirshfeld")

    second = make_store(tmp_path / "b.h5", n=4)
    dataset = LabelStoreDataset([path, second])
    assert len(dataset) == 10 and dataset.groups().count("mol0") == 4
    energies = sorted(dataset[i].energy for i in range(len(dataset)))
    assert energies == pytest.approx(sorted([s.energy for s in structures] + [-47960.0 + 0.1 * k for k in range(4)]))
    loader = DataLoader(dataset, batch_size=4, collate_fn=Collater(cutoff=3.0, require=("energy", "forces")))
    batches = list(loader)
    assert [b.n_structures for b in batches] == [4, 4, 2] and batches[0].energy_mask.all()
    # worker processes (forked after the parent opened the files) reopen their own handles
    workers = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=Collater(cutoff=3.0))
    torch.testing.assert_close(torch.cat([b.energy for b in workers]), torch.cat([b.energy for b in batches]))
    dataset.close()


def test_a_provenance_group_outranks_the_name(tmp_path):
    """Clusters cut from one MD frame share molecules: their ``group`` keeps them in one split."""
    path = tmp_path / "clusters.h5"
    with LabelStore(path) as store:
        for k in range(4):
            record = water_record(0.1 * k, "Li-shell")
            record.provenance["group"] = f"traj#{k // 2}"
            store.add(record)
    assert sorted(s.group for s in read_label_store(path)) == ["traj#0", "traj#0", "traj#1", "traj#1"]
    dataset = LabelStoreDataset([path])
    assert sorted(dataset.groups()) == ["traj#0", "traj#0", "traj#1", "traj#1"]
    dataset.close()


def test_qm_monomer_100(shared_data, tmp_path):
    structures = read_monomer_100(shared_data / "qm_monomer_100", tmp_path / "m100.h5")
    assert len(structures) == 200 and len({s.group for s in structures}) == 100
    assert all(s.forces is not None and np.isfinite(s.energy) and not s.periodic for s in structures)
    assert {s.total_charge for s in structures} == {0.0, -1.0}  # neutral and anionic molecules
    references = fit_reference_energies(structures)
    assert set(references) == {1, 6, 7, 8, 9, 15, 16, 17, 35, 53}
    residual = [s.energy - sum(references[int(z)] for z in s.numbers) for s in structures]
    assert np.std(residual) < 0.01 * np.std([s.energy for s in structures])
    train, validation, test = split_indices(len(structures), [0.8, 0.1, 0.1], seed=3,
                                            groups=[s.group for s in structures])
    groups = [{structures[i].group for i in part} for part in (train, validation, test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    batch = collate(structures[:4], cutoff=5.0)
    assert batch.forces_mask.all() and not batch.stress_mask.any()


def test_reference_energies_recover_known_values():
    rng = np.random.default_rng(0)
    truth = {1: -300.0, 6: -23000.0, 8: -47000.0}
    structures = []
    for k in range(12):
        numbers = rng.choice(list(truth), size=rng.integers(2, 9))
        structures.append(Structure(numbers=numbers, positions=np.arange(3 * len(numbers)).reshape(-1, 3),
                                    energy=sum(truth[int(z)] for z in numbers)))
    fitted = fit_reference_energies(structures)
    assert fitted == pytest.approx(truth, abs=1e-6)
    with pytest.raises(ValueError, match="appear in no labelled structure"):
        fit_reference_energies(structures, elements=[1, 6, 8, 3])


def test_splits_are_reproducible_disjoint_and_grouped():
    parts = split_indices(50, [0.6, 0.2, 0.2], seed=7)
    assert [len(p) for p in parts] == [30, 10, 10]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(50))
    assert all(np.array_equal(a, b) for a, b in zip(parts, split_indices(50, [0.6, 0.2, 0.2], seed=7)))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, split_indices(50, [0.6, 0.2, 0.2], seed=8)))
    groups = [f"g{k // 5}" for k in range(50)]
    for part in split_indices(50, [0.6, 0.2, 0.2], seed=1, groups=groups):
        assert len(part) % 5 == 0 and all(set(part) >= {i for i in range(50) if groups[i] == groups[p]} for p in part)
    with pytest.raises(ValueError, match="sum to 1"):
        split_indices(5, [0.5, 0.4], seed=0)


def test_hash_split_keeps_groups_in_place_when_data_grow():
    def split_of(groups: list[str], order: str) -> dict[str, int]:
        parts = split_indices(len(groups), [0.8, 0.1, 0.1], seed=0, groups=groups, order=order)
        return {groups[i]: k for k, part in enumerate(parts) for i in part}

    groups = [f"molecule{k // 4}" for k in range(400)]
    grown = groups + [f"frame{k // 2}" for k in range(100)]  # a round of active learning adds 25%
    moved = {order: np.mean([split_of(groups, order)[g] != split_of(grown, order)[g] for g in set(groups)])
             for order in ("hash", "shuffle")}
    assert moved["hash"] < 0.06 < 0.15 < moved["shuffle"]
    sizes = [len(p) for p in split_indices(500, [0.8, 0.1, 0.1], seed=0, groups=grown)]
    assert np.abs(np.subtract(sizes, [400, 50, 50])).max() <= 4  # shares exact to within a group
    with pytest.raises(ValueError, match="unknown split order"):
        split_indices(5, [0.6, 0.4], seed=0, order="random")


def test_collate_edges_match_brute_force():
    structures = [periodic(0), cluster(1)]
    batch = collate(structures, cutoff=3.0, long_cutoff=4.5)
    lists = ((batch.edge_index, batch.shifts, 3.0), (batch.long_edge_index, batch.long_shifts, 4.5))
    for edges, shifts, cutoff in lists:
        found = {(int(i), int(j), *map(int, s)) for (i, j), s in zip(edges.T, shifts)}
        expected = set()
        offset = 0
        for s in structures:
            images = [(0, 0, 0)] if not s.periodic else [(a, b, c) for a in range(-1, 2) for b in range(-1, 2)
                                                         for c in range(-1, 2)]
            for i in range(s.n_atoms):
                for j in range(s.n_atoms):
                    for image in images:
                        vector = s.positions[j] - s.positions[i] + (np.array(image) @ s.cell if s.periodic else 0)
                        if (i != j or any(image)) and np.linalg.norm(vector) < cutoff:
                            expected.add((i + offset, j + offset, *image))
            offset += s.n_atoms
        assert found == expected
    assert batch.batch.tolist() == [0] * 10 + [1] * 8 and batch.cell[1].abs().sum() == 0


def test_collate_masks_and_errors():
    labelled = Structure(numbers=[8, 1], positions=[[0, 0, 0], [0.97, 0, 0]], energy=-1.0, forces=np.ones((2, 3)))
    bare = Structure(numbers=[8, 1], positions=[[0, 0, 0], [0.97, 0, 0]], source="bare.xyz")
    batch = collate([labelled, bare], cutoff=3.0, dtype=torch.float32)
    assert batch.energy_mask.tolist() == [True, False] and batch.forces_mask.tolist() == [True, True, False, False]
    assert batch.positions.dtype == torch.float32 and batch.to(dtype=torch.float64).energy.dtype == torch.float64
    with pytest.raises(MissingLabelError, match="bare.xyz has no energy, forces"):
        collate([labelled, bare], cutoff=3.0, require=("energy", "forces"))
    overlap = Structure(numbers=[8, 1], positions=[[0, 0, 0], [0.1, 0, 0]], source="bad.xyz")
    with pytest.raises(StructureError, match="atoms 0 and 1 of bad.xyz are 0.1 A apart"):
        collate([overlap], cutoff=3.0)


def test_dataset_from_config(tmp_path):
    path = make_store(tmp_path / "a.h5")
    with initialize_config_dir(config_dir=str(config_dir() / "data"), version_base="1.3"):
        cfg = compose(config_name="default", overrides=[f"paths=[{path}]", "charges_scheme=mbis",
                                                         "split.fractions=[0.6667,0.3333]"])
    dataset = load_dataset(cfg)
    assert dataset[0].charges is not None
    train, test = split_dataset(dataset, cfg.split)
    assert len(train) == 4 and len(test) == 2
    assert {train[i].group for i in range(4)}.isdisjoint({test[i].group for i in range(2)})
    with pytest.raises(ValueError, match="data.paths is empty"):
        load_dataset({"kind": "ase", "paths": []})
