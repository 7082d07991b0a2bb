"""Box building with packmol: counts, whole molecules, no close contacts across images, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elyte.box import PACKMOL_TOLERANCE, BoxError, build_box, conformer
from elyte.formulation import Formulation, Salt, Species, compose
from elyte.neighbors import neighbor_list, pair_vectors


def test_packed_box(tmp_path):
    ec, dmc = Species.from_smiles("EC", "O=C1OCCO1"), Species.from_smiles("DMC", "COC(=O)OC")
    li, pf6 = Species.from_smiles("Li", "[Li+]"), Species.from_smiles("PF6", "F[P-](F)(F)(F)(F)F")
    composition = compose(Formulation("x", [(ec, 1.0), (dmc, 1.0)], [Salt("LiPF6", [(li, 1), (pf6, 1)], 1.0)], size=600))
    box = build_box(composition, seed=3, workdir=tmp_path)
    assert len(box.atoms) == composition.n_atoms and len(box.molecules) == sum(n for _, n in composition.counts)
    molecule_id = np.repeat(np.arange(len(box.molecules)), [m.n_atoms for m in box.molecules])
    pos, cell = torch.as_tensor(box.atoms.positions), torch.as_tensor(box.atoms.cell[:])
    pairs, shifts = neighbor_list(pos, PACKMOL_TOLERANCE * 0.95, cell)
    between = molecule_id[pairs[0].numpy()] != molecule_id[pairs[1].numpy()]
    assert not between.any(), "atoms of different molecules closer than the packing tolerance"
    # molecules are rigid copies of their conformers
    start = 0
    templates = {}
    for species in box.molecules:
        template = templates.setdefault(species.name, conformer(species, 3)).positions
        part = box.atoms.positions[start : start + species.n_atoms]
        start += species.n_atoms
        d_box = np.linalg.norm(part[:, None] - part[None], axis=-1)
        d_ref = np.linalg.norm(template[:, None] - template[None], axis=-1)
        assert np.abs(d_box - d_ref).max() < 1e-3
    assert pair_vectors(pos, cell, pairs, shifts).shape[0] == pairs.shape[1]


def test_reproducible_with_a_seed(tmp_path):
    ec = Species.from_smiles("EC", "O=C1OCCO1")
    composition = compose(Formulation("x", [(ec, 1.0)], size=20, size_unit="molecules"))
    a, b = build_box(composition, seed=5), build_box(composition, seed=5)
    assert np.allclose(a.atoms.positions, b.atoms.positions)


def test_impossible_packing_is_reported():
    ec = Species.from_smiles("EC", "O=C1OCCO1")
    composition = compose(Formulation("x", [(ec, 1.0)], size=40, size_unit="molecules"))
    with pytest.raises(BoxError, match="could not pack"):
        build_box(composition, density_scale=3.0, max_loops=5)


def test_hexafluorophosphate_conformer_is_octahedral():
    atoms = conformer(Species.from_smiles("PF6", "F[P-](F)(F)(F)(F)F"))
    angles = sorted(atoms.get_angle(i, 1, j) for i in (0, 2, 3, 4, 5, 6) for j in (0, 2, 3, 4, 5, 6) if i < j)
    np.testing.assert_allclose(angles, [90.0] * 12 + [180.0] * 3, atol=1e-6)
