"""Unwrapping, molecule centres and drift removal on trajectories built with a known answer."""

import numpy as np
import pytest

from elyte.analysis.trajectory import (
    arrays_from_mdtraj,
    cell_volumes,
    make_whole,
    minimum_image,
    molecule_centers,
    remove_com_drift,
    unwrap,
)

TRICLINIC = np.array([[20.0, 0.0, 0.0], [4.0, 18.0, 0.0], [-3.0, 2.0, 22.0]])


def wrap(positions, cells):
    cells = np.broadcast_to(cells, (positions.shape[0], 3, 3))
    frac = np.einsum("tni,tij->tnj", positions, np.linalg.inv(cells))
    return positions - np.einsum("tni,tij->tnj", np.floor(frac), cells)


def test_unwrap_recovers_a_random_walk_in_a_fixed_triclinic_cell():
    rng = np.random.default_rng(0)
    true = np.cumsum(rng.normal(scale=1.5, size=(400, 30, 3)), axis=0) + 10.0
    wrapped = wrap(true, TRICLINIC)
    assert np.abs(wrapped - true).max() > 20  # atoms really crossed the cell several times
    np.testing.assert_allclose(unwrap(wrapped, TRICLINIC), true, atol=1e-9)


def test_npt_unwrapping_keeps_the_true_steps():
    """Barostat-like run: each step scales the wrapped positions with the box, then moves each atom
    by a random step. The unwrapped step must equal the true step (s - 1) w + xi exactly, with no
    jump of a box length times the image count (the toroidal scheme's error)."""
    rng = np.random.default_rng(1)
    t, n = 300, 50
    lengths = 25.0 * (1 + 0.03 * np.cumsum(rng.normal(size=t)) / np.sqrt(t))
    cells = lengths[:, None, None] * np.eye(3)
    wrapped = np.empty((t, n, 3))
    wrapped[0] = rng.uniform(0, lengths[0], (n, 3))
    true_steps = np.empty((t - 1, n, 3))
    for k in range(t - 1):
        scaled = wrapped[k] * lengths[k + 1] / lengths[k]
        xi = rng.normal(scale=1.0, size=(n, 3))
        true_steps[k] = scaled - wrapped[k] + xi
        wrapped[k + 1] = np.mod(scaled + xi, lengths[k + 1])
    u = unwrap(wrapped, cells)
    np.testing.assert_allclose(np.diff(u, axis=0), true_steps, atol=1e-9)
    np.testing.assert_allclose(u[0], wrapped[0])


def test_whole_molecules_and_their_centres():
    rng = np.random.default_rng(2)
    # 60 rigid diatomics (masses 1 and 3, bond 1.2 A) diffusing; wrapped per atom so some are split
    t, m = 100, 60
    centres = np.cumsum(rng.normal(scale=0.8, size=(t, m, 3)), axis=0) + rng.uniform(0, 20, (m, 3))
    bond = rng.normal(size=(m, 3))
    bond *= 1.2 / np.linalg.norm(bond, axis=1, keepdims=True)
    masses = np.tile([1.0, 3.0], m)
    atoms = np.stack([centres - 0.75 * bond, centres + 0.25 * bond], axis=2).reshape(t, 2 * m, 3)
    molecule_index = np.repeat(np.arange(m), 2)
    wrapped = wrap(atoms, TRICLINIC)
    split = np.linalg.norm(wrapped[0, 0::2] - wrapped[0, 1::2], axis=1) > 2.0
    whole0 = make_whole(wrapped[0], TRICLINIC, molecule_index)
    np.testing.assert_allclose(np.linalg.norm(whole0[0::2] - whole0[1::2], axis=1), 1.2)
    u = unwrap(wrapped, TRICLINIC, molecule_index)
    com = molecule_centers(u, masses, molecule_index)
    # centres equal the true ones up to a lattice translation fixed for each molecule
    offset = com - centres
    np.testing.assert_allclose(offset, offset[:1].repeat(t, 0), atol=1e-9)
    np.testing.assert_allclose(minimum_image(offset[0], TRICLINIC), 0.0, atol=1e-9)
    assert split.any()  # some molecules were split in frame 0: make_whole was exercised


def test_molecule_ids_need_not_be_contiguous():
    pos = np.arange(18.0).reshape(1, 6, 3)
    com = molecule_centers(pos, np.array([1.0, 1.0, 2.0, 1.0, 2.0, 2.0]), np.array([1, 0, 1, 0, 2, 2]))
    np.testing.assert_allclose(com[0, 0], (pos[0, 1] + pos[0, 3]) / 2)
    np.testing.assert_allclose(com[0, 1], (pos[0, 0] + 2 * pos[0, 2]) / 3)
    with pytest.raises(ValueError, match="0..M-1"):
        molecule_centers(pos, np.ones(6), np.array([0, 0, 2, 2, 3, 3]))


def test_drift_removal_and_volumes():
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(50, 10, 3))
    masses = rng.uniform(1, 20, 10)
    drifting = pos + np.linspace(0, 5, 50)[:, None, None]
    fixed = remove_com_drift(drifting, masses)
    com = np.einsum("tnk,n->tk", fixed, masses) / masses.sum()
    np.testing.assert_allclose(com, com[:1].repeat(50, 0), atol=1e-12)
    np.testing.assert_allclose(fixed, remove_com_drift(pos, masses), atol=1e-12)  # uniform drift gone
    assert cell_volumes(TRICLINIC) == pytest.approx(20 * 18 * 22)
    with pytest.raises(ValueError, match=r"\[T frames, N atoms, 3\]"):
        unwrap(np.zeros((5, 3)), TRICLINIC)


def test_arrays_from_mdtraj_convert_units_and_find_molecules():
    md = pytest.importorskip("mdtraj")
    top = md.Topology()
    chain = top.add_chain()
    for name in ["EC", "Li", "EC"]:
        res = top.add_residue(name, chain)
        if name == "Li":
            top.add_atom("Li", md.element.lithium, res)
            continue
        o = top.add_atom("O", md.element.oxygen, res)
        c = top.add_atom("C", md.element.carbon, res)
        top.add_bond(o, c)
    xyz = np.random.default_rng(4).uniform(0, 2, (3, 5, 3))
    traj = md.Trajectory(xyz, top, time=np.array([0.0, 2.0, 4.0]), unitcell_lengths=np.full((3, 3), 2.5),
                         unitcell_angles=np.full((3, 3), 90.0))
    positions, cells, dt_fs, molecule_index = arrays_from_mdtraj(traj)
    np.testing.assert_allclose(positions, xyz * 10.0, rtol=1e-6)  # nm -> A (float32 storage)
    np.testing.assert_allclose(cells, np.broadcast_to(np.eye(3) * 25.0, (3, 3, 3)), rtol=1e-6)
    assert dt_fs == pytest.approx(2000.0)
    np.testing.assert_array_equal(molecule_index, [0, 0, 1, 2, 2])
