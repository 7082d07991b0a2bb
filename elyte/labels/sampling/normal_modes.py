"""Normal-mode sampling: a finite-difference Hessian and classical Boltzmann displacements along its modes.

With mass-weighted Hessian eigenpairs ``(lambda_k, e_k)`` (kcal/mol/(A^2 amu)), a harmonic
oscillator at temperature T has normal coordinates ``q_k ~ N(0, kT / lambda_k)``; the Cartesian
displacement is ``M^-1/2 sum_k q_k e_k``. Translations, rotations and soft or imaginary modes
(``lambda`` below ``min_eigenvalue``; 1 kcal/mol/(A^2 amu) is about 108 cm^-1) are left out.
"""

from __future__ import annotations

import numpy as np

from elyte.elements import masses
from elyte.labels.engines.base import Backend
from elyte.labels.structure import QMStructure
from elyte.units import kt_kcal


def hessian(backend: Backend, structure: QMStructure, step: float = 0.005) -> np.ndarray:
    """Cartesian Hessian [3N, 3N] (kcal/mol/A^2) by central differences of forces (step in A)."""
    x0 = structure.positions.ravel()
    columns = []
    for k in range(len(x0)):
        grads = []
        for sign in (1.0, -1.0):
            x = x0.copy()
            x[k] += sign * step
            moved = QMStructure(structure.numbers, x.reshape(-1, 3), structure.charge, structure.multiplicity,
                                cell=structure.cell)
            grads.append(-backend.compute(moved, ["energy", "forces"])["forces"].ravel())
        columns.append((grads[0] - grads[1]) / (2 * step))
    h = np.array(columns)
    return 0.5 * (h + h.T)


def modes(h: np.ndarray, numbers: np.ndarray, min_eigenvalue: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Vibrational eigenvalues [K] (kcal/mol/(A^2 amu)) and mass-weighted modes [3N, K] of Hessian ``h``."""
    inv_sqrt_m = np.repeat(masses(numbers) ** -0.5, 3)
    values, vectors = np.linalg.eigh(h * inv_sqrt_m[:, None] * inv_sqrt_m[None, :])
    keep = values > min_eigenvalue
    return values[keep], vectors[:, keep]


def displaced(structure: QMStructure, h: np.ndarray, temperature: float, n: int, rng: np.random.Generator
              ) -> list[QMStructure]:
    """``n`` geometries drawn from the classical harmonic Boltzmann distribution at ``temperature`` (K)."""
    values, vectors = modes(h, structure.numbers)
    inv_sqrt_m = np.repeat(masses(structure.numbers) ** -0.5, 3)
    out = []
    for k in range(n):
        q = rng.normal(size=len(values)) * np.sqrt(kt_kcal(temperature) / values)
        shift = (inv_sqrt_m * (vectors @ q)).reshape(-1, 3)
        out.append(QMStructure(structure.numbers, structure.positions + shift, structure.charge,
                               structure.multiplicity, symmetry=structure.symmetry,
                               provenance={**structure.provenance, "temperature_k": temperature, "sample": k}))
    return out
