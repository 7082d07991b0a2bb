"""The model's symmetries and derivatives: rotation / reflection / translation / permutation,
forces and stress against finite differences, exact total charge, periodic-image invariance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mlff.model.build import build_model
from tests.mlff.random_structures import SMALL, batch_of, cluster, periodic


def evaluate(model, structures, stress=False):
    out = model(batch_of(structures, model), compute_stress=stress)
    return {k: v.detach().numpy() for k, v in out.items()}


def transformed(structure, rotation=np.eye(3), translation=np.zeros(3), order=None):
    order = np.arange(structure.n_atoms) if order is None else order
    return dataclasses.replace(
        structure,
        numbers=structure.numbers[order],
        positions=(structure.positions @ rotation.T + translation)[order],
        cell=None if structure.cell is None else structure.cell @ rotation.T,
    )


ORTHOGONAL = [Rotation.from_euler("zyx", [0.3, -1.1, 2.0]).as_matrix(),
              np.diag([1.0, -1.0, 1.0]) @ Rotation.from_euler("xyz", [1.3, 0.2, -0.7]).as_matrix()]  # with a reflection


@pytest.mark.parametrize("make", [cluster, periodic])
@pytest.mark.parametrize("rotation", ORTHOGONAL, ids=["rotation", "reflection"])
def test_rotation_and_reflection(model, make, rotation):
    s = make(1)
    ref, rot = evaluate(model, [s], True), evaluate(model, [transformed(s, rotation)], True)
    assert abs(ref["energy"][0]) > 1e-3
    np.testing.assert_allclose(rot["energy"], ref["energy"], atol=1e-8, rtol=1e-10)
    np.testing.assert_allclose(rot["forces"], ref["forces"] @ rotation.T, atol=1e-8)
    np.testing.assert_allclose(rot["charges"], ref["charges"], atol=1e-10)
    np.testing.assert_allclose(rot["stress"][0], rotation @ ref["stress"][0] @ rotation.T, atol=1e-8)
    if make is cluster:
        np.testing.assert_allclose(rot["dipole"], ref["dipole"] @ rotation.T, atol=1e-8)


@pytest.mark.parametrize("make", [cluster, periodic])
def test_translation_and_permutation(model, make):
    s = make(2)
    ref = evaluate(model, [s], True)
    moved = evaluate(model, [transformed(s, translation=np.array([3.1, -7.2, 0.4]))], True)
    np.testing.assert_allclose(moved["energy"], ref["energy"], atol=1e-8)
    np.testing.assert_allclose(moved["forces"], ref["forces"], atol=1e-8)
    np.testing.assert_allclose(moved["stress"], ref["stress"], atol=1e-8)
    order = np.random.default_rng(0).permutation(s.n_atoms)
    permuted = evaluate(model, [transformed(s, order=order)], True)
    np.testing.assert_allclose(permuted["energy"], ref["energy"], atol=1e-8)
    np.testing.assert_allclose(permuted["forces"], ref["forces"][order], atol=1e-8)
    np.testing.assert_allclose(permuted["charges"], ref["charges"][order], atol=1e-10)


def test_periodic_image_invariance(model):
    s = periodic(3)
    ref = evaluate(model, [s], True)
    shifted = dataclasses.replace(s, positions=s.positions.copy())
    shifted.positions[4] += s.cell[0] - 2 * s.cell[2]
    out = evaluate(model, [shifted], True)
    for key in ("energy", "forces", "stress", "charges"):
        np.testing.assert_allclose(out[key], ref[key], atol=1e-8, err_msg=key)


def energy_at(model, structure, positions=None, cell=None):
    s = dataclasses.replace(structure, positions=structure.positions if positions is None else positions,
                            cell=structure.cell if cell is None else cell)
    return float(model(batch_of([s], model), compute_forces=False)["energy"][0].detach())


@pytest.mark.parametrize("make", [cluster, periodic])
def test_forces_are_minus_energy_gradient(model, make):
    s = make(4)
    forces = evaluate(model, [s])["forces"]
    h = 1e-5
    for atom, axis in [(0, 0), (3, 1), (5, 2), (7, 0)]:
        plus, minus = s.positions.copy(), s.positions.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        numeric = -(energy_at(model, s, plus) - energy_at(model, s, minus)) / (2 * h)
        assert forces[atom, axis] == pytest.approx(numeric, abs=1e-6, rel=1e-6)
    assert np.abs(forces).max() > 1e-3


def test_stress_is_strain_derivative(model):
    s = periodic(5)
    stress = evaluate(model, [s], True)["stress"][0]
    volume = abs(np.linalg.det(s.cell))
    h = 1e-5
    for a, b in [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]:
        strain = np.zeros((3, 3))
        strain[a, b] = strain[b, a] = 0.5 * h if a != b else h
        energies = []
        for sign in (1, -1):
            deform = np.eye(3) + sign * strain
            energies.append(energy_at(model, s, s.positions @ deform, s.cell @ deform))
        numeric = (energies[0] - energies[1]) / (2 * h * volume)  # symmetric strain: d E = sigma_ab V h
        assert stress[a, b] == pytest.approx(numeric, abs=1e-8, rel=1e-6), (a, b)
    assert np.abs(stress).max() > 1e-5


def test_cluster_stress_is_zero_and_mixed_batch_matches_single(model):
    structures = [cluster(6), periodic(6), cluster(7, n=5)]
    together = evaluate(model, structures, True)
    assert np.all(together["stress"][0] == 0) and np.all(together["stress"][2] == 0)
    offset = 0
    for k, s in enumerate(structures):
        alone = evaluate(model, [s], True)
        np.testing.assert_allclose(together["energy"][k], alone["energy"][0], atol=1e-9)
        np.testing.assert_allclose(together["forces"][offset:offset + s.n_atoms], alone["forces"], atol=1e-9)
        offset += s.n_atoms


def test_total_charge_is_exact(model):
    structures = [cluster(8, charge=-1), periodic(8, charge=2), cluster(9, n=3, charge=0.5)]
    charges = evaluate(model, structures)["charges"]
    sums = [charges[:8].sum(), charges[8:18].sum(), charges[18:].sum()]
    np.testing.assert_allclose(sums, [-1.0, 2.0, 0.5], atol=1e-12)
    assert np.ptp(charges) > 1e-4  # charges respond to the environment, not a uniform split


def test_float32_matches_float64(model):
    structures = [cluster(10), periodic(10)]
    ref = evaluate(model, structures, True)
    single = model.float()
    out = single(batch_of(structures, single, torch.float32), compute_stress=True)
    assert out["energy"].dtype == torch.float32
    np.testing.assert_allclose(out["energy"].detach().numpy(), ref["energy"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(out["forces"].detach().numpy(), ref["forces"], rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("switch", ["charges", "electrostatics", "dispersion", "repulsion", "lmax1"])
def test_terms_switch_off(switch):
    config = {**SMALL, "electrostatics": dict(SMALL["electrostatics"])}
    if switch == "lmax1":
        config["lmax"] = 1
    elif switch == "charges":
        config["charges"] = {"enabled": False}
        config["electrostatics"]["enabled"] = False
    else:
        config[switch] = {**config.get(switch, {}), "enabled": False}
    model = build_model(config).double()
    out = model(batch_of([periodic(11)], model), compute_stress=True)
    keys = set(out)
    assert ("energy_electrostatics" in keys) == (switch not in ("charges", "electrostatics"))
    assert ("energy_dispersion" in keys) == (switch != "dispersion")
    assert ("energy_repulsion" in keys) == (switch != "repulsion")
    assert ("charges" in keys) == (switch != "charges")
    torch.testing.assert_close(out["energy"], sum(v for k, v in out.items() if k.startswith("energy_")))


@pytest.mark.slow
def test_message_passing_compiles_without_graph_breaks(model):
    """The network core traces as one graph with dynamic atom and edge counts (``fullgraph=True``)
    and matches eager mode; a second batch of another size reuses the compiled code."""
    from mlff.model.forcefield import _edge_vectors

    compiled = torch.compile(model.atomic_features, dynamic=True, fullgraph=True)
    for structures in ([periodic(0), cluster(1)], [periodic(3), cluster(4), cluster(5, n=4)]):
        b = batch_of(structures, model)
        species = model.species_index[b.numbers]
        vectors = _edge_vectors(b.positions, b.cell, b.batch, b.edge_index, b.shifts)
        torch.testing.assert_close(compiled(species, b.edge_index, vectors),
                                   model.atomic_features(species, b.edge_index, vectors))


def test_reference_energies_are_added_in_full_precision():
    """E_ref of ~1e6 kcal/mol survive building in float32 and casting to float64 to round-off."""
    references = {1: -376.048125995769, 3: -4678.123456789, 6: -23915.8051017943, 8: -4342281.72251516}
    torch.manual_seed(0)
    plain = build_model(SMALL).double()
    torch.manual_seed(0)
    shifted = build_model(SMALL, reference_energies=references).double()
    s = cluster(12)
    difference = evaluate(shifted, [s])["energy"] - evaluate(plain, [s])["energy"]
    assert float(difference[0]) == pytest.approx(sum(references[int(z)] for z in s.numbers), abs=1e-8)


@pytest.mark.gpu
def test_cuda_matches_cpu(model):
    structures = [cluster(13), periodic(13)]
    batch = batch_of(structures, model)
    reference = model(batch, compute_stress=True)
    out = model.to("cuda")(batch.to("cuda"), compute_stress=True)
    for key in ("energy", "forces", "stress", "charges"):
        torch.testing.assert_close(out[key].detach().cpu(), reference[key].detach(), rtol=1e-9, atol=1e-9)
