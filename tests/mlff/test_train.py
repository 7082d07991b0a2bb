"""mlff training: losses and metrics on known numbers, schedules, overfitting a teacher model, exact
resume, EMA, missing labels, ensembles and committees, and the mlff-train command end to end."""

from __future__ import annotations

import csv
import itertools
import json
import math

import ase
import ase.io
import numpy as np
import pytest
import torch
from ase.calculators.singlepoint import SinglePointCalculator
from hydra import compose, initialize_config_dir

from elyte.paths import config_dir
from mlff.data.batch import collate
from mlff.data.structure import MissingLabelError, Structure
from mlff.model.build import build_model
from mlff.model.io import load_model
from mlff.train.ensemble import Committee, train_ensemble
from mlff.train.losses import Metrics, WeightedLoss, check_labels, check_weights
from mlff.train.optim import EMA, LRSchedule
from mlff.train.trainer import Trainer, TrainConfig
from tests.mlff.random_structures import SMALL, batch_of, cluster, periodic

FAST = {**SMALL, "layers": 1}


def teacher_data(n: int = 4, seed: int = 123, atoms: int = 5) -> list[Structure]:
    """Random clusters labelled (energy, forces) by a fixed random model of the same architecture."""
    torch.manual_seed(seed)
    teacher = build_model(FAST).double()
    structures = [cluster(seed=s, n=atoms) for s in range(n)]
    out = teacher(batch_of(structures, teacher), create_graph=False)
    energies, forces = out["energy"].detach().numpy(), out["forces"].detach().numpy()
    ends = np.cumsum([s.n_atoms for s in structures])
    return [Structure(s.numbers, s.positions, energy=energies[k], forces=forces[end - s.n_atoms:end],
                      source=s.source) for k, (s, end) in enumerate(zip(structures, ends))]


def labelled_mixture() -> list[Structure]:
    """Two clusters (energy, forces, charges, dipole) and two boxes (energy, forces, stress) from a teacher."""
    torch.manual_seed(7)
    teacher = build_model(FAST).double()
    structures = [cluster(seed=1, n=5), cluster(seed=2, n=6), periodic(seed=3, n=8), periodic(seed=4, n=8)]
    out = {k: v.detach().numpy() for k, v in teacher(batch_of(structures, teacher), compute_stress=True,
                                                       create_graph=False).items()}
    ends = np.cumsum([s.n_atoms for s in structures])
    labelled = []
    for k, (s, end) in enumerate(zip(structures, ends)):
        atoms = slice(end - s.n_atoms, end)
        extra = {"stress": out["stress"][k]} if s.periodic else {"charges": out["charges"][atoms],
                                                                  "dipole": out["dipole"][k]}
        labelled.append(Structure(s.numbers, s.positions, s.cell, s.pbc, energy=out["energy"][k],
                                  forces=out["forces"][atoms], source=s.source, **extra))
    return labelled


def config(**overrides) -> TrainConfig:
    settings = {"epochs": 3, "batch_size": 2, "lr": 5e-3, "ema_decay": 0.9, "warmup_steps": 2, "device": "cpu",
                "dtype": "float64", "seed": 0}
    return TrainConfig(**{**settings, **overrides})


def trainer(tmp_path, data, weights=None, seed: int = 0, model_config=FAST, **overrides) -> Trainer:
    torch.manual_seed(seed)
    return Trainer(build_model(model_config), data, data, weights or {"energy": 1.0, "forces": 1.0},
                   config(**overrides), tmp_path)


