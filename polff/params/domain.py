"""Atom environments the parameterizer was trained on, and the atoms of a new molecule outside them.

An atom's environment is its element, formal charge, aromaticity, hydrogen count and its heavy
neighbours with the bond orders to them (a first-shell atom type). A molecule whose atoms all have
environments seen in the training molecules is interpolated; an atom with an unseen environment
(a nitro nitrogen, a sulfite sulfur when the data hold neither) is extrapolated, whatever the
ensemble members' agreement says: the trainer stores the training environments with each model
(metadata ``atom_environments``) and :class:`polff.params.ensemble.Ensemble` warns about such atoms.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdkit import Chem

BOND_SYMBOLS = {Chem.BondType.SINGLE: "-", Chem.BondType.DOUBLE: "=", Chem.BondType.TRIPLE: "#",
                Chem.BondType.AROMATIC: ":"}


def atom_environment(atom: Chem.Atom) -> str:
    """E.g. 'N+1 ar0 H0 [C-,O-,O=]' for the nitrogen of nitromethane."""
    neighbours = sorted(
        f"{bond.GetOtherAtom(atom).GetSymbol()}{BOND_SYMBOLS.get(bond.GetBondType(), '?')}"
        for bond in atom.GetBonds() if bond.GetOtherAtom(atom).GetAtomicNum() > 1
    )
    return (f"{atom.GetSymbol()}{atom.GetFormalCharge():+d} ar{int(atom.GetIsAromatic())} "
            f"H{atom.GetTotalNumHs(includeNeighbors=True)} [{','.join(neighbours)}]")


def atom_environments(mol: Chem.Mol) -> list[str]:
    """The environment of every atom of ``mol`` (hydrogens included, in atom order)."""
    return [atom_environment(a) for a in mol.GetAtoms()]


def environments_of(smiles: Iterable[str]) -> set[str]:
    """Every atom environment of the molecules ``smiles`` (plain or atom-mapped)."""
    found: set[str] = set()
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            raise ValueError(f"invalid SMILES {s!r}")
        found.update(atom_environments(Chem.AddHs(mol)))
    return found


def unseen_atoms(mol: Chem.Mol, known: set[str]) -> list[tuple[int, str]]:
    """(atom index, environment) of the atoms of ``mol`` whose environment is not in ``known``."""
    return [(k, env) for k, env in enumerate(atom_environments(mol)) if env not in known]
