"""First solvation shells on configurations built with known shells."""

import numpy as np
import pytest

from elyte.analysis.solvation import first_shells, shell_cutoff_from_rdf
from elyte.analysis.trajectory import minimum_image

CELL = np.array([[20.0, 0.0, 0.0], [3.0, 19.0, 0.0], [-2.0, 2.0, 21.0]])


def wrap(x):
    frac = x @ np.linalg.inv(CELL)
    return x - np.floor(frac) @ CELL


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def hand_built_frames():
    """Li A sits at a cell corner so its shell crosses the boundaries; Li B in the middle.
    Molecules: 0 Li A, 1 Li B, 2-6 EC (O, C), 7-8 DMC (O, O, C), 9 PF6- (F, F, P)."""
    li_a, li_b = np.array([0.3, 0.2, 0.4]), np.array([11.0, 10.5, 10.0])
    atoms, mol, ligand = [li_a, li_b], [0, 1], []

    def add(m, coords, coordinating):
        for x, c in zip(coords, coordinating):
            if c:
                ligand.append(len(atoms))
            atoms.append(np.asarray(x, float))
            mol.append(m)

    def ec(m, centre, direction, dist):  # O at dist from centre, C further out
        u = unit(direction)
        add(m, [centre + dist * u, centre + (dist + 1.2) * u], [True, False])

    ec(2, li_a, [-1, 0.1, 0], 2.0)  # crosses x = 0
    ec(3, li_a, [0.1, -1, 0.2], 2.1)  # crosses y = 0
    ec(4, li_b, [1, 0, 0], 2.0)
    ec(5, li_b, [0, 1, 0], 2.0)
    ec(6, li_b, [0, 0, 1], 2.2)
    # DMC 7: bidentate on Li A (counts once); DMC 8: one O on Li B, its other O far
    first_two = [True, True, False]  # two coordinating atoms, then one that is not
    add(7, [li_a + 2.1 * unit([0, 0, -1]), li_a + 2.2 * unit([1, 0, -1]), li_a + 3.5 * unit([1, 0, -2])], first_two)
    add(8, [li_b + 2.0 * unit([-1, -1, 0]), li_b + 4.0 * unit([-1, 0, 0]), li_b + 5.0 * unit([-1, 0, 0])], first_two)
    # PF6- 9: one F on Li A; its P (not a ligand) closer than the cutoff must not matter
    add(9, [li_a + 2.0 * unit([1, 1, 1]), li_a + 3.9 * unit([1, 1, 0.8]), li_a + 2.3 * unit([1, 1, 0.3])], first_two)
    frame0 = np.array(atoms)
    # decoy EC 10 near Li A: O at 3.2 A (outside a 2.6 A cutoff) in frame 0, at 2.4 A in frame 1
    decoy = lambda d: [li_a + d * unit([-1, 1, 1]), li_a + (d + 1.2) * unit([-1, 1, 1])]  # noqa: E731
    species = ["Li+", "Li+", "EC", "EC", "EC", "EC", "EC", "DMC", "DMC", "PF6-", "EC"]
    ligand.append(len(atoms))
    mol += [10, 10]
    frames = np.stack([np.vstack([frame0, decoy(3.2)]), np.vstack([frame0, decoy(2.4)])])
    return wrap(frames), np.array(mol), np.array(ligand), species


