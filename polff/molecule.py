"""Molecules for the polarizable force field: from SMILES (plain or atom-mapped), SDF, or PDB plus
a SMILES template, to an RDKit molecule with explicit hydrogens, its symmetry-equivalence classes
(resonance-aware) and its topology (bonds, angles, proper and improper torsions, 1-2..1-5 pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

from elyte.molecules import symmetry_classes
from polff.system import MAX_RELATION, bond_distances

# Elements the force field covers (organic electrolyte solvents, salts and common ions).
SUPPORTED_ELEMENTS = ("H", "Li", "B", "C", "N", "O", "F", "Na", "Mg", "Si", "P", "S", "Cl", "K", "Ca", "Br", "I")


class MoleculeError(ValueError):
    """A molecule that cannot be built or is outside what the force field covers."""


@dataclass
class Molecule:
    """A molecule with explicit hydrogens and the topology the energy terms need (0-based indices)."""

    name: str
    rdkit: Chem.Mol
    elements: list[str]
    formal_charges: np.ndarray  # [N] int
    symmetry_class: np.ndarray  # [N] int: equal for symmetry-equivalent atoms (resonance-aware)
    bonds: np.ndarray  # [B, 2]
    bond_orders: np.ndarray  # [B] float (1, 1.5, 2, 3)
    angles: np.ndarray  # [A, 3], centre in the middle
    propers: np.ndarray  # [T, 4]
    impropers: np.ndarray  # [I, 4], centre first, then its three neighbours
    relations: np.ndarray  # [N, N] bonds on the shortest path (0 on the diagonal, >MAX_RELATION far)

    @property
    def n_atoms(self) -> int:
        return len(self.elements)

    @property
    def total_charge(self) -> int:
        return int(self.formal_charges.sum())


def _check(mol: Chem.Mol, source: str) -> Chem.Mol:
    unsupported = sorted({a.GetSymbol() for a in mol.GetAtoms()} - set(SUPPORTED_ELEMENTS))
    if unsupported:
        raise MoleculeError(f"{source}: element(s) {unsupported} not supported; supported: {', '.join(SUPPORTED_ELEMENTS)}")
    radicals = [a.GetIdx() for a in mol.GetAtoms() if a.GetNumRadicalElectrons()]
    if radicals:
        raise MoleculeError(
            f"{source}: radical (unpaired electrons on atom(s) {radicals}); give a closed-shell molecule "
            "with explicit charges, e.g. [O-] instead of [O]"
        )
    return mol


def from_smiles(smiles: str, name: str | None = None) -> Molecule:
    """Build from SMILES. Atom-mapped SMILES (every heavy and hydrogen atom mapped 1..N) keep the
    mapped order; otherwise RDKit's order with hydrogens appended."""
    params = Chem.SmilesParserParams()
    params.removeHs = False  # keep [H:n] atoms of atom-mapped SMILES where they are
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(smiles, params)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if mol is None:
        raise MoleculeError(f"invalid SMILES {smiles!r}: RDKit cannot parse or sanitize it (check valences and brackets)")
    mol = Chem.AddHs(mol)
    maps = [a.GetAtomMapNum() for a in mol.GetAtoms()]
    if any(maps):
        if sorted(maps) != list(range(1, mol.GetNumAtoms() + 1)):
            raise MoleculeError(f"{smiles!r}: atom map numbers must cover every atom (hydrogens too) as 1..N")
        mol = Chem.RenumberAtoms(mol, [int(i) for i in np.argsort(maps)])
        for atom in mol.GetAtoms():
            atom.SetAtomMapNum(0)
    return from_rdkit(mol, name or smiles)


def from_sdf(path: str | Path, name: str | None = None) -> Molecule:
    """Build from the first record of an SDF/MOL file (hydrogens as written, added if absent)."""
    mol = Chem.MolFromMolFile(str(path), removeHs=False)
    if mol is None:
        raise MoleculeError(f"{path}: not a readable SDF/MOL file")
    return from_rdkit(Chem.AddHs(mol, addCoords=True), name or Path(path).stem)


def from_pdb(path: str | Path, smiles: str, name: str | None = None) -> Molecule:
    """Build from a PDB (atom order and coordinates) with bond orders from a SMILES template."""
    mol = Chem.MolFromPDBFile(str(path), removeHs=False)
    if mol is None:
        raise MoleculeError(f"{path}: not a readable PDB file")
    template = Chem.MolFromSmiles(smiles)
    if template is None:
        raise MoleculeError(f"invalid SMILES template {smiles!r}")
    try:
        mol = AllChem.AssignBondOrdersFromTemplate(template, mol)
    except ValueError as err:
        raise MoleculeError(f"{path}: its connectivity does not match the SMILES {smiles!r} ({err})") from err
    return from_rdkit(mol, name or Path(path).stem)


def from_rdkit(mol: Chem.Mol, name: str) -> Molecule:
    """Build from an RDKit molecule that already has explicit hydrogens."""
    _check(mol, name)
    if any(a.GetNumImplicitHs() for a in mol.GetAtoms()):
        mol = Chem.AddHs(mol)
    n = mol.GetNumAtoms()
    bonds = np.array([[b.GetBeginAtomIdx(), b.GetEndAtomIdx()] for b in mol.GetBonds()], dtype=int).reshape(-1, 2)
    neighbours = [sorted(n.GetIdx() for n in a.GetNeighbors()) for a in mol.GetAtoms()]
    angles = [(a, c, b) for c in range(n) for i, a in enumerate(neighbours[c]) for b in neighbours[c][i + 1 :]]
    propers = [
        (a, b, c, d)
        for b, c in bonds.tolist()
        for a in neighbours[b] if a != c
        for d in neighbours[c] if d not in (b, a)
    ]
    impropers = [(c, *neighbours[c]) for c in range(n) if len(neighbours[c]) == 3]
    return Molecule(
        name=name,
        rdkit=mol,
        elements=[a.GetSymbol() for a in mol.GetAtoms()],
        formal_charges=np.array([a.GetFormalCharge() for a in mol.GetAtoms()], dtype=int),
        symmetry_class=symmetry_classes(mol),
        bonds=bonds,
        bond_orders=np.array([b.GetBondTypeAsDouble() for b in mol.GetBonds()]),
        angles=np.array(angles, dtype=int).reshape(-1, 3),
        propers=np.array(propers, dtype=int).reshape(-1, 4),
        impropers=np.array(impropers, dtype=int).reshape(-1, 4),
        relations=np.minimum(bond_distances(n, bonds), MAX_RELATION + 1).astype(int),
    )
