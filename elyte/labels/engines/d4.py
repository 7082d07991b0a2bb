"""dftd4: atom-in-molecule static polarizabilities and C6 coefficients, and the D4 dispersion
energy and gradient added to DFT functionals. Positions in Angstrom in, internal units out."""

from __future__ import annotations

import numpy as np

from elyte.units import (
    ANGSTROM_TO_BOHR,
    BOHR3_TO_ANGSTROM3,
    HARTREE_BOHR6_TO_KCAL_ANGSTROM6,
    HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM,
    HARTREE_TO_KCAL,
)


def _model(numbers: np.ndarray, positions: np.ndarray, charge: int):
    from dftd4.interface import DispersionModel

    return DispersionModel(np.asarray(numbers, np.int32), np.asarray(positions, float) * ANGSTROM_TO_BOHR,
                           charge=float(charge))


def d4_properties(numbers: np.ndarray, positions: np.ndarray, charge: int) -> dict[str, np.ndarray]:
    """``atomic_polarizabilities`` [N] (A^3) and homoatomic ``c6`` [N] (kcal/mol*A^6) from dftd4."""
    props = _model(numbers, positions, charge).get_properties()
    return {
        "atomic_polarizabilities": np.asarray(props["polarizabilities"]) * BOHR3_TO_ANGSTROM3,
        "c6": np.diag(props["c6 coefficients"]).copy() * HARTREE_BOHR6_TO_KCAL_ANGSTROM6,
    }


def d4_dispersion(numbers: np.ndarray, positions: np.ndarray, charge: int, functional: str
                  ) -> tuple[float, np.ndarray]:
    """D4(BJ) dispersion energy (kcal/mol) and forces [N, 3] (kcal/mol/A) for ``functional``."""
    from dftd4.interface import DampingParam

    result = _model(numbers, positions, charge).get_dispersion(DampingParam(method=functional), grad=True)
    return (float(result["energy"]) * HARTREE_TO_KCAL,
            -np.asarray(result["gradient"]) * HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM)
