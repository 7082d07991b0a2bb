"""Which known molecule a fragment of a cluster is, and in which atom order: the fragment's bonds
come from its geometry (RDKit's connectivity perception from covalent radii) and are matched, as a
graph of elements with bond orders and charges erased, against each candidate SMILES."""

from __future__ import annotations

import numpy as np

from elyte.molecules import perceive_bonds, skeleton
from polff.molecule import Molecule


def match_fragment(numbers: np.ndarray, positions: np.ndarray, charge: int,
                   candidates: dict[str, Molecule]) -> tuple[str, np.ndarray] | None:
    """The first candidate (key, e.g. its SMILES) with the fragment's charge and constitution, and
    the fragment's atom indices in the candidate's atom order; None when none fits."""
    fragment = perceive_bonds(numbers, positions)
    for key, molecule in candidates.items():
        if molecule.n_atoms != len(numbers) or molecule.total_charge != charge:
            continue
        match = fragment.GetSubstructMatch(skeleton(molecule.rdkit))
        if match:
            return key, np.asarray(match)
    return None
