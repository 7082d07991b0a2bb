"""Molecular polarizability by central finite differences of the dipole in a uniform field."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from elyte.units import BOHR3_TO_ANGSTROM3


def polarizability(dipole_in_field: Callable[[np.ndarray], np.ndarray], step: float = 1e-3) -> np.ndarray:
    """Static polarizability [3, 3] (A^3) with ``alpha_ij = d mu_i / d F_j``.

    ``dipole_in_field(F)`` returns the dipole (e*Bohr) in the uniform field ``F`` (atomic units,
    Hartree/(e*Bohr), oriented so that the energy falls by ``mu . F``). Six field calculations; the error
    is O(step^2) plus the SCF noise divided by the step, so converge SCFs tightly (1e-9 or better).
    """
    alpha = np.zeros((3, 3))
    for j in range(3):
        field = np.zeros(3)
        field[j] = step
        alpha[:, j] = (np.asarray(dipole_in_field(field)) - np.asarray(dipole_in_field(-field))) / (2 * step)
    return 0.5 * (alpha + alpha.T) * BOHR3_TO_ANGSTROM3