def test_loss_and_metrics_on_known_numbers():
    """Masked means over labelled entries only; energy per atom; MAE / RMSE by hand."""
    a = Structure([1, 8], [[0, 0, 0], [1, 0, 0]], energy=1.0, forces=np.ones((2, 3)))
    b = Structure([1, 1, 8], [[0, 0, 0], [1, 0, 0], [0, 1.2, 0]], forces=np.zeros((3, 3)))  # no energy label
    batch = collate([a, b], 3.0)
    prediction = {"energy": torch.tensor([3.0, 100.0], dtype=torch.float64),
                  "forces": torch.zeros(5, 3, dtype=torch.float64)}
    loss, parts = WeightedLoss({"energy": 2.0, "forces": 0.5})(prediction, batch)
    energy_term = ((3.0 - 1.0) / 2) ** 2  # only structure a, per atom
    forces_term = 6 * 1.0 / 15  # six unit residuals over 15 components
    assert parts["energy"].item() == pytest.approx(energy_term)
    assert parts["forces"].item() == pytest.approx(forces_term)
    assert loss.item() == pytest.approx(2.0 * energy_term + 0.5 * forces_term)
    metrics = Metrics(["energy", "forces"])
    metrics.update(prediction, batch)
    values = metrics.compute()
    assert values["energy_mae"] == pytest.approx(1.0) and values["energy_structure_mae"] == pytest.approx(2.0)
    assert values["forces_mae"] == pytest.approx(6 / 15)
    assert values["forces_rmse"] == pytest.approx(math.sqrt(6 / 15))


def test_bad_weights_and_missing_labels_fail_clearly(tmp_path):
    data = teacher_data(2)
    with pytest.raises(ValueError, match="unknown loss term"):
        check_weights({"energie": 1.0})
    with pytest.raises(ValueError, match="every loss weight is zero"):
        check_weights({"energy": 0.0})
    with pytest.raises(MissingLabelError, match=r"\['stress'\].*loss.stress=0"):
        check_labels({"energy": 1.0, "stress": 1.0}, data)
    with pytest.raises(MissingLabelError, match="dipole"):
        trainer(tmp_path, data, {"energy": 1.0, "dipole": 0.1})  # fails at start-up, before any step
    with pytest.raises(ValueError, match="learned charges"):
        no_charges = {**FAST, "charges": {"enabled": False}, "electrostatics": {"enabled": False}}
        trainer(tmp_path, data, {"charges": 1.0}, model_config=no_charges)


def test_every_term_trains_on_partially_labelled_data(tmp_path):
    """Stress only on boxes, charges and dipoles only on clusters: each term sees its own entries."""
    weights = {"energy": 1.0, "forces": 1.0, "stress": 10.0, "charges": 1.0, "dipole": 1.0}
    run = trainer(tmp_path, labelled_mixture(), weights, epochs=2, batch_size=4, lr=1e-2, ema_decay=0.0,
                  warmup_steps=0)
    run.fit()
    for term in weights:
        assert math.isfinite(run.history[-1][f"val/{term}_rmse"]) and run.history[-1][f"val/{term}_rmse"] > 0
    assert run.history[-1]["val/loss"] < run.history[0]["val/loss"]


def test_schedule_warmup_cosine_and_plateau():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    schedule = LRSchedule(optimizer, "cosine", lr=1.0, total_steps=10, warmup_steps=4, min_lr=0.1)
    seen = [optimizer.param_groups[0]["lr"]]
    for _ in range(10):
        schedule.step()
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen[:3] == pytest.approx([0.25 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 10))) * (k + 1)
                                      for k in range(3)])
    assert seen[-1] == pytest.approx(0.1)
    plateau = LRSchedule(optimizer, "plateau", lr=1.0, total_steps=10, factor=0.5, patience=1)
    for loss in (1.0, 1.0, 1.0):
        plateau.end_epoch(loss)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)


def test_overfits_a_teacher_model(tmp_path):
    data = teacher_data(4)
    run = trainer(tmp_path, data, epochs=60, batch_size=4, lr=5e-2, ema_decay=0.5, warmup_steps=0, seed=1)
    run.fit()
    first, last = run.history[0], run.history[-1]
    assert last["val/loss"] < 1e-3 * first["val/loss"]
    assert last["val/forces_mae"] < 0.1 * first["val/forces_mae"]
    assert last["val/energy_structure_mae"] < 0.05  # kcal/mol, on energies spread over several kcal/mol


