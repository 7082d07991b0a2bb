"""Interaction-energy labels in mlff: reading and validating them, collating the molecules of a cluster
with it, the loss and metrics on known numbers against the model evaluated molecule by molecule, and
training on the term."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator

from elyte.paths import data_dir
from elyte.units import EV_TO_KCAL
from mlff.data import load_dataset
from mlff.data.ase_io import read_ase
from mlff.data.batch import collate
from mlff.data.structure import LabelError, Structure
from mlff.model.build import build_model
from mlff.train.losses import Metrics, WeightedLoss
from mlff.train.trainer import Trainer, TrainConfig
from tests.mlff.random_structures import SMALL, batch_of, cluster


def with_molecules(structure: Structure, fragments, charges, interaction_energy: float | None = 1.0) -> Structure:
    return Structure(structure.numbers, structure.positions, total_charge=sum(charges),
                     interaction_energy=interaction_energy, fragments=fragments, fragment_charges=charges,
                     source=structure.source)


def test_structure_checks_its_molecules():
    base = cluster(seed=1, n=5)
    with pytest.raises(LabelError, match="needs the molecule of every atom"):
        Structure(base.numbers, base.positions, interaction_energy=-3.0)
    with pytest.raises(LabelError, match="molecule index 0..K-1"):
        with_molecules(base, [0, 0, 2, 2, 2], [0, 0, 0])
    with pytest.raises(LabelError, match="summing to the total charge"):
        Structure(base.numbers, base.positions, total_charge=1.0, interaction_energy=-3.0, fragments=[0, 0, 1, 1, 1],
                  fragment_charges=[0, 0])
    with pytest.raises(LabelError, match="NaN"):
        with_molecules(base, [0, 0, 1, 1, 1], [0, 0], interaction_energy=float("nan"))
    with pytest.raises(LabelError, match="clusters only"):
        Structure(base.numbers, base.positions, cell=20 * np.eye(3), pbc=True, interaction_energy=-3.0,
                  fragments=[0, 0, 1, 1, 1], fragment_charges=[0, 0])
    split = with_molecules(base, [1, 0, 1, 0, 1], [1, -1]).molecules()
    assert [m.n_atoms for m in split] == [2, 3] and [m.total_charge for m in split] == [1.0, -1.0]
    assert np.array_equal(split[1].positions, base.positions[[0, 2, 4]]) and split[1].energy is None


def test_extxyz_and_label_store_carry_interaction_energies(tmp_path):
    atoms = ase.Atoms("LiOH", positions=[[0, 0, 0], [2.0, 0, 0], [2.9, 0.3, 0]])
    atoms.arrays["fragments"] = np.array([0, 1, 1])
    atoms.info.update(interaction_energy=-0.5, fragment_charges=[1, 0], charge=1)
    atoms.calc = SinglePointCalculator(atoms, energy=-10.0)
    ase.io.write(tmp_path / "pair.extxyz", atoms)
    (read,) = read_ase(tmp_path / "pair.extxyz")
    assert read.interaction_energy == pytest.approx(-0.5 * EV_TO_KCAL) and read.fragments.tolist() == [0, 1, 1]
    assert read.fragment_charges.tolist() == [1.0, 0.0]
    shells = load_dataset({"kind": "label_store", "paths": [str(data_dir() / "qm/electrolyte_md_v1_gfn2.h5.gz")]})
    shell = next(s for s in shells if s.interaction_energy is not None)
    assert sum(m.n_atoms for m in shell.molecules()) == shell.n_atoms
    assert sum(m.total_charge for m in shell.molecules()) == shell.total_charge


def test_collated_molecules_give_the_interaction_energy_of_separate_evaluations():
    """The batched E(cluster) - sum E(molecules) equals the model run on each structure alone."""
    torch.manual_seed(0)
    model = build_model(SMALL).double()
    pair = with_molecules(cluster(seed=2, n=7), [0, 0, 0, 1, 1, 2, 2], [1, -1, 0], interaction_energy=-4.0)
    plain = cluster(seed=3, n=5)
    batch = collate([pair, plain], model.config.cutoff, model.config.long_cutoff, molecules=True)
    assert batch.n_structures == 5 and batch.molecule_of.tolist() == [-1, -1, 0, 0, 0]
    assert batch.interaction_energy_mask.tolist() == [True, False, False, False, False]
    energy = model(batch, create_graph=False)["energy"].detach()
    alone = [model(batch_of([s], model), create_graph=False)["energy"].item()
             for s in [pair, *pair.molecules()]]
    predicted = batch.interaction_energies(energy)
    assert predicted[0].item() == pytest.approx(alone[0] - sum(alone[1:]), abs=1e-9)
    assert predicted[1] == energy[1]
    without = collate([pair, plain], model.config.cutoff, model.config.long_cutoff)
    assert without.n_structures == 2 and not without.interaction_energy_mask.any()


def test_loss_and_metrics_on_known_interaction_energies():
    a = with_molecules(cluster(seed=4, n=4), [0, 0, 1, 1], [0, 0], interaction_energy=-5.0)
    b = with_molecules(cluster(seed=5, n=3), [0, 1, 1], [0, 0], interaction_energy=2.0)
    batch = collate([a, b], 3.0, molecules=True)  # structures a, b, a0, a1, b0, b1
    energy = torch.tensor([-20.0, 7.0, -8.0, -10.0, 1.0, 3.0], dtype=torch.float64)
    # predicted E_int: a: -20 + 18 = -2 (residual +3); b: 7 - 4 = 3 (residual +1)
    loss, parts = WeightedLoss({"interaction_energy": 0.5})({"energy": energy}, batch)
    assert parts["interaction_energy"].item() == pytest.approx((9 + 1) / 2) and loss.item() == pytest.approx(2.5)
    metrics = Metrics(["interaction_energy"])
    metrics.update({"energy": energy}, batch)
    values = metrics.compute()
    assert values["interaction_energy_mae"] == pytest.approx(2.0)
    assert values["interaction_energy_bias"] == pytest.approx(2.0)
    assert values["interaction_energy_rmse"] == pytest.approx(np.sqrt(5.0))


def test_training_on_interaction_energies_learns_them(tmp_path):
    """A student fits a teacher's interaction energies (and nothing else) of two-molecule clusters."""
    torch.manual_seed(11)
    teacher = build_model({**SMALL, "layers": 1}).double()
    clusters = [with_molecules(cluster(seed=s, n=6), [0, 0, 0, 1, 1, 1], [0, 0]) for s in range(4)]
    batch = collate(clusters, teacher.config.cutoff, teacher.config.long_cutoff, molecules=True)
    labels = batch.interaction_energies(teacher(batch, create_graph=False)["energy"].detach())[:4]
    data = [with_molecules(c, c.fragments, c.fragment_charges, float(e)) for c, e in zip(clusters, labels)]
    torch.manual_seed(0)
    config = TrainConfig(epochs=40, batch_size=4, lr=2e-2, ema_decay=0.0, warmup_steps=0, device="cpu")
    run = Trainer(build_model({**SMALL, "layers": 1}), data, data, {"interaction_energy": 1.0}, config, tmp_path)
    run.fit()
    first, last = run.history[0]["val/interaction_energy_mae"], run.history[-1]["val/interaction_energy_mae"]
    assert last < 0.1 * first
