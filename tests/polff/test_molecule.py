"""Molecules from SMILES / SDF / PDB: hydrogens, symmetry classes, topology, ions, bad input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from polff.molecule import MoleculeError, from_pdb, from_sdf, from_smiles


def classes_of(smiles: str) -> list[int]:
    return from_smiles(smiles).symmetry_class.tolist()


def test_resonance_aware_equivalence():
    acetate = from_smiles("CC(=O)[O-]")
    assert acetate.symmetry_class[2] == acetate.symmetry_class[3]  # both carboxylate O
    assert acetate.total_charge == -1
    pf6 = from_smiles("F[P-](F)(F)(F)(F)F")
    assert len({c for c, e in zip(pf6.symmetry_class, pf6.elements) if e == "F"}) == 1  # six F of PF6-
    nitrate = classes_of("[O-][N+](=O)[O-]")
    assert nitrate[0] == nitrate[2] == nitrate[3]
    tfsi = from_smiles("O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F")
    o = [i for i, e in enumerate(tfsi.elements) if e == "O"]
    f = [i for i, e in enumerate(tfsi.elements) if e == "F"]
    assert len(set(tfsi.symmetry_class[o])) == 1 and len(set(tfsi.symmetry_class[f])) == 1


def test_non_equivalent_atoms_stay_apart():
    ethanol = from_smiles("CCO")
    assert ethanol.symmetry_class[0] != ethanol.symmetry_class[1]
    acid = from_smiles("CC(=O)O")  # protonated: the two O differ
    assert acid.symmetry_class[2] != acid.symmetry_class[3]
    dmc = from_smiles("COC(=O)OC")
    assert dmc.symmetry_class[0] == dmc.symmetry_class[5] and dmc.symmetry_class[1] == dmc.symmetry_class[4]


def test_topology_counts():
    ec = from_smiles("O=C1OCCO1")
    assert ec.n_atoms == 10 and len(ec.bonds) == 10
    # angles: sum over atoms of C(degree, 2)
    degrees = np.bincount(ec.bonds.ravel(), minlength=10)
    assert len(ec.angles) == sum(d * (d - 1) // 2 for d in degrees)
    assert len(ec.impropers) == 1 and ec.impropers[0, 0] == 1  # the carbonyl carbon
    assert ec.relations[0, 1] == 1 and ec.relations[0, 2] == 2 and ec.relations[0, 3] == 3
    # every proper torsion is a bonded path a-b-c-d
    for a, b, c, d in ec.propers:
        assert ec.relations[a, b] == ec.relations[b, c] == ec.relations[c, d] == 1
    ethane = from_smiles("CC")
    assert len(ethane.propers) == 9


@pytest.mark.parametrize("smiles, charge", [
    ("[Li+]", 1), ("[Na+]", 1), ("[K+]", 1), ("[Mg+2]", 2), ("F[P-](F)(F)(F)(F)F", -1), ("F[B-](F)(F)F", -1),
    ("[O-][Cl+3]([O-])([O-])[O-]", -1), ("FS(=O)(=O)[N-]S(=O)(=O)F", -1), ("[O-][N+](=O)[O-]", -1),
])
def test_ions(smiles, charge):
    assert from_smiles(smiles).total_charge == charge


def test_atom_mapped_smiles_keep_the_mapped_order(shared_data):
    smiles = json.loads((shared_data / "qm_monomer_100" / "monomer_100.json").read_text())
    with h5py.File(shared_data / "qm_monomer_100" / "monomer_100.h5") as f:
        for name in list(smiles)[:20]:
            mol = from_smiles(smiles[name])
            coords = f[name]["coords"][0]
            assert coords.shape[0] == mol.n_atoms
            for a, b in mol.bonds:  # mapped order matches the coordinates: bonded atoms are close
                assert np.linalg.norm(coords[a] - coords[b]) < 2.2, (name, a, b)


def test_sdf_and_pdb_inputs(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("COC(=O)OC"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    Chem.MolToMolFile(mol, str(tmp_path / "dmc.sdf"))
    Chem.MolToPDBFile(mol, str(tmp_path / "dmc.pdb"))
    reference = from_smiles("COC(=O)OC")
    for built in (from_sdf(tmp_path / "dmc.sdf"), from_pdb(tmp_path / "dmc.pdb", "COC(=O)OC")):
        assert sorted(built.elements) == sorted(reference.elements)
        assert sorted(built.bond_orders.tolist()) == sorted(reference.bond_orders.tolist())


def test_bad_input():
    with pytest.raises(MoleculeError, match="invalid SMILES"):
        from_smiles("C1CC")
    with pytest.raises(MoleculeError, match="invalid SMILES"):
        from_smiles("C(C)(C)(C)(C)C")  # pentavalent carbon
    with pytest.raises(MoleculeError, match="radical"):
        from_smiles("[CH3]")
    with pytest.raises(MoleculeError, match=r"element\(s\) \['Xe'\] not supported"):
        from_smiles("[Xe]")
    with pytest.raises(MoleculeError, match="map numbers"):
        from_smiles("[CH3:1][OH:2]")  # hydrogens unmapped


def test_pdb_not_matching_its_template(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    Chem.MolToPDBFile(mol, str(tmp_path / "ethanol.pdb"))
    with pytest.raises(MoleculeError, match="does not match"):
        from_pdb(tmp_path / "ethanol.pdb", "CCC")