def test_exact_resume_is_bit_identical(tmp_path, monkeypatch):
    data = teacher_data(4)
    settings = {"epochs": 4, "schedule": "cosine", "grad_clip": 0.5}
    straight = trainer(tmp_path / "straight", data, **settings)
    straight.fit()

    original = Trainer.save_checkpoint

    def save_then_crash(self):
        path = original(self)
        if self.epoch == 2:
            raise KeyboardInterrupt("simulated interruption after the epoch-2 checkpoint")
        return path

    monkeypatch.setattr(Trainer, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        trainer(tmp_path / "resumed", data, **settings).fit()
    monkeypatch.setattr(Trainer, "save_checkpoint", original)
    torch.manual_seed(999)  # the checkpoint must restore every RNG state, whatever happened meanwhile
    resumed = trainer(tmp_path / "resumed", data, seed=42, **settings)  # fresh weights, replaced on load
    resumed.load_checkpoint()
    assert resumed.epoch == 2
    resumed.fit()
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    for name, value in straight.ema.shadow.items():
        assert torch.equal(value, resumed.ema.shadow[name]), name
    with (tmp_path / "resumed" / "metrics.csv").open() as handle:
        assert [int(row["epoch"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="other train settings"):
        trainer(tmp_path / "resumed", data, **{**settings, "lr": 1.0}).load_checkpoint()


def test_ema_is_validated_and_saved(tmp_path):
    data = teacher_data(4)
    run = trainer(tmp_path, data, epochs=2, ema_decay=0.9)
    run.fit()
    raw, ema = run.model.state_dict(), run.ema.shadow
    assert any(not torch.equal(raw[k], ema[k]) for k in raw)
    path = run.save_model(tmp_path / "model.pt")
    saved = load_model(path).state_dict()
    for key, value in run.best_state.items():
        assert torch.equal(saved[key], value), key
    assert any(not torch.equal(saved[k], raw[k]) for k in raw)
    # validation metrics are those of the EMA weights
    run.ema_model.load_state_dict(run.ema.shadow)
    assert run.validate()["energy_rmse"] == pytest.approx(run.history[-1]["val/energy_rmse"], rel=1e-12)


def test_early_stopping_keeps_the_best_epoch(tmp_path, monkeypatch):
    """A validation loss that only rises after epoch 1 stops the run after ``patience`` more epochs and
    the kept weights are the EMA of epoch 1."""
    losses = itertools.count(1.0)  # every call (validation and training loss) returns a larger value
    monkeypatch.setattr("mlff.train.trainer.loss_value", lambda metrics, weights: next(losses))
    kept = {}
    original = Trainer.validate

    def validate_and_remember(self):
        kept[self.epoch] = {k: v.clone() for k, v in self.ema.shadow.items()}
        return original(self)

    monkeypatch.setattr(Trainer, "validate", validate_and_remember)
    run = trainer(tmp_path, teacher_data(2), epochs=6, early_stopping_patience=2)
    model = run.fit()
    assert run.epoch == 3 and run.stopped_early and run.best_epoch == 1
    for key, value in model.state_dict().items():
        assert torch.equal(value, kept[1][key]), key
    assert any(not torch.equal(kept[1][k], kept[3][k]) for k in kept[1])


def test_ema_average():
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model)  # decay min(0.5, 2/11)
    assert ema.shadow["weight"].item() == pytest.approx(1 - 2 / 11)


def test_ensemble_and_committee(tmp_path):
    data = teacher_data(2)
    members = train_ensemble(2, lambda: build_model(FAST), data, data, {"energy": 1.0, "forces": 1.0},
                             config(epochs=1), tmp_path)
    paths = [path for _, path in members]
    assert [p.parent.name for p in paths] == ["member_0", "member_1"]
    batch = batch_of(data, members[0][0].model)
    same = Committee.from_files([paths[0], paths[0], paths[0]])(batch)
    assert torch.count_nonzero(same["energy_std"]) == 0 and torch.count_nonzero(same["forces_std"]) == 0
    single = load_model(paths[0])(batch, create_graph=False)
    assert torch.allclose(same["energy"], single["energy"], rtol=0, atol=1e-12)
    mixed = Committee.from_files(paths)(batch)
    assert bool((mixed["energy_std"] > 0).all())
    assert torch.allclose(mixed["energy"], mixed["energies"].mean(dim=0))
    assert torch.allclose(mixed["energy_std"], (mixed["energies"][0] - mixed["energies"][1]).abs() / 2)
    with pytest.raises(ValueError, match="elements / cutoffs"):
        Committee([load_model(paths[0]), build_model({**FAST, "cutoff": 2.6})])


def write_extxyz(structures: list[Structure], path) -> None:
    frames = []
    for s in structures:
        atoms = ase.Atoms(numbers=s.numbers, positions=s.positions)
        atoms.calc = SinglePointCalculator(atoms, energy=s.energy, forces=s.forces)
        atoms.info["energy_unit"] = "kcal/mol"
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")


def test_cli_end_to_end(tmp_path, monkeypatch):
    from elyte.cli import mlff_train

    data = tmp_path / "train.extxyz"
    write_extxyz(teacher_data(6), data)
    run_dir = tmp_path / "run"
    overrides = ["data.kind=ase", f"data.paths=[{data}]", "data.split.fractions=[0.5,0.25,0.25]",
                 "data.split.by_group=false", "train.epochs=2", "train.batch_size=2", "train.warmup_steps=0",
                 "train.device=cpu", *(f"model.{k}={v}" for k, v in FAST.items() if k not in ("elements",
                                                                                           "electrostatics", "repulsion")),
                 "model.elements=[H,Li,C,O]", "model.electrostatics.gaussian_width=0.5", "model.repulsion.enabled=true",
                 f"hydra.run.dir={run_dir}"]
    monkeypatch.setattr("sys.argv", ["mlff-train", *overrides])
    mlff_train.main()
    for name in ("config.yaml", "mlff_train.log", "metrics.csv", "checkpoint.pt", "learning_curve.png",
                 "parity_energy.png", "parity_forces.png", "model.pt", "summary.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["validation"]) >= {"energy_mae", "energy_rmse", "forces_mae", "forces_rmse"}
    assert summary["test"]["forces_rmse"] > 0 and summary["n_structures"]["train"] == 3
    model = load_model(run_dir / "model.pt")
    assert model.reference_energies[1] != 0.0  # fitted on the training set and stored

    # fine-tuning starts from the file (architecture, weights, references); with a vanishing learning
    # rate it must end where it started, whatever the model: section says
    tuned_dir = tmp_path / "tuned"
    monkeypatch.setattr("sys.argv", ["mlff-train", *overrides[:-1], f"init_from={run_dir / 'model.pt'}",
                                     "model.features=24", "train.epochs=1", "train.lr=1e-30", "train.schedule=constant",
                                     "train.ema_decay=0", f"hydra.run.dir={tuned_dir}"])
    mlff_train.main()
    tuned = load_model(tuned_dir / "model.pt")
    assert tuned.reference_energies == model.reference_energies and tuned.config == model.config
    for name, value in model.state_dict().items():
        assert torch.allclose(tuned.state_dict()[name], value, rtol=0, atol=1e-20), name
    with pytest.raises(ValueError, match=r"elements \[3, 8\] that the init_from model"):
        mlff_train.check_elements(build_model({**FAST, "elements": ["H", "C"]}), teacher_data(2))


def test_config_group_composes():
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        cfg = compose("mlff_train")
    assert TrainConfig.from_dict(cfg.train).epochs == cfg.train.epochs
    assert cfg.data.kind == "monomer_100" and cfg.model.elements
    with pytest.raises(ValueError, match="unknown train setting"):
        TrainConfig.from_dict({"epochz": 3})
