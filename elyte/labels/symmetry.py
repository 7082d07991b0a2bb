"""Symmetry-equivalent atoms from RDKit canonical ranks (ties kept), for charge-fit constraints."""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDetermineBonds

from elyte.elements import symbol


def classes_from_mol(mol: Chem.Mol) -> np.ndarray:
    """One class per atom of ``mol``: atoms with equal canonical rank (``breakTies=False``) of the bare
    connectivity graph (elements and bonds; bond orders and formal charges dropped, so resonance-equivalent
    atoms such as a carboxylate's oxygens or PF6-'s fluorines share a class)."""
    graph = Chem.RWMol(mol)
    for bond in graph.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for atom in graph.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
    graph.UpdatePropertyCache(strict=False)
    ranks = np.array(list(Chem.CanonicalRankAtoms(graph, breakTies=False)))
    _, classes = np.unique(ranks, return_inverse=True)
    return classes.astype(np.int64)


def classes_from_geometry(numbers: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Symmetry classes of a structure given as elements and Cartesian positions (Angstrom).

    The connectivity comes from covalent radii; as in :func:`classes_from_mol` bond orders are not needed.
    """
    mol = Chem.RWMol()
    for z in numbers:
        atom = Chem.Atom(int(z))
        atom.SetNoImplicit(True)
        mol.AddAtom(atom)
    conf = Chem.Conformer(len(numbers))
    for i, xyz in enumerate(np.asarray(positions, float)):
        conf.SetAtomPosition(i, xyz.tolist())
    mol.AddConformer(conf)
    try:
        rdDetermineBonds.DetermineConnectivity(mol)
    except Exception as err:  # RDKit raises plain RuntimeErrors
        formula = "".join(symbol(z) for z in numbers)
        raise ValueError(f"cannot determine the connectivity of {formula}: {err}") from err
    return classes_from_mol(mol)
