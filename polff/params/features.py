"""Graph features of a molecule for the GNN parameterizer: one row per atom and one per bond.

Atom: element, hybridization, formal charge, aromaticity, ring membership and smallest ring size,
degree, number of hydrogens. Bond: order (one-hot and value), conjugation, ring membership.
Features are averaged over symmetry classes (resonance-aware, see ``polff.molecule``), so the two O
of a carboxylate both carry formal charge -1/2 and their C-O bonds order 1.5: symmetry-equivalent
atoms and bonds enter the network with identical rows.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from polff.molecule import SUPPORTED_ELEMENTS, Molecule, MoleculeError

HYBRIDIZATIONS = ("S", "SP", "SP2", "SP3", "SP2D", "SP3D", "SP3D2")
RING_SIZES = (0, 3, 4, 5, 6, 7, 8)  # 0: not in a ring; 8: eight or more
DEGREES = (0, 1, 2, 3, 4, 5, 6)
HYDROGENS = (0, 1, 2, 3, 4)
MAX_ABS_FORMAL_CHARGE = 3
BOND_ORDERS = (1.0, 1.5, 2.0, 3.0)

FEATURE_SPEC = {
    "version": 1,
    "atom": {
        "element": list(SUPPORTED_ELEMENTS),
        "hybridization": list(HYBRIDIZATIONS),
        "formal_charge": "value",
        "aromatic": "flag",
        "in_ring": "flag",
        "ring_size": list(RING_SIZES),
        "degree": list(DEGREES),
        "hydrogens": list(HYDROGENS),
    },
    "bond": {"order": list(BOND_ORDERS), "order_value": "value", "conjugated": "flag", "in_ring": "flag"},
    "symmetrized": "mean over symmetry classes",
}
N_ATOM_FEATURES = len(SUPPORTED_ELEMENTS) + len(HYBRIDIZATIONS) + 3 + len(RING_SIZES) + len(DEGREES) + len(HYDROGENS)
N_BOND_FEATURES = len(BOND_ORDERS) + 3
FORMAL_CHARGE_COLUMN = len(SUPPORTED_ELEMENTS) + len(HYBRIDIZATIONS)
BOND_ORDER_COLUMN = len(BOND_ORDERS)


def _one_hot(value, choices: tuple, what: str, name: str) -> list[float]:
    if value not in choices:
        raise MoleculeError(f"{name}: {what} {value!r} is outside what the parameterizer covers {list(choices)}")
    return [float(value == c) for c in choices]


def hybridizations(molecule: Molecule) -> list[str]:
    """RDKit hybridization of every atom ('SP3', ...), recomputed: hydrogens added after
    sanitization carry none."""
    mol = Chem.Mol(molecule.rdkit)
    Chem.SetHybridization(mol)
    return [str(a.GetHybridization()).split(".")[-1] for a in mol.GetAtoms()]


def atom_features(molecule: Molecule) -> np.ndarray:
    """[N, N_ATOM_FEATURES] raw (not yet symmetrized) atom features."""
    name = molecule.name
    ring = molecule.rdkit.GetRingInfo()
    rows = []
    for atom, hybrid in zip(molecule.rdkit.GetAtoms(), hybridizations(molecule)):
        charge = atom.GetFormalCharge()
        if abs(charge) > MAX_ABS_FORMAL_CHARGE:
            raise MoleculeError(f"{name}: formal charge {charge} on atom {atom.GetIdx()} is beyond "
                                f"+-{MAX_ABS_FORMAL_CHARGE}")
        if atom.GetNumRadicalElectrons():
            raise MoleculeError(f"{name}: radical on atom {atom.GetIdx()}; give a closed-shell molecule")
        ring_size = min(ring.MinAtomRingSize(atom.GetIdx()), RING_SIZES[-1])
        rows.append(
            _one_hot(atom.GetSymbol(), SUPPORTED_ELEMENTS, "element", name)
            + _one_hot(hybrid, HYBRIDIZATIONS, "hybridization", name)
            + [float(charge), float(atom.GetIsAromatic()), float(ring_size > 0)]
            + _one_hot(ring_size, RING_SIZES, "ring size", name)
            + _one_hot(atom.GetDegree(), DEGREES, "degree", name)
            + _one_hot(atom.GetTotalNumHs(includeNeighbors=True), HYDROGENS, "hydrogen count", name)
        )
    return np.array(rows, dtype=float).reshape(-1, N_ATOM_FEATURES)


def bond_features(molecule: Molecule) -> np.ndarray:
    """[B, N_BOND_FEATURES] raw bond features, rows in the order of ``molecule.bonds``."""
    rows = []
    for (i, j), order in zip(molecule.bonds.tolist(), molecule.bond_orders):
        bond = molecule.rdkit.GetBondBetweenAtoms(i, j)
        rows.append(
            _one_hot(float(order), BOND_ORDERS, "bond order", molecule.name)
            + [float(order), float(bond.GetIsConjugated()), float(bond.IsInRing())]
        )
    return np.array(rows, dtype=float).reshape(-1, N_BOND_FEATURES)


def class_mean(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Replace each row by the mean of the rows in its class."""
    if len(values) == 0:
        return values
    sums = np.zeros((classes.max() + 1,) + values.shape[1:])
    np.add.at(sums, classes, values)
    counts = np.bincount(classes, minlength=len(sums)).reshape((-1,) + (1,) * (values.ndim - 1))
    return (sums / counts)[classes]
