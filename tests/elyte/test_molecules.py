"""Molecule identification in structures: bonds across periodic boundaries, species by graph."""

from __future__ import annotations

from collections import Counter

import ase
import numpy as np
import pytest

from elyte.box import conformer
from elyte.formulation import Species
from elyte.io.structures import read_structure
from elyte.molecules import MoleculeMatchError, assign_species
from elyte.paths import data_dir

SPECIES = {"EC": "O=C1OCCO1", "DMC": "COC(=O)OC", "Li": "[Li+]", "PF6": "F[P-](F)(F)(F)(F)F"}


@pytest.fixture(scope="module")
def species():
    return [Species.from_smiles(n, s) for n, s in SPECIES.items()]


def test_the_shipped_electrolyte_box(species):
    atoms = read_structure(data_dir() / "structures" / "lipf6_ec_dmc_4116.data.gz")
    order, molecules = assign_species(atoms, species)
    assert Counter(m.name for m in molecules) == {"EC": 182, "DMC": 182, "Li": 14, "PF6": 14}
    assert sorted(order.tolist()) == list(range(len(atoms)))
    # the LAMMPS molecule ids agree with the fragments found from distances
    mol_id = atoms.arrays["mol-id"][order]
    starts = np.cumsum([0] + [m.n_atoms for m in molecules])
    assert all(len(set(mol_id[a:b])) == 1 for a, b in zip(starts[:-1], starts[1:]))
    # each molecule comes out in its species' atom order
    symbols = np.array(atoms.get_chemical_symbols())[order]
    for m, a in zip(molecules, starts[:-1]):
        assert list(symbols[a:a + m.n_atoms]) == [x.GetSymbol() for x in m.rdkit().GetAtoms()]


def test_shuffled_atoms_split_across_the_boundary(species):
    ec, dmc = species[0], species[1]
    parts = [conformer(ec).positions + [0.5, 5.0, 5.0], conformer(dmc).positions + [10.0, 0.3, 10.0]]
    symbols = [a.GetSymbol() for a in ec.rdkit().GetAtoms()] + [a.GetSymbol() for a in dmc.rdkit().GetAtoms()]
    atoms = ase.Atoms(symbols, positions=np.concatenate(parts), cell=np.eye(3) * 15.0, pbc=True)
    atoms.wrap()  # both molecules now straddle a face of the box
    shuffle = np.random.default_rng(3).permutation(len(atoms))
    shuffled = atoms[shuffle]
    order, molecules = assign_species(shuffled, species)
    assert [m.name for m in molecules] in (["EC", "DMC"], ["DMC", "EC"])
    recovered = shuffled[order]
    for m, a in zip(molecules, np.cumsum([0] + [x.n_atoms for x in molecules])[:-1]):
        got = recovered.positions[a:a + m.n_atoms]
        assert recovered.get_chemical_symbols()[a:a + m.n_atoms] == [x.GetSymbol() for x in m.rdkit().GetAtoms()]
        # every bond of the species' graph joins two atoms at a bond length (minimum image)
        for bond in m.rdkit().GetBonds():
            d = got[bond.GetEndAtomIdx()] - got[bond.GetBeginAtomIdx()]
            assert np.linalg.norm(d - 15.0 * np.round(d / 15.0)) < 1.6


def test_an_unknown_molecule_is_named(species):
    water = ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    with pytest.raises(MoleculeMatchError, match="H2O"):
        assign_species(water, species)