@pytest.mark.filterwarnings("ignore:series of")  # two frames: the error bars are not the point here
def test_hand_built_shells():
    frames, mol, ligand, species = hand_built_frames()
    assert np.abs(frames - frames[:, :1]).max() > 15  # wrapping separated Li A from part of its shell
    shells = first_shells(frames, CELL, np.array([0, 1]), ligand, mol, species, cutoff_a=2.6)
    assert shells.species == ["EC", "DMC", "PF6-"]
    np.testing.assert_array_equal(shells.counts[0], [[2, 1, 1], [3, 1, 0]])
    np.testing.assert_array_equal(shells.counts[1], [[3, 1, 1], [3, 1, 0]])
    cn = shells.coordination_numbers()
    assert cn["EC"].value == pytest.approx(2.75)
    assert cn["DMC"].value == pytest.approx(1.0) and cn["DMC"].error == 0.0
    assert cn["PF6-"].value == pytest.approx(0.5)
    fractions = shells.composition_fractions()
    assert {k: v.value for k, v in fractions.items()} == pytest.approx(
        {"3 EC + 1 DMC": 0.5, "2 EC + 1 DMC + 1 PF6-": 0.25, "3 EC + 1 DMC + 1 PF6-": 0.25}
    )
    assert list(fractions)[0] == "3 EC + 1 DMC"
    # the same with the cell given per frame
    per_frame = first_shells(frames, np.stack([CELL, CELL]), np.array([0, 1]), ligand, mol, species, cutoff_a=2.6)
    np.testing.assert_array_equal(per_frame.counts, shells.counts)


def random_shell_frames(rng, n_frames=40, n_li=10, n_bulk=150):
    """Each Li gets 2-5 EC carbonyl O at 1.9-2.1 A; all other EC O are > 3.3 A from every Li."""
    frames, known = [], []
    for _ in range(n_frames):
        li = []
        while len(li) < n_li:
            x = rng.uniform(0, 1, 3) @ CELL
            if all(np.linalg.norm(minimum_image(x - y, CELL)) > 7.0 for y in li):
                li.append(x)
        li = np.array(li)
        k = rng.integers(2, 6, n_li)
        shell = [li[i] + rng.uniform(1.9, 2.1) * unit(rng.normal(size=3)) for i in range(n_li) for _ in range(k[i])]
        bulk = []
        while len(bulk) < n_bulk - len(shell):
            x = rng.uniform(0, 1, 3) @ CELL
            if np.linalg.norm(minimum_image(li - x, CELL), axis=1).min() > 3.3:
                bulk.append(x)
        frames.append(wrap(np.vstack([li, shell, bulk])))
        known.append(k)
    return np.array(frames), np.array(known)


def test_rdf_cutoff_and_errors_on_random_shells():
    rng = np.random.default_rng(0)
    frames, known = random_shell_frames(rng)
    n_li, n_o = 10, frames.shape[1] - 10
    mol = np.arange(frames.shape[1])  # each O stands for one EC molecule; each Li is its own molecule
    species = ["Li+"] * n_li + ["EC"] * n_o
    shells = first_shells(frames, CELL, np.arange(n_li), np.arange(n_li, n_li + n_o), mol, species)
    assert 2.1 < shells.cutoff_a < 3.3  # the first minimum of g(Li-O) lies in the empty gap
    np.testing.assert_array_equal(shells.counts[:, :, 0], known)
    cn = shells.coordination_numbers()["EC"]
    assert cn.value == pytest.approx(known.mean())
    # independent frames: error = std of the per-frame means / sqrt(T), itself uncertain by ~1/sqrt(2T) = 11%
    assert cn.error == pytest.approx(known.mean(axis=1).std(ddof=1) / np.sqrt(len(known)), rel=0.35)
    fractions = shells.composition_fractions()
    assert sum(f.value for f in fractions.values()) == pytest.approx(1.0)
    assert fractions["4 EC"].value == pytest.approx(np.mean(known == 4))


def test_structureless_rdf_has_no_shell_cutoff():
    rng = np.random.default_rng(1)
    frames = rng.uniform(0, 1, (5, 300, 3)) @ CELL  # ideal gas: any "first minimum" is noise
    with pytest.raises(ValueError, match="no first solvation shell"):
        shell_cutoff_from_rdf(frames, CELL, np.arange(10), np.arange(10, 300))


def test_bad_molecule_tables():
    frames, mol, ligand, species = hand_built_frames()
    with pytest.raises(ValueError, match="one label per molecule"):
        first_shells(frames, CELL, np.array([0, 1]), ligand, mol, species[:-1], cutoff_a=2.6)
