"""Training of the polff parameterizer: targets, modified Seminario, losses, trainer, resume, CLI."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from elyte.labels.monomer100 import import_monomer_100
from elyte.labels.store import LabelStore, Record
from polff.fit.data import FitData, read_records
from polff.fit.losses import (
    LOSS_TERMS, FitLoss, check_weights, damping_penalty, conformer_energies,
    interaction_energy, prior_penalty,
)
from polff.fit.seminario import angle_parameters, bond_parameters
from polff.fit.targets import BONDED_TARGETS, TARGET_LABELS, symmetric_charges, ts_radii
from polff.fit.trainer import TrainConfig, Trainer, forward, make_split
from polff.molecule import from_smiles
from polff.energy import PolarizableEnergy
from polff.params import Parameterizer, differentiable_system, load_model, make_batch
from polff.params.priors import element_priors
from polff.terms.bonds import bond_energy

# --- modified Seminario -----------------------------------------------------------------------


def spring_hessian(positions, pairs, k_along, k_across):
    """Hessian (kcal/mol/A^2) of pairwise springs: stiffness k_along on the pair axis and k_across
    perpendicular to it, the model the Seminario method inverts."""
    n = len(positions)
    h = np.zeros((3 * n, 3 * n))
    for (a, b), ka, kp in zip(pairs, k_along, k_across):
        u = positions[b] - positions[a]
        u /= np.linalg.norm(u)
        block = ka * np.outer(u, u) + kp * (np.eye(3) - np.outer(u, u))
        for i, j, sign in ((a, a, 1), (b, b, 1), (a, b, -1), (b, a, -1)):
            h[3 * i:3 * i + 3, 3 * j:3 * j + 3] += sign * block
    return h


def test_seminario_recovers_bond_constants_of_a_harmonic_bond_network():
    positions = np.array([[0.0, 0.0, 0.0], [1.1, 0.1, -0.2], [-0.4, 1.3, 0.3], [-0.5, -0.6, 1.2], [2.0, 0.9, -0.1]])
    bonds = np.array([[0, 1], [0, 2], [0, 3], [1, 4]])
    k = np.array([350.0, 720.0, 1100.0, 480.0])
    x = torch.tensor(positions, dtype=torch.float64)
    r0 = (x[bonds[:, 1]] - x[bonds[:, 0]]).norm(dim=1)
    hessian = torch.autograd.functional.hessian(
        lambda p: bond_energy(p.reshape(-1, 3), torch.as_tensor(bonds), r0, torch.as_tensor(k)), x.reshape(-1)).numpy()
    k_fit, r_fit = bond_parameters(hessian, positions, bonds)
    np.testing.assert_allclose(k_fit, k, rtol=1e-10)
    np.testing.assert_allclose(r_fit, r0.numpy(), rtol=1e-12)


@pytest.mark.parametrize("degrees", [75.0, 104.5, 120.0, 160.0])
def test_seminario_recovers_angle_constant_of_pair_springs(degrees):
    """Triatomic of pair springs: bending by d(theta) rotates the two arms in series, so the angle
    force constant is 1 / (1 / (kp_A R_A^2) + 1 / (kp_C R_C^2))."""
    t = np.radians(degrees)
    positions = np.array([[0.97, 0.0, 0.0], [0.0, 0.0, 0.0], [1.4 * np.cos(t), 1.4 * np.sin(t), 0.0]])
    pairs, k_along, k_across = [(0, 1), (1, 2)], [1100.0, 800.0], [60.0, 35.0]
    hessian = spring_hessian(positions, pairs, k_along, k_across)
    k_bond, _ = bond_parameters(hessian, positions, np.array(pairs))
    np.testing.assert_allclose(k_bond, k_along, rtol=1e-10)
    k_angle, theta = angle_parameters(hessian, positions, np.array([[0, 1, 2]]))
    expected = 1.0 / (1.0 / (60.0 * 0.97**2) + 1.0 / (35.0 * 1.4**2))
    np.testing.assert_allclose(k_angle, [expected], rtol=1e-10)
    np.testing.assert_allclose(theta, [t], rtol=1e-12)


def test_modified_seminario_shares_an_arm_between_coplanar_angles():
    """A planar three-coordinate centre: each arm's in-plane stiffness serves two angles whose
    perpendiculars are parallel, so the modification doubles each compliance (f = 2)."""
    arms = np.radians([0.0, 120.0, 240.0])
    positions = np.vstack([[0.0, 0.0, 0.0], 1.3 * np.stack([np.cos(arms), np.sin(arms), 0 * arms], 1)])
    pairs = [(0, 1), (0, 2), (0, 3)]
    hessian = spring_hessian(positions, pairs, [600.0] * 3, [50.0] * 3)
    k_angle, theta = angle_parameters(hessian, positions, np.array([[1, 0, 2], [1, 0, 3], [2, 0, 3]]))
    np.testing.assert_allclose(k_angle, 50.0 * 1.3**2 / 4.0, rtol=1e-10)
    np.testing.assert_allclose(theta, np.radians(120.0), rtol=1e-12)


@pytest.mark.parametrize("degrees", [90.0, 104.5, 120.0, 150.0])
def test_seminario_on_a_valence_force_field_hessian(degrees):
    """Bonds + a harmonic angle (the Hessian a force field gives): the method is approximate by
    construction here (the angle term also couples the bonded pairs), bonds within 1 %, the angle
    within 30 %."""
    from polff.terms.angles import angle_energy

    t = np.radians(degrees)
    x = torch.tensor([[0.96, 0.0, 0.0], [0.0, 0.0, 0.0], [0.96 * np.cos(t), 0.96 * np.sin(t), 0.0]],
                     dtype=torch.float64)
    bonds, angles = torch.tensor([[0, 1], [1, 2]]), torch.tensor([[0, 1, 2]])

    def energy(p):
        p = p.reshape(-1, 3)
        return (bond_energy(p, bonds, torch.tensor([0.96, 0.96], dtype=torch.float64), torch.tensor([1100.0, 1100.0]))
                + angle_energy(p, angles, torch.tensor([t], dtype=torch.float64), torch.tensor([100.0])))

    hessian = torch.autograd.functional.hessian(energy, x.reshape(-1)).numpy()
    k_bond, _ = bond_parameters(hessian, x.numpy(), bonds.numpy())
    k_angle, theta = angle_parameters(hessian, x.numpy(), angles.numpy())
    np.testing.assert_allclose(k_bond, 1100.0, rtol=0.01)
    np.testing.assert_allclose(k_angle, 100.0, rtol=0.3)
    np.testing.assert_allclose(theta, t, rtol=1e-12)


def test_seminario_rejects_a_bad_hessian():
    with pytest.raises(ValueError, match="Hessian"):
        bond_parameters(np.zeros((6, 5)), np.zeros((2, 3)), np.array([[0, 1]]))


# --- targets ----------------------------------------------------------------------------------


def test_esp_charge_targets_are_symmetric_with_exact_total():
    acetate = from_smiles("CC(=O)[O-]")  # C C O O H H H
    rng = np.random.default_rng(0)
    raw = np.array([-0.3, 0.8, -0.8, -0.75, 0.02, 0.03, 0.01]) + rng.normal(0, 0.02, (3, 7))
    q = symmetric_charges(raw, acetate.symmetry_class, total=-1.0)
    assert q[2] == q[3] and q[4] == q[5] == q[6]
    assert abs(q.sum() + 1.0) < 1e-13
    # the shift is even: differences within the mean of the conformers are kept
    mean = raw.mean(0)
    assert q[1] - q[0] == pytest.approx(mean[1] - mean[0], abs=1e-12)


def test_dftd4_and_volume_targets_are_symmetric_and_left_out_for_bare_ions():
    from polff.fit.data import FitMolecule
    from polff.fit.targets import molecule_targets
    from polff.params.graph import MoleculeGraph

    def targets(smiles, alpha):
        graph = MoleculeGraph.from_molecule(from_smiles(smiles))
        n = graph.molecule.n_atoms
        labels = {"atomic_polarizabilities": np.asarray(alpha, float)[None], "c6": 10 * np.asarray(alpha, float)[None],
                  "volume_ratios": np.full((1, len(alpha)), 0.01 if smiles == "[Li+]" else 0.729)}
        return molecule_targets(FitMolecule(smiles, "d4", smiles, np.zeros((0, n, 3)), np.zeros(0), None, labels),
                                graph)

    water = targets("O", [1.0, 0.2, 0.3])
    np.testing.assert_allclose(water["alpha"], [1.0, 0.25, 0.25])
    np.testing.assert_allclose(water["c6"], [10.0, 2.5, 2.5])
    np.testing.assert_allclose(water["rvdw"], element_priors(["O", "H", "H"])["rvdw"] * 0.9)
    assert targets("[Li+]", [16.8]) == {}  # Li+ Hirshfeld V/V_free = 0.01 is against the neutral atom


def test_a_bare_ion_takes_its_finite_field_polarizability_and_c6_and_errors_can_be_log_ratios():
    from polff.fit.losses import MoleculeItem, molecule_losses
    from polff.fit.targets import molecule_targets

    tensor = np.diag([0.026, 0.027, 0.028])  # A^3, the mean of two records' traces / 3 is the target
    records = [Record(np.array([3]), np.zeros((1, 3)), "dft",
                      {"energy": np.asarray(-4570.0), "polarizability": t, "molecular_c6": np.asarray(c6),
                       "c6": np.array([9900.0])},  # dftd4's neutral-like value is no target
                      total_charge=1, provenance={"name": "Li", "smiles": "[Li+]"})
               for t, c6 in ((tensor, 0.9), (2 * tensor, 1.0))]
    data = read_records(records)
    (li,) = data.molecules
    assert li.polarizability == pytest.approx(0.0405) and li.molecular_c6 == pytest.approx(0.95)
    targets = molecule_targets(li, data.graphs["[Li+]"])
    np.testing.assert_allclose(targets["alpha"], [0.0405])
    np.testing.assert_allclose(targets["c6"], [0.95])
    # relative: the same relative error costs the same on Li+ (0.03 A^3) as on a sulfur (3 A^3)
    for target in (0.03, 3.0):
        item = MoleculeItem("x", "[Li+]", make_batch(["[Li+]"]), {"alpha": torch.tensor([target], dtype=torch.float64)},
                            torch.zeros(0, 1, 3), torch.zeros(0), None)
        outputs = {"alpha": torch.tensor([1.5 * target])}
        ratio = molecule_losses(item, outputs, {"alpha"}, create_graph=False, log_errors=["alpha"])
        assert float(ratio["alpha"]) == pytest.approx(np.log(1.5) ** 2)
        absolute = molecule_losses(item, outputs, {"alpha"}, create_graph=False, log_errors=["c6"])
        assert float(absolute["alpha"]) == pytest.approx((0.5 * target) ** 2)
    # a prediction collapsing to zero costs without bound (a relative error would cost at most 1)
    collapsed = molecule_losses(item, {"alpha": torch.tensor([1e-3 * target])}, {"alpha"}, create_graph=False,
                                log_errors=["alpha"])
    assert float(collapsed["alpha"]) == pytest.approx(np.log(1e3) ** 2)
    assert TrainConfig(log_errors=["alpha", "c6"]).log_errors == ("alpha", "c6")
    with pytest.raises(ValueError, match="log_errors"):
        TrainConfig(log_errors=["charge"])


def test_records_of_an_octahedral_ion_are_aligned_on_one_cis_trans_pairing():
    """Two embeddings of PF6- pair their fluorines differently: every record is reordered (positions,
    forces, per-atom labels, Hessian) onto the pairing of the graph, or its trans F-P-F angles would be
    fitted as cis (the v2 model learned theta0 147 deg, k 6 for PF6-'s cis angles, and PF6- collapsed)."""
    from polff.params.graph import octahedral_angles

    smiles = "F[P-](F)(F)(F)(F)F"
    axes = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float) * 1.6
    first = np.vstack([axes[:1], [[0.0, 0.0, 0.0]], axes[1:]])  # SMILES order: F, P, F, F, F, F, F
    swap = [0, 1, 4, 3, 2, 5, 6]  # atoms 2 and 4 trade places: (0, 2) is now cis, (0, 4) trans
    second = first[swap] * 1.01
    numbers = np.array([9, 15, 9, 9, 9, 9, 9])
    hessian = np.diag(np.repeat(np.arange(7.0), 3) + 1)  # 1 + atom index on each atom's three rows
    records = [Record(numbers, x, "gfn2", {"energy": np.asarray(e), "forces": 2.0 * x, "charges_esp": x[:, 0]}
                      | ({"hessian": hessian} if e else {}),
                      total_charge=-1, provenance={"name": "PF6", "smiles": smiles})
               for x, e in ((first, 0.0), (second, 1.0))]
    data = read_records(records)
    (pf6,) = data.molecules
    graph = data.graphs[smiles]
    assert len(graph.terms["angles"]) == 12
    for x, f in zip(pf6.positions, pf6.forces):
        np.testing.assert_array_equal(octahedral_angles(graph.molecule, x), graph.terms["angles"])
        np.testing.assert_allclose(f, 2.0 * x)  # forces follow their atoms
    np.testing.assert_allclose(pf6.atom_labels["charges_esp"], pf6.positions[:, :, 0])
    aligned, permuted = pf6.hessian
    order = [int(np.argmin(np.linalg.norm(second - x, axis=1))) for x in aligned]
    assert order != list(range(7)) and sorted(order) == list(range(7))
    np.testing.assert_allclose(np.diag(permuted)[::3], np.array(order) + 1.0)


