"""Symmetry-equivalent atoms of a structure given by geometry, for charge-fit constraints (the
classes themselves: :func:`elyte.molecules.symmetry_classes`)."""

from __future__ import annotations

import numpy as np

from elyte.elements import symbol
from elyte.molecules import perceive_bonds, symmetry_classes


def classes_from_geometry(numbers: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Symmetry classes of a structure given as elements and Cartesian positions (Angstrom); the
    connectivity comes from covalent radii (bond orders are not needed)."""
    try:
        mol = perceive_bonds(numbers, positions)
    except Exception as err:  # RDKit raises plain RuntimeErrors
        formula = "".join(symbol(z) for z in numbers)
        raise ValueError(f"cannot determine the connectivity of {formula}: {err}") from err
    return symmetry_classes(mol)
