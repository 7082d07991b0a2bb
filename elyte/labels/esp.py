"""Electrostatic-potential grids and ESP-fitted atomic charges (RESP-style restrained least squares).

Grid: points on shells at several multiples of each atom's van der Waals radius (Merz-Kollman
style), kept only where they lie outside every atom's shell of the same multiple. Fit: charges q
minimise ``|V - A q|^2 + a * sum_heavy (sqrt(q^2 + b^2) - b)`` subject to an exact total charge and
equal charges within each symmetry class, solved as an equality-constrained least-squares problem
(Lagrange multiplier) on one charge per class; the hyperbolic restraint (RESP) is handled by the
usual iteratively reweighted scheme. Units: Angstrom, e, potential in kcal/mol/e.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from elyte.units import COULOMB_KCAL_ANGSTROM

SHELL_SCALES = (1.4, 1.6, 1.8, 2.0)
POINT_DENSITY = 1.0  # points per A^2 of shell surface


def vdw_radius(z: int) -> float:
    """Van der Waals radius (Angstrom, RDKit's table: Bondi where available)."""
    return float(Chem.GetPeriodicTable().GetRvdw(int(z)))


def _sphere(n: int) -> np.ndarray:
    """``n`` nearly uniform unit vectors (Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * k / n)
    azimuth = np.pi * (1.0 + 5.0**0.5) * k
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


def esp_grid(numbers: np.ndarray, positions: np.ndarray, scales=SHELL_SCALES, density: float = POINT_DENSITY
             ) -> np.ndarray:
    """Grid points [M, 3] (Angstrom) around a molecule, outside the scaled vdW shells of every atom."""
    positions = np.asarray(positions, float)
    radii = np.array([vdw_radius(z) for z in numbers])
    points = []
    for scale in scales:
        shell = scale * radii
        for center, r in zip(positions, shell):
            candidates = center + r * _sphere(max(int(4 * np.pi * r * r * density), 8))
            dist = np.linalg.norm(candidates[:, None, :] - positions[None, :, :], axis=-1)
            points.append(candidates[(dist >= shell[None, :] - 1e-8).all(axis=1)])
    grid = np.concatenate(points)
    if len(grid) == 0:
        raise ValueError("no ESP grid point lies outside the vdW shells; check the geometry")
    return grid


def design_matrix(points: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Potential (kcal/mol/e) at each point [M] per unit charge on each atom [N]: ``A[m, i]``."""
    dist = np.linalg.norm(np.asarray(points)[:, None, :] - np.asarray(positions)[None, :, :], axis=-1)
    return COULOMB_KCAL_ANGSTROM / dist


def fit_charges(points: np.ndarray, potential: np.ndarray, positions: np.ndarray, total_charge: float,
                symmetry: np.ndarray | None = None, numbers: np.ndarray | None = None, restraint: float = 0.0,
                hyperbola: float = 0.1, iterations: int = 50, tol: float = 1e-8) -> np.ndarray:
    """ESP-fitted charges [N] (e) reproducing ``potential`` [M] (kcal/mol/e) at ``points`` [M, 3].

    ``symmetry`` holds one class per atom (equal charges within a class; default: every atom its own
    class). ``restraint`` (``a``, in e^-1 times the potential-squared scale of the least squares) pulls
    heavy-atom charges towards zero as in RESP; it needs ``numbers`` to tell hydrogens from heavy atoms.
    The total charge and the symmetry equalities hold exactly whatever the restraint.
    """
    positions = np.asarray(positions, float)
    n = len(positions)
    classes = np.arange(n) if symmetry is None else np.asarray(symmetry, np.int64)
    if classes.shape != (n,):
        raise ValueError(f"symmetry needs one class per atom ({n}), got shape {classes.shape}")
    if restraint > 0 and numbers is None:
        raise ValueError("a RESP restraint needs the atomic numbers (hydrogens are not restrained)")
    _, classes = np.unique(classes, return_inverse=True)
    expand = np.zeros((n, classes.max() + 1))
    expand[np.arange(n), classes] = 1.0  # q = expand @ p
    a = design_matrix(points, positions) @ expand
    counts = expand.sum(axis=0)
    heavy = (expand.T @ (np.asarray(numbers) > 1).astype(float) > 0) if restraint > 0 else np.zeros(len(counts), bool)
    normal, rhs = a.T @ a, a.T @ np.asarray(potential, float)
    p = np.zeros(len(counts))
    for _ in range(iterations if restraint > 0 else 1):
        # d/dq of a*(sqrt(q^2+b^2)-b) = a q / sqrt(q^2+b^2): a diagonal weight per class, summed over its atoms
        weight = np.where(heavy, restraint * counts / np.sqrt(p**2 + hyperbola**2), 0.0)
        m = len(counts)
        kkt = np.zeros((m + 1, m + 1))
        kkt[:m, :m] = normal + np.diag(weight)
        kkt[:m, m] = kkt[m, :m] = counts
        solution = np.linalg.solve(kkt, np.append(rhs, total_charge))
        converged = np.abs(solution[:m] - p).max() < tol
        p = solution[:m]
        if converged:
            break
    return expand @ p