def test_ts_radii_scale_with_the_cube_root_of_the_volume_ratio():
    prior = element_priors(["C", "H"])["rvdw"]
    np.testing.assert_allclose(ts_radii(["C", "H"], np.array([1.0, 0.729])), prior * [1.0, 0.9])
    with pytest.raises(ValueError, match="positive"):
        ts_radii(["C"], np.array([0.0]))


# --- data from label stores -------------------------------------------------------------------


@pytest.fixture(scope="module")
def monomer_records(shared_data, tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "monomer_100.h5"
    with LabelStore(path) as store:
        import_monomer_100(shared_data / "qm_monomer_100", store)
    with LabelStore(path, mode="r") as store:
        return list(store)


def molecule_names(records, n):
    return sorted({r.provenance["name"] for r in records})[:n]


def dimer_record(records, a: str, b: str, energy: float) -> Record:
    """A dimer of the first conformers of ``a`` and ``b``, 6 A apart, with a made-up interaction energy."""
    ra = next(r for r in records if r.provenance["name"] == a)
    rb = next(r for r in records if r.provenance["name"] == b)
    return Record(np.concatenate([ra.numbers, rb.numbers]),
                  np.concatenate([ra.positions, rb.positions + [6.0, 0.0, 0.0]]), ra.method,
                  {"interaction_energy": np.asarray(energy)},
                  provenance={"kind": "dimer", "name": f"{a}+{b}", "partners": [a, b],
                              "fragments": [0] * len(ra.numbers) + [1] * len(rb.numbers)})


def test_store_records_group_into_molecules_and_dimers(monomer_records, caplog):
    names = molecule_names(monomer_records, 3)
    records = monomer_records + [dimer_record(monomer_records, names[0], names[1], -1.0),
                                 Record([8], [[0.0, 0.0, 0.0]], "x", {"energy": np.asarray(0.0)},
                                        provenance={"name": names[0]})]
    with caplog.at_level(logging.INFO):
        data = read_records(records, names)
    assert sorted(m.name for m in data.molecules) == names
    assert all(m.positions.shape[0] == 2 and m.forces.shape == m.positions.shape for m in data.molecules)
    assert len(data.clusters) == 1 and data.clusters[0].interaction_energy == -1.0
    assert "structure (no SMILES) records skipped" in caplog.text


def test_cluster_fragments_are_recognised_and_put_in_smiles_order(monomer_records):
    """A cluster without partner names (as cut from an MD box), its second molecule's atoms shuffled:
    each fragment is matched to its SMILES and reordered, so the model gives the energy of the
    correctly ordered cluster."""
    names = molecule_names(monomer_records, 3)
    ra, rb = (next(r for r in monomer_records if r.provenance["name"] == n) for n in names[1:])
    shuffle = np.random.default_rng(0).permutation(len(rb.numbers))
    record = Record(np.concatenate([ra.numbers, rb.numbers[shuffle]]),
                    np.concatenate([ra.positions, rb.positions[shuffle] + [7.0, 0.0, 0.0]]), ra.method,
                    {"interaction_energy": np.asarray(-2.0)},
                    provenance={"kind": "cluster", "name": "shell",
                                "fragments": [0] * len(ra.numbers) + [1] * len(rb.numbers),
                                "fragment_charges": [ra.total_charge, rb.total_charge]})
    data = read_records(monomer_records + [record])
    (cluster,) = data.clusters
    assert cluster.smiles == [ra.provenance["smiles"], rb.provenance["smiles"]]
    reference = np.concatenate([ra.positions, rb.positions + [7.0, 0.0, 0.0]])
    batch = make_batch([from_smiles(s) for s in cluster.smiles])
    torch.manual_seed(0)
    with torch.no_grad():
        system = differentiable_system(batch, Parameterizer().double()(batch))
    energy = PolarizableEnergy(system)
    found = energy(torch.as_tensor(cluster.positions))["total"]
    assert float(found) == pytest.approx(float(energy(torch.as_tensor(reference))["total"]), abs=1e-9)


# --- losses -----------------------------------------------------------------------------------


def exact_data(monomer_records, model) -> tuple[FitData, dict]:
    """Three monomer_100 molecules and a dimer whose labels are what ``model`` predicts (energies
    shifted by a constant per molecule: only relative energies may matter)."""
    names = molecule_names(monomer_records, 3)
    data = read_records(monomer_records + [dimer_record(monomer_records, names[0], names[2], 0.0)], names)
    split = make_split(data, 0.0, 0)
    with torch.no_grad():
        mols, clusters = forward(model, split.train_molecules, split.train_clusters)
    for (item, out), shift in zip(mols, (1e4, -3.0, 250.0)):
        energies, forces = conformer_energies(item, out, True, create_graph=False)
        item.energies, item.forces = energies.detach() + shift, forces.detach()
        item.targets = {k: out[k].detach().double() for k in (*TARGET_LABELS, *BONDED_TARGETS)}
    for item, fragment_outputs in clusters:
        item.interaction_energy = interaction_energy(item, fragment_outputs).detach()
    return data, {"mols": mols, "clusters": clusters}


def test_losses_vanish_when_the_model_reproduces_the_labels_and_grow_otherwise(monomer_records):
    torch.manual_seed(0)
    model = Parameterizer().double()
    _, items = exact_data(monomer_records, model)
    loss = FitLoss({t: 1.0 for t in ("charge", "alpha", "c6", "rvdw", "bonded", "energy", "forces", "interaction")})
    values = loss(items["mols"], items["clusters"], create_graph=False)
    assert set(values) == set(loss.terms) | {"total"}
    for term, (value, count) in values.items():
        assert float(value.detach()) < 1e-18, term
    item = items["mols"][0][0]
    item.targets = {k: v * 1.01 for k, v in item.targets.items()}
    item.energies = item.energies + torch.arange(len(item.energies), dtype=torch.float64)
    item.forces = item.forces + 0.1
    items["clusters"][0][0].interaction_energy = items["clusters"][0][0].interaction_energy + 0.5
    values = loss(items["mols"], items["clusters"], create_graph=False)
    for term, (value, count) in values.items():
        assert float(value.detach()) > 1e-8, term


def test_items_without_stable_induced_dipoles_are_left_out_and_named(monomer_records):
    torch.manual_seed(0)
    _, items = exact_data(monomer_records, Parameterizer().double())
    (item, outputs), rest = items["mols"][0], items["mols"][1:]
    runaway = outputs | {"alpha": torch.full_like(outputs["alpha"], 30.0),
                         "pol_damping": torch.full_like(outputs["pol_damping"], 1e-3)}
    loss = FitLoss({"energy": 1.0})
    values = loss([(item, runaway)] + rest, [], create_graph=False)
    assert loss.skipped == [item.key] and values["energy"][1] == len(rest)


def test_prior_and_damping_penalties_vanish_at_the_priors_only():
    batch = make_batch(["O=C1OCCO1"])
    at_prior = {k: v.clone() for k, v in batch.priors.items()}
    at_prior["proper_k"] = torch.zeros(batch.counts["propers"][0], 4, dtype=torch.float64)
    assert float(prior_penalty(batch, at_prior)) == 0.0
    torch.manual_seed(0)
    outputs = Parameterizer()(batch)
    assert float(prior_penalty(batch, outputs).detach()) > 0.0
    # the damping term only sees the ratio pol_damping / alpha: zero when it is the priors' ratio
    scaled = at_prior | {"alpha": at_prior["alpha"] * 1.7, "pol_damping": at_prior["pol_damping"] * 1.7}
    assert float(damping_penalty(batch, scaled)) == pytest.approx(0.0, abs=1e-28)
    assert float(damping_penalty(batch, outputs).detach()) > 0.0


def test_bad_loss_term_fails_clearly():
    with pytest.raises(ValueError, match=r"unknown loss term\(s\) \['enrgy'\]; the terms are"):
        check_weights({"enrgy": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        check_weights({"energy": -1.0})
    with pytest.raises(ValueError, match="val_fraction"):
        TrainConfig(val_fraction=1.0)


# --- trainer ----------------------------------------------------------------------------------

WEIGHTS = {"energy": 1.0, "forces": 0.02, "prior": 1e-3}


def small_config(**changes) -> TrainConfig:
    return TrainConfig(**({"epochs": 3, "batch_size": 2, "val_fraction": 0.0, "lr": 3e-3} | changes))


def test_a_few_steps_lower_the_training_loss(monomer_records, tmp_path):
    data = read_records(monomer_records, molecule_names(monomer_records, 3))
    trainer = Trainer(make_split(data, 0.0, 0), WEIGHTS, small_config(epochs=4), out_dir=tmp_path)
    before = trainer.evaluate(trainer.split.train_molecules, [])["total"]
    trainer.model = trainer.fit()
    after = trainer.evaluate(trainer.split.train_molecules, [])["total"]
    assert after < 0.9 * before


def test_resumed_run_ends_bit_identical(monomer_records, tmp_path):
    data = read_records(monomer_records, molecule_names(monomer_records, 4))
    split = make_split(data, 0.25, 0)
    config = small_config(val_fraction=0.25, patience=10)
    whole = Trainer(split, WEIGHTS, config, out_dir=tmp_path / "whole")
    best_whole = whole.fit()
    interrupted = Trainer(split, WEIGHTS, config, out_dir=tmp_path / "parts")
    interrupted.fit(stop_after=1)
    assert interrupted.epoch == 1
    resumed = Trainer(split, WEIGHTS, config, out_dir=tmp_path / "parts")
    best_resumed = resumed.fit(resume=True)
    assert resumed.epoch == whole.epoch == 3
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    for name, value in best_whole.state_dict().items():
        assert torch.equal(value, best_resumed.state_dict()[name]), name
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(whole.history) == drop(resumed.history)
    with pytest.raises(ValueError, match="other"):
        Trainer(split, WEIGHTS, small_config(val_fraction=0.25, lr=1e-2), out_dir=tmp_path / "parts").fit(resume=True)


def test_keep_last_returns_the_final_weights_and_resumes_a_finished_run(monomer_records, tmp_path):
    data = read_records(monomer_records, molecule_names(monomer_records, 4))
    split = make_split(data, 0.25, 0)
    trainer = Trainer(split, WEIGHTS, small_config(val_fraction=0.25, patience=10), out_dir=tmp_path)
    best = trainer.fit()
    best_state = trainer.best["state"]
    for name, value in best.state_dict().items():
        assert torch.equal(value, best_state[name]), name
    # the same finished run resumed with keep=last (the choice is not part of what must agree)
    again = Trainer(split, WEIGHTS, small_config(val_fraction=0.25, patience=10, keep="last"), out_dir=tmp_path)
    last = again.fit(resume=True)
    assert again.epoch == 3
    for name, value in last.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[name]), name
    with pytest.raises(ValueError, match="train.keep must be 'best' or 'last'"):
        small_config(keep="lowest")


def test_oversampled_molecules_come_as_often_as_asked(monomer_records, tmp_path):
    names = molecule_names(monomer_records, 3)
    data = read_records(monomer_records, names)
    split = make_split(data, 0.0, 0)
    trainer = Trainer(split, WEIGHTS, small_config(oversample={names[0]: 4}), out_dir=tmp_path)
    visits = [m.key for mols, _ in trainer._batches() for m in mols]
    counts = {name: sum(key.startswith(name + " [") for key in visits) for name in names}
    assert counts == {names[0]: 4, names[1]: 1, names[2]: 1}
    with pytest.raises(ValueError, match="oversample names"):
        Trainer(split, WEIGHTS, small_config(oversample={"no-such-molecule": 2}), out_dir=tmp_path)
    with pytest.raises(ValueError, match=">= 1"):
        small_config(oversample={names[0]: 0})


def test_held_out_molecules_never_reach_a_training_batch(monomer_records, tmp_path):
    names = molecule_names(monomer_records, 6)
    dimers = [dimer_record(monomer_records, a, b, -0.5) for a, b in zip(names, names[1:] + names[:1])]
    data = read_records(monomer_records + dimers, names)
    split = make_split(data, 0.34, 3)
    held_out = {data.identity(m.smiles) for m in split.val_molecules}
    assert len(held_out) == 2 and split.val_clusters
    assert not {data.identity(m.smiles) for m in split.train_molecules} & held_out
    kept = [m.name for m in data.molecules if data.identity(m.smiles) in held_out]
    resplit = make_split(data, 0.34, 3, kept)
    assert not {data.identity(m.smiles) for m in resplit.val_molecules} & held_out
    with pytest.raises(ValueError, match="not molecules of the data"):
        make_split(data, 0.34, 3, ["no-such-molecule"])
    trainer = Trainer(split, WEIGHTS | {"interaction": 0.1}, small_config(), out_dir=tmp_path)
    for _ in range(3):
        for mols, clusters in trainer._batches():
            seen = {data.identity(m.smiles) for m in mols} | {data.identity(s) for c in clusters for s in c.smiles}
            assert not seen & held_out
    # the held-out dimers are reported with the held-out molecules
    from polff.fit.report import cluster_rows, write_validation

    summary = write_validation([], tmp_path, cluster_rows(trainer.model, split.val_clusters))
    assert summary["held_out_clusters"] == len(split.val_clusters)
    assert np.isfinite(summary["interaction_rmse_kcal_mol"]) and (tmp_path / "validation_clusters.csv").is_file()


def test_missing_labels_skip_their_loss_with_a_message(monomer_records, tmp_path, caplog):
    data = read_records(monomer_records, molecule_names(monomer_records, 2))
    with caplog.at_level(logging.WARNING):
        trainer = Trainer(make_split(data, 0.0, 0), {"energy": 1.0, "charge": 10.0, "c6": 1.0}, small_config(),
                          out_dir=tmp_path)
    assert trainer.loss.terms == {"energy"} and trainer.skipped_terms == ["c6", "charge"]
    assert "loss term 'charge' skipped: no training data has charges_esp labels" in caplog.text
    with pytest.raises(ValueError, match="no loss term"):
        Trainer(make_split(data, 0.0, 0), {"charge": 1.0}, small_config(), out_dir=tmp_path)


# --- command line -----------------------------------------------------------------------------


def run_cli(tmp_path, *overrides):
    return subprocess.run([sys.executable, "-m", "elyte.cli.polff_train", f"hydra.run.dir={tmp_path}",
                           "data.data_qm=false", *overrides], capture_output=True, text=True, timeout=300,
                          env=os.environ | {"OMP_NUM_THREADS": "1"})


def test_cli_end_to_end_writes_every_output(shared_data, tmp_path):
    result = run_cli(tmp_path, "polff/train@train=quick", "data.max_molecules=4", "train.epochs=2",
                     f"data.monomer_100={shared_data / 'qm_monomer_100'}")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("config.yaml", "polff_train.log", "metrics.csv", "loss_curve.png", "model.pt", "checkpoint.pt",
                 "validation.csv", "validation.json"):
        assert (tmp_path / name).is_file(), name
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and "val_energy" in rows[0]
    summary = json.loads((tmp_path / "validation.json").read_text())
    assert summary["held_out_molecules"] == 1 and summary["mean"]["energy_rmse_kcal_mol"] >= 0
    model = load_model(tmp_path / "model.pt")
    assert model.config.hidden == 64
    log = (tmp_path / "polff_train.log").read_text()
    assert "loss term 'charge' skipped" in log


def test_config_with_an_unknown_loss_term_fails_clearly():
    """The shipped config composes; a misspelt loss term is refused, naming it and the known terms."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from elyte.paths import config_dir

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        good = compose("polff_train", overrides=["polff/train@train=quick"])
        bad = compose("polff_train", overrides=["+loss.enrgy=1.0"])
    assert set(check_weights(OmegaConf.to_container(good.loss))) == set(LOSS_TERMS)
    assert TrainConfig(**OmegaConf.to_container(good.train)).epochs == 3
    with pytest.raises(ValueError, match=r"unknown loss term\(s\) \['enrgy'\]"):
        check_weights(OmegaConf.to_container(bad.loss))


def test_energy_loss_gradient_matches_finite_differences(monomer_records):
    """The energy term's gradient reaches the weights exactly (the induced dipoles are variational)."""
    names = molecule_names(monomer_records, 2)
    split = make_split(read_records(monomer_records, names), 0.0, 0)
    torch.manual_seed(1)
    model = Parameterizer().double()
    loss = FitLoss({"energy": 1.0})
    weight = model.atom_head.net[-1].bias

    def value() -> torch.Tensor:
        return loss(*forward(model, split.train_molecules, []), create_graph=False)["total"][0]

    (grad,) = torch.autograd.grad(value(), weight)
    step = 1e-5
    for index in range(weight.numel()):
        with torch.no_grad():
            weight[index] += step
            up = float(value().detach())
            weight[index] -= 2 * step
            down = float(value().detach())
            weight[index] += step
        assert grad[index].item() == pytest.approx((up - down) / (2 * step), rel=1e-5, abs=1e-9)


def test_ensemble_members_differ_and_load(monomer_records, tmp_path):
    from polff.fit.run import train_models
    from polff.params import Ensemble

    data = read_records(monomer_records, molecule_names(monomer_records, 3))
    paths = train_models(data, WEIGHTS, small_config(epochs=1, val_fraction=0.34), out_dir=tmp_path, n_models=2)
    assert paths == [tmp_path / "member_0" / "model.pt", tmp_path / "member_1" / "model.pt"]
    for member in ("member_0", "member_1"):
        assert (tmp_path / member / "metrics.csv").is_file() and (tmp_path / member / "validation.json").is_file()
    spread = Ensemble.from_files(paths).parameterize("O=C1OCCO1").spread
    assert spread["charge"].max() > 0
    # each member records the atom environments of its training molecules (polff.params.domain)
    from polff.params.domain import environments_of
    from polff.params.files import read_metadata

    recorded = read_metadata(paths[0])["metadata"]["atom_environments"]
    assert recorded == sorted(recorded) and set(recorded) <= environments_of(m.smiles for m in data.molecules)
    assert Ensemble.from_files(paths).environments == set(recorded)


@pytest.mark.qm
def test_training_on_xtb_labels_uses_every_term_they_provide(tmp_path):
    """Water and methanol labelled with GFN2-xTB (energies, forces, dftd4, Hessians) and their dimer
    (interaction energy), through a label store, targets and two epochs of training."""
    pytest.importorskip("tblite")
    from elyte.labels.compute import label_structure
    from elyte.labels.engines import make_backend
    from elyte.labels.sampling.dimers import dimer
    from elyte.labels.sampling.molecules import embed
    from elyte.labels.sampling.relax import relax
    from polff.fit.data import load_stores

    backend = make_backend({"name": "xtb", "method": "GFN2-xTB"})
    lowest = {}
    with LabelStore(tmp_path / "labels.h5") as store:
        for name, smiles in {"water": "O", "methanol": "CO"}.items():
            s = embed(smiles, 1)[0]
            s.provenance.update(name=name, kind="conformer")
            lowest[name] = s = relax(backend, s, 0.05, 300)
            store.add(s.record(backend.method, label_structure(backend, s, ["energy", "forces", "dftd4", "hessian"])))
            for shift in (0.03, -0.04):  # two distorted conformers for relative energies
                wiggle = shift * np.sin(np.arange(s.positions.size)).reshape(-1, 3)
                d = dataclasses.replace(s, positions=s.positions + wiggle)
                store.add(d.record(backend.method, label_structure(backend, d, ["energy", "forces"])))
        pair = dimer(lowest["water"], lowest["methanol"], 1.0, np.random.default_rng(0))
        pair.provenance.update(name="water+methanol", partners=["water", "methanol"])
        store.add(pair.record(backend.method, label_structure(backend, pair, ["energy", "interaction_energy"])))
    data = load_stores([tmp_path / "labels.h5"])
    water = next(m for m in data.molecules if m.name == "water")
    assert len(water.energies) == 3 and water.hessian is not None and "c6" in water.atom_labels
    assert len(data.clusters) == 1 and abs(data.clusters[0].interaction_energy) < 20  # vdW contact
    targets = next(m.targets for m in make_split(data, 0.0, 0).train_molecules if m.smiles == "O")
    assert {"alpha", "c6", "bond_k", "angle_theta"} <= set(targets)
    # the O-H stretch of water from the GFN2 Hessian: ~1000 kcal/mol/A^2 (the 3700 cm^-1 band)
    assert 850 < float(targets["bond_k"][0]) < 1250
    weights = {"energy": 1.0, "forces": 0.02, "alpha": 1.0, "c6": 1e-5, "bonded": 1.0, "interaction": 0.1,
               "charge": 1.0}
    trainer = Trainer(make_split(data, 0.0, 0), weights, small_config(epochs=2), out_dir=tmp_path / "run")
    assert trainer.loss.terms == set(weights) - {"charge"}
    trainer.fit()
    assert {"train_alpha", "train_c6", "train_bonded", "train_interaction"} <= set(trainer.history[-1])


def test_interaction_errors_per_kind_with_the_mae_window():
    from polff.fit.report import cluster_kind, interaction_errors

    assert cluster_kind(["[Li+]", "F[P-](F)(F)(F)(F)F"]) == "ion pair"
    assert cluster_kind(["[Li+]", "O=C1OCCO1"]) == "ion-molecule"
    assert cluster_kind(["O", "CO"]) == "neutral"
    rows = [{"kind": "neutral", "qm_kcal_mol": -5.0, "error_kcal_mol": 1.0},
            {"kind": "neutral", "qm_kcal_mol": -8.0, "error_kcal_mol": -3.0},
            {"kind": "ion pair", "qm_kcal_mol": -120.0, "error_kcal_mol": 6.0},
            {"kind": "ion pair", "qm_kcal_mol": -15.0, "error_kcal_mol": float("nan")}]
    errors = interaction_errors(rows)
    assert errors["neutral"]["mae_kcal_mol"] == pytest.approx(2.0)
    assert errors["neutral"]["rmse_kcal_mol"] == pytest.approx(np.sqrt(5.0))
    assert errors["ion pair"]["without_stable_dipoles"] == 1
    assert errors["ion pair"]["mae_kcal_mol"] == pytest.approx(6.0)
    assert errors["ion pair"]["mae_within_window_kcal_mol"] is None  # the only stable one is at -120
    assert errors["all"]["count"] == 4 and errors["all"]["count_within_window"] == 2
    assert errors["all"]["mae_within_window_kcal_mol"] == pytest.approx(2.0)


def test_wall_penalty_finds_pairs_that_collapse_at_short_range():
    from polff.fit.losses import WALL_BARRIER, pair_barriers, wall_penalty

    def outputs(ct_eps, ct_lamb, eps=250.0):
        one = lambda v: torch.tensor([v, v], dtype=torch.float64, requires_grad=True)  # noqa: E731
        return {"eps": one(eps), "lamb": one(3.7), "rvdw": one(0.95), "c6": one(250.0),
                "ct_eps": one(ct_eps), "ct_lamb": one(ct_lamb)}

    # only the s^12 wall: monotonic, the barrier is the whole rise from 3 A to 0.9 A
    bare = {k: torch.zeros(2, dtype=torch.float64) for k in ("eps", "c6", "ct_eps")} | \
        {"lamb": torch.ones(2, dtype=torch.float64), "rvdw": torch.ones(2, dtype=torch.float64),
         "ct_lamb": torch.ones(2, dtype=torch.float64)}
    i, j = torch.tensor([0]), torch.tensor([1])
    assert float(pair_barriers(bare, i, j)) == pytest.approx((1.5 / 0.9) ** 12 - 0.5**12, rel=1e-6)
    safe = outputs(ct_eps=500.0, ct_lamb=0.6)  # the carbon prior: a high barrier, no penalty
    assert float(pair_barriers(safe, i, j)) > WALL_BARRIER and float(wall_penalty(None, safe)) == 0.0
    collapsing = outputs(ct_eps=6500.0, ct_lamb=0.55, eps=100.0)  # a trained model's methyl carbon
    penalty = wall_penalty(None, collapsing)
    assert float(pair_barriers(collapsing, i, j)) < WALL_BARRIER and float(penalty) > 0.0
    penalty.backward()
    assert collapsing["ct_eps"].grad[0] > 0 and collapsing["eps"].grad[0] < 0  # less CT, more repulsion


def test_contact_wall_penalty_takes_the_pairs_between_fragments_only():
    from polff.fit.losses import WALL_BARRIER, contact_wall_penalty, pair_barriers

    def atoms(n, ct_eps, ct_lamb, eps):
        one = lambda v: torch.full((n,), v, dtype=torch.float64, requires_grad=True)  # noqa: E731
        return {"eps": one(eps), "lamb": one(3.7), "rvdw": one(0.95), "c6": one(250.0),
                "ct_eps": one(ct_eps), "ct_lamb": one(ct_lamb)}

    safe = lambda n: atoms(n, 500.0, 0.6, 250.0)  # noqa: E731  (barrier above WALL_BARRIER)
    collapsing = lambda n: atoms(n, 6500.0, 0.55, 100.0)  # noqa: E731
    assert float(contact_wall_penalty([safe(3), safe(2)])) == 0.0
    # two collapsing atoms in one fragment: their own pair is the wall loss's, not this one's
    a, b = collapsing(2), collapsing(1)
    penalty = contact_wall_penalty([a, b])
    both = {k: torch.cat([a[k], b[k]]) for k in a}
    expected = pair_barriers(both, torch.tensor([0, 1]), torch.tensor([2, 2]))
    assert float(penalty) == pytest.approx(float(((WALL_BARRIER - expected) / WALL_BARRIER).square().mean()))
    penalty.backward()
    assert b["ct_eps"].grad[0] > 0 and b["eps"].grad[0] < 0  # less charge transfer, more repulsion
