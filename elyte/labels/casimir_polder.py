"""Dynamic polarizability at imaginary frequencies from linear response, and the Casimir-Polder C6.

A closed-shell linear-response (TDHF / TDDFT in the random-phase approximation) calculation gives
the orbital-rotation matrices A and B over the occupied-virtual pairs and the transition dipoles
d [3, K] of those pairs. Its excitation energies w_n are the square roots of the eigenvalues of
(A - B)^1/2 (A + B) (A - B)^1/2 with eigenvectors z_n, and the isotropic polarizability at
imaginary frequency i*u is a sum over these states::

    alpha(iu) = sum_n S_n / (w_n^2 + u^2),   S_n = (SPIN / 3) sum_x (d_x (A - B)^1/2 z_n)^2

(S_n are oscillator strengths; they sum to the number of electrons in a complete basis). At u = 0
this is the coupled-perturbed static polarizability, the same as a finite-field one. The dispersion
coefficient between two such systems, C6 = (3 / pi) int_0^inf alpha_A(iu) alpha_B(iu) du, is then
analytic: C6 = (3 / 2) sum_nm S_n S_m / (w_n w_m (w_n + w_m)).

Everything here is in Hartree atomic units (energies Eh, dipoles e*Bohr, alpha Bohr^3, C6
Eh*Bohr^6).
"""

from __future__ import annotations

import numpy as np

# A and B in the spin-adapted singlet form (A = de + 2 (ia|jb) - c (ij|ab), pyscf's tdscf get_ab):
# the closed-shell static polarizability is 4 d (A + B)^-1 d
SPIN = 4.0


def _sqrtm_spd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    if values.min() <= 0:
        raise ValueError("A - B is not positive definite: the reference state is unstable (not a minimum "
                         "of the SCF energy); converge it to the ground state first")
    return (vectors * np.sqrt(values)) @ vectors.T


def response_spectrum(a: np.ndarray, b: np.ndarray, dipoles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Excitation energies w [K] (Eh) and isotropic oscillator strengths S [K] from the response
    matrices ``a``, ``b`` [K, K] and the occupied-virtual transition dipoles ``dipoles`` [3, K]."""
    a, b, dipoles = (np.asarray(x, float) for x in (a, b, dipoles))
    root = _sqrtm_spd(a - b)
    w2, z = np.linalg.eigh(root @ (a + b) @ root)
    if w2.min() <= 0:
        raise ValueError("the response matrix has a non-positive excitation energy: the reference state is "
                         "unstable; converge the SCF to the ground state first")
    transition = dipoles @ root @ z
    return np.sqrt(w2), SPIN / 3 * (transition**2).sum(axis=0)


def polarizability_at(omega: np.ndarray, strengths: np.ndarray, u: float | np.ndarray) -> np.ndarray:
    """Isotropic polarizability (Bohr^3) at imaginary frequency ``u`` (Eh), from a spectrum."""
    u = np.asarray(u, float)
    return (strengths / (omega**2 + u[..., None] ** 2)).sum(axis=-1)


def casimir_polder_c6(omega_a: np.ndarray, strengths_a: np.ndarray, omega_b: np.ndarray | None = None,
                      strengths_b: np.ndarray | None = None) -> float:
    """C6 (Eh*Bohr^6) between systems A and B (B = A when not given) from their spectra."""
    if omega_b is None:
        omega_b, strengths_b = omega_a, strengths_a
    weight = np.outer(strengths_a, strengths_b) / (np.outer(omega_a, omega_b) * (omega_a[:, None] + omega_b[None, :]))
    return float(1.5 * weight.sum())
