"""The parameterizer's input: each molecule's symmetrized features, the terms that get parameters,
their symmetry classes and priors; and a batch of several molecules as flat torch tensors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from rdkit import Chem

from polff.molecule import Molecule, MoleculeError
from polff.params.features import BOND_ORDER_COLUMN, atom_features, bond_features, class_mean, hybridizations
from polff.params.priors import angle_priors, bond_priors, element_priors, improper_priors

TERMS = ("bonds", "angles", "propers", "impropers")
TRANS_ANGLE_DEG = 135.0  # at octahedral centres, neighbour pairs wider than this are trans


def octahedral_angles(molecule: Molecule, positions: np.ndarray | None) -> np.ndarray:
    """Angles with their trans pairs at six-coordinate centres removed (as in ByteFF-Pol's PF6-,
    which keeps the 12 cis F-P-F angles): the graph cannot tell cis from trans, the geometry can."""
    name = molecule.name
    degree = np.bincount(molecule.bonds.ravel(), minlength=molecule.n_atoms)
    if (degree == 5).any():
        raise MoleculeError(f"{name}: five-coordinate centres (atom(s) {np.flatnonzero(degree == 5).tolist()}) are not "
                            "supported: their axial and equatorial angles differ but are graph-equivalent")
    hyper = np.flatnonzero(degree == 6)
    if len(hyper) == 0:
        return molecule.angles
    if positions is None:
        if molecule.rdkit.GetNumConformers() == 0:
            raise MoleculeError(f"{name}: six-coordinate atom(s) {hyper.tolist()} need 3D coordinates to tell cis from "
                                "trans neighbours; build the molecule from SDF/PDB or pass positions=")
        positions = molecule.rdkit.GetConformer().GetPositions()
    positions = np.asarray(positions, float)
    if positions.shape != (molecule.n_atoms, 3):
        raise MoleculeError(f"{name}: positions must have shape ({molecule.n_atoms}, 3), got {positions.shape}")
    a, c, b = molecule.angles.T
    u, v = positions[a] - positions[c], positions[b] - positions[c]
    cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    trans = np.isin(c, hyper) & (cos < np.cos(np.radians(TRANS_ANGLE_DEG)))
    partners = np.bincount(np.concatenate([a[trans], b[trans]]), minlength=molecule.n_atoms)
    for centre in hyper:
        neighbours = molecule.bonds[(molecule.bonds == centre).any(1)].ravel()
        if not (partners[neighbours[neighbours != centre]] == 1).all():
            raise MoleculeError(f"{name}: atom {centre} has six neighbours but its geometry is not octahedral")
    return molecule.angles[~trans]


def _propers_off_linear_centres(molecule: Molecule, hybrid: list[str]) -> np.ndarray:
    """Proper torsions without an sp atom in the middle: across a linear angle (H-C-C#N) the
    dihedral is undefined and its forces blow up near collinearity."""
    if len(molecule.propers) == 0:
        return molecule.propers
    linear = np.array([h == "SP" for h in hybrid])
    return molecule.propers[~(linear[molecule.propers[:, 1]] | linear[molecule.propers[:, 2]])]


def _term_classes(classes: np.ndarray, terms: np.ndarray, kind: str) -> np.ndarray:
    """Class id of each term from its atoms' classes, independent of the order the term is written in."""
    if len(terms) == 0:
        return np.zeros(0, int)
    c = classes[terms]
    if kind == "bonds":
        key = np.sort(c, axis=1)
    elif kind == "angles":
        key = np.stack([np.minimum(c[:, 0], c[:, 2]), c[:, 1], np.maximum(c[:, 0], c[:, 2])], 1)
    elif kind == "propers":
        rev = c[:, ::-1]
        diff = rev - c
        first = np.argmax(diff != 0, axis=1)
        reverse_first = diff[np.arange(len(c)), first] < 0
        key = np.where(reverse_first[:, None], rev, c)
    else:
        key = np.concatenate([c[:, :1], np.sort(c[:, 1:], axis=1)], 1)
    return np.unique(key, axis=0, return_inverse=True)[1].reshape(-1)


@dataclass
class MoleculeGraph:
    """One molecule as the parameterizer sees it (numpy, 0-based atom indices)."""

    molecule: Molecule
    atom_features: np.ndarray  # [N, F_atom], class-averaged
    bond_features: np.ndarray  # [B, F_bond], class-averaged
    terms: dict[str, np.ndarray]  # bonds [B, 2], angles [A, 3], propers [T, 4], impropers [I, 4]
    classes: dict[str, np.ndarray]  # 'atoms', 'fragments' and each term kind -> class id per row
    priors: dict[str, np.ndarray]  # output name -> prior per atom or per term (internal units)
    fragment_charges: np.ndarray  # [F] total formal charge of each connected fragment (e)

    @classmethod
    def from_molecule(cls, molecule: Molecule, positions: np.ndarray | None = None) -> MoleculeGraph:
        """``positions`` (Angstrom) are needed only for six-coordinate centres without a conformer."""
        hybrid = hybridizations(molecule)
        terms = {"bonds": molecule.bonds, "angles": octahedral_angles(molecule, positions),
                 "propers": _propers_off_linear_centres(molecule, hybrid), "impropers": molecule.impropers}
        atom_class = molecule.symmetry_class
        classes = {"atoms": atom_class} | {k: _term_classes(atom_class, v, k) for k, v in terms.items()}
        # a SMILES with several fragments ("[Li+].[F-]"): each keeps its own formal charge
        fragments = np.zeros(molecule.n_atoms, int)
        for k, atoms in enumerate(Chem.GetMolFrags(molecule.rdkit)):
            fragments[list(atoms)] = k
        classes["fragments"] = fragments
        fragment_charges = np.bincount(fragments, weights=molecule.formal_charges, minlength=fragments.max() + 1)
        atoms = class_mean(atom_features(molecule), atom_class)
        bonds = class_mean(bond_features(molecule), classes["bonds"])
        order = bonds[:, BOND_ORDER_COLUMN]  # class-averaged: 1.5 for both C-O of a carboxylate
        prior = element_priors(molecule.elements)
        prior |= bond_priors(molecule.elements, terms["bonds"], order)
        prior |= angle_priors([hybrid[c] for c in terms["angles"][:, 1]])
        prior |= improper_priors([hybrid[c] for c in terms["impropers"][:, 0]])
        return cls(molecule, atoms, bonds, terms, classes, prior, fragment_charges)


@dataclass
class GraphBatch:
    """Several molecules concatenated; term atom indices and class ids are global (offset)."""

    graphs: list[MoleculeGraph]
    atom_features: torch.Tensor  # [N, F_atom]
    bond_features: torch.Tensor  # [B, F_bond]
    terms: dict[str, torch.Tensor]  # long, global atom indices
    classes: dict[str, torch.Tensor]  # long, global class ids ('atoms' and each term kind)
    priors: dict[str, torch.Tensor]
    fragment_index: torch.Tensor  # [N] long: connected fragment of each atom (global)
    fragment_charge: torch.Tensor  # [F] total formal charge of each fragment, e
    counts: dict[str, list[int]]  # 'atoms' and each term kind -> rows per molecule

    @property
    def n_atoms(self) -> int:
        return self.atom_features.shape[0]

    @classmethod
    def from_graphs(cls, graphs: list[MoleculeGraph]) -> GraphBatch:
        """Concatenate ``graphs`` in order; floating-point tensors in float64 (the model casts)."""
        if not graphs:
            raise ValueError("a batch needs at least one molecule")
        n_atoms = [g.molecule.n_atoms for g in graphs]
        atom_offset = np.cumsum([0] + n_atoms)[:-1]

        def floats(arrays: list[np.ndarray]) -> torch.Tensor:
            return torch.as_tensor(np.concatenate(arrays), dtype=torch.float64)

        def offset_terms(kind: str) -> torch.Tensor:
            return torch.as_tensor(np.concatenate([g.terms[kind] + o for g, o in zip(graphs, atom_offset)]))

        def offset_classes(kind: str) -> torch.Tensor:
            offset = np.cumsum([0] + [g.classes[kind].max(initial=-1) + 1 for g in graphs])[:-1]
            return torch.as_tensor(np.concatenate([g.classes[kind] + o for g, o in zip(graphs, offset)]))

        return cls(
            graphs=graphs,
            atom_features=floats([g.atom_features for g in graphs]),
            bond_features=floats([g.bond_features for g in graphs]),
            terms={k: offset_terms(k).long() for k in TERMS},
            classes={k: offset_classes(k).long() for k in ("atoms",) + TERMS},
            priors={k: floats([g.priors[k] for g in graphs]) for k in graphs[0].priors},
            fragment_index=offset_classes("fragments").long(),
            fragment_charge=floats([g.fragment_charges for g in graphs]),
            counts={"atoms": n_atoms} | {k: [len(g.terms[k]) for g in graphs] for k in TERMS},
        )

    def to(self, device: torch.device | str) -> GraphBatch:
        """The same batch with every tensor on ``device``."""
        def move(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.to(device) for k, v in d.items()}

        return dataclasses.replace(
            self, atom_features=self.atom_features.to(device), bond_features=self.bond_features.to(device),
            terms=move(self.terms), classes=move(self.classes), priors=move(self.priors),
            fragment_index=self.fragment_index.to(device), fragment_charge=self.fragment_charge.to(device),
        )
