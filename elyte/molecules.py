"""Molecules in structures: covalent bonds from distances, fragments, and which species each
fragment is (graph matching against the species' SMILES), with the atom order every force field
and topology in the project uses (``Species.rdkit()`` order).

Distances in Angstrom. A pair is bonded when closer than ``BOND_TOLERANCE`` times the sum of the
covalent radii (ASE's table); Li+ and other ions with no bonds come out as single-atom fragments.
"""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np
import torch
from ase.data import covalent_radii
from rdkit import Chem
from rdkit.Chem import rdDetermineBonds
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from elyte.errors import InputError
from elyte.formulation import Species
from elyte.neighbors import neighbor_list

BOND_TOLERANCE = 1.2
NO_BONDS = {"Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "Zn"}  # ions: never covalently bonded here


class MoleculeMatchError(InputError):
    """A fragment that matches none of the given species."""


def covalent_bonds(atoms: ase.Atoms, tolerance: float = BOND_TOLERANCE) -> np.ndarray:
    """Bonded pairs [B, 2] (i < j), minimum image under the structure's periodicity."""
    numbers = atoms.numbers
    radii = covalent_radii[numbers]
    cutoff = float(2.0 * radii.max() * tolerance)
    positions = torch.tensor(atoms.positions, dtype=torch.float64)
    periodic = bool(atoms.pbc.any())
    cell = torch.tensor(np.asarray(atoms.cell[:]), dtype=torch.float64) if periodic else None
    pairs, shifts = neighbor_list(positions, cutoff, cell, list(atoms.pbc) if periodic else False)
    i, j = pairs.numpy()
    vectors = atoms.positions[j] - atoms.positions[i]
    if periodic:
        vectors = vectors + shifts.numpy() @ np.asarray(atoms.cell[:])
    distance = np.linalg.norm(vectors, axis=1)
    symbols = np.array(atoms.get_chemical_symbols())
    bonded = (distance < tolerance * (radii[i] + radii[j])) & ~np.isin(symbols[i], list(NO_BONDS)) \
        & ~np.isin(symbols[j], list(NO_BONDS))
    return np.stack([i[bonded], j[bonded]], axis=1)


def fragments(n_atoms: int, bonds: np.ndarray) -> list[np.ndarray]:
    """Connected components (atom indices, ascending), ordered by their first atom."""
    graph = coo_matrix((np.ones(len(bonds)), (bonds[:, 0], bonds[:, 1])), shape=(n_atoms, n_atoms))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for atom, label in enumerate(labels):
        groups.setdefault(int(label), []).append(atom)
    return [np.array(g) for g in sorted(groups.values(), key=lambda g: g[0])]


def connectivity(elements: Sequence[str], bonds: np.ndarray) -> Chem.Mol:
    """Elements joined by single bonds: the connectivity alone, for matching atom orders."""
    mol = Chem.RWMol()
    for symbol in elements:
        atom = Chem.Atom(symbol)
        atom.SetNoImplicit(True)
        mol.AddAtom(atom)
    for a, b in bonds:
        mol.AddBond(int(a), int(b), Chem.BondType.SINGLE)
    mol = mol.GetMol()
    mol.UpdatePropertyCache(strict=False)
    return mol


def skeleton(mol: Chem.Mol) -> Chem.Mol:
    """``mol`` as its constitution only: single bonds, no formal charges, aromaticity or chirality."""
    out = Chem.RWMol(mol)
    for bond in out.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    for atom in out.GetAtoms():
        atom.SetFormalCharge(0)
        atom.SetIsAromatic(False)
        atom.SetNoImplicit(True)
        atom.SetNumExplicitHs(0)
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
    out.UpdatePropertyCache(strict=False)
    return out.GetMol()


def symmetry_classes(mol: Chem.Mol) -> np.ndarray:
    """Symmetry-equivalence classes that hold across resonance structures: atoms ranked on the
    skeleton (bond orders and formal charges erased; explicit hydrogens keep protonation sites apart),
    so both O of a carboxylate, all O of nitrate and all F of PF6- fall into one class."""
    ranks = Chem.CanonicalRankAtoms(skeleton(mol), breakTies=False, includeChirality=False)
    _, classes = np.unique(np.asarray(ranks), return_inverse=True)
    return classes.astype(np.int64)


def perceive_bonds(numbers: np.ndarray, positions: np.ndarray) -> Chem.Mol:
    """Atoms at ``positions`` (A) joined by single bonds wherever RDKit's covalent-radius test finds
    them (a molecule or cluster without a box)."""
    mol = Chem.RWMol()
    for z in numbers:
        atom = Chem.Atom(int(z))
        atom.SetNoImplicit(True)
        mol.AddAtom(atom)
    conformer = Chem.Conformer(len(numbers))
    for i, p in enumerate(np.asarray(positions, float)):
        conformer.SetAtomPosition(i, p.tolist())
    mol.AddConformer(conformer)
    rdDetermineBonds.DetermineConnectivity(mol)
    mol.UpdatePropertyCache(strict=False)
    return mol.GetMol()


def species_graph(species: Species) -> Chem.Mol:
    mol = species.rdkit()
    bonds = np.array([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()], int).reshape(-1, 2)
    return connectivity([a.GetSymbol() for a in mol.GetAtoms()], bonds)


def match_order(elements: Sequence[str], bonds: np.ndarray, species: Species) -> np.ndarray | None:
    """``order[s]`` = the atom (of the given graph) that is atom ``s`` of ``species.rdkit()``, or None
    when the graph is another molecule."""
    target = species_graph(species)
    if target.GetNumAtoms() != len(elements):
        return None
    match = target.GetSubstructMatch(connectivity(elements, bonds))
    if len(match) != len(elements):
        return None
    order = np.empty(len(elements), int)
    order[list(match)] = np.arange(len(elements))
    return order


def assign_species(atoms: ase.Atoms, species: Sequence[Species],
                   tolerance: float = BOND_TOLERANCE) -> tuple[np.ndarray, list[Species]]:
    """Identify every molecule of ``atoms`` among ``species``.

    Returns ``order`` [N] and ``molecules``: ``atoms[order]`` lists the molecules one after another,
    each in its species' atom order, and ``molecules[k]`` is the k-th one's species.
    """
    symbols = atoms.get_chemical_symbols()
    bonds = covalent_bonds(atoms, tolerance)
    order, molecules = [], []
    for fragment in fragments(len(atoms), bonds):
        local = {int(a): k for k, a in enumerate(fragment)}
        inside = np.isin(bonds[:, 0], fragment)
        local_bonds = np.array([[local[int(a)], local[int(b)]] for a, b in bonds[inside]], int).reshape(-1, 2)
        elements = [symbols[a] for a in fragment]
        for candidate in species:
            found = match_order(elements, local_bonds, candidate)
            if found is not None:
                order.append(fragment[found])
                molecules.append(candidate)
                break
        else:
            formula = ase.Atoms(elements).get_chemical_formula()
            raise MoleculeMatchError(
                f"the molecule of atoms {fragment[:5].tolist()}... ({formula}) matches none of the species "
                f"{[s.name for s in species]}; add its SMILES, or check the structure for broken or "
                f"overlapping molecules (bonds are taken below {tolerance} x the covalent radii sum)")
    return np.concatenate(order), molecules
