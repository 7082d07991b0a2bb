"""Atom environments (polff.params.domain): known keys, unseen atoms, and the shipped ensemble's
warning on functional groups its training data never had."""

from __future__ import annotations

import logging

from rdkit import Chem

from polff.params import Ensemble, default_model_dir
from polff.params.domain import atom_environment, environments_of, unseen_atoms


def mol(smiles: str) -> Chem.Mol:
    return Chem.AddHs(Chem.MolFromSmiles(smiles))


def test_environment_keys_describe_the_first_shell():
    nitro = mol("C[N+](=O)[O-]")
    assert atom_environment(nitro.GetAtomWithIdx(1)) == "N+1 ar0 H0 [C-,O-,O=]"
    assert atom_environment(nitro.GetAtomWithIdx(0)) == "C+0 ar0 H3 [N-]"
    benzene = mol("c1ccccc1")
    assert atom_environment(benzene.GetAtomWithIdx(0)) == "C+0 ar1 H1 [C:,C:]"
    # atom order and mapping numbers do not matter
    assert environments_of(["COC(=O)OC"]) == environments_of(["[CH3:1][O:2][C:3](=[O:4])[O:5][CH3:6]"])


def test_unseen_atoms_are_those_outside_the_known_environments():
    known = environments_of(["COC(=O)OC", "CC(C)=O"])
    assert unseen_atoms(mol("COC(=O)OC"), known) == []
    unseen = unseen_atoms(mol("COC=O"), known)  # methyl formate: its formyl carbon only
    assert [k for k, _ in unseen] == [2]


def test_shipped_ensemble_flags_unseen_functional_groups(caplog):
    """Nitro groups and sulfites are in none of the training molecules; carbonates and aromatics are."""
    ensemble = Ensemble.from_files(default_model_dir())
    with caplog.at_level(logging.WARNING, logger="polff.params.ensemble"):
        for smiles in ("COC(=O)OC", "c1ccncc1", "CCOP(=O)(OCC)OCC"):
            assert ensemble.parameterize(smiles).unseen == [], smiles
    assert "training domain" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="polff.params.ensemble"):
        nitro = ensemble.parameterize("C[N+](=O)[O-]")
        sulfite = ensemble.parameterize("COS(=O)OC")
    assert [k for k, _ in nitro.unseen] == [1] and any("environment" in r for r in nitro.out_of_domain())
    assert 2 in [k for k, _ in sulfite.unseen]
    assert "N+1 ar0 H0 [C-,O-,O=]" in caplog.text
