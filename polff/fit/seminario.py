"""Bond and angle force constants from a QM Hessian by the modified Seminario method
(A. E. A. Allen, M. C. Payne, D. J. Cole, J. Chem. Theory Comput. 14, 274 (2018)).

The interatomic block ``-H_AB`` (3x3) of the Cartesian Hessian is read as the spring between atoms
A and B: its eigenvalues ``lambda_i`` and eigenvectors ``v_i`` projected on a direction ``u`` give
the stiffness ``sum_i lambda_i |u . v_i|`` along ``u``.

- Bond A-B: ``k = (s_AB(u_AB) + s_BA(u_BA)) / 2`` with ``u_AB`` the bond direction; r0 is the bond
  length in the (equilibrium) geometry of the Hessian.
- Angle A-B-C (centre B): ``1/k = f_A / (R_AB^2 s_AB(u_PA)) + f_C / (R_CB^2 s_CB(u_PC))``, where
  ``u_PA`` lies in the ABC plane perpendicular to B->A. The modification: ``f_A = 1 +`` the mean of
  ``|u_PA . u_PA'|^2`` over the other angles A-B-X at the same centre, which removes the double
  counting of an in-plane motion of A that bends several angles at once (f = 1 when A-B is in no
  other angle).

Units: Hessian in kcal/mol/A^2, positions in A; bond k in kcal/mol/A^2 and angle k in
kcal/mol/rad^2 for ``E = k/2 (x - x0)^2``; theta0 in radians.
"""

from __future__ import annotations

import numpy as np

_LINEAR = 1e-6  # |sin theta| below this: the angle plane is undefined, any perpendicular plane serves


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _stiffness(hessian: np.ndarray, a: int, b: int, direction: np.ndarray) -> float:
    """``sum_i lambda_i |direction . v_i|`` over the eigenpairs of ``-H_ab`` (kcal/mol/A^2)."""
    block = -hessian[3 * a:3 * a + 3, 3 * b:3 * b + 3]
    values, vectors = np.linalg.eig(block)  # the block need not be symmetric
    return float(np.sum(values.real * np.abs(direction @ vectors.real)))


def _check(hessian: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(positions, float)
    hessian = np.asarray(hessian, float)
    n = len(positions)
    if positions.shape != (n, 3) or hessian.shape != (3 * n, 3 * n):
        raise ValueError(f"need positions [N, 3] and a Hessian [3N, 3N]; got {positions.shape} and {hessian.shape}")
    if not np.isfinite(hessian).all():
        raise ValueError("the Hessian contains NaN or infinite values")
    return hessian, positions


def bond_parameters(hessian: np.ndarray, positions: np.ndarray, bonds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Force constants (kcal/mol/A^2) and lengths (A) of ``bonds`` [B, 2]."""
    hessian, positions = _check(hessian, positions)
    k, r0 = np.zeros(len(bonds)), np.zeros(len(bonds))
    for row, (a, b) in enumerate(np.asarray(bonds, int)):
        u = positions[b] - positions[a]
        r0[row] = np.linalg.norm(u)
        u = u / r0[row]
        k[row] = 0.5 * (_stiffness(hessian, a, b, u) + _stiffness(hessian, b, a, -u))
    return k, r0


def _perpendicular(u_end: np.ndarray, u_other: np.ndarray) -> np.ndarray:
    """Unit vector in the plane of the two bond directions, perpendicular to ``u_end``."""
    normal = np.cross(u_other, u_end)
    if np.linalg.norm(normal) < _LINEAR:  # linear angle: any plane containing the bond
        axis = np.eye(3)[np.argmin(np.abs(u_end))]
        normal = np.cross(axis, u_end)
    return _unit(np.cross(_unit(normal), u_end))


def angle_parameters(hessian: np.ndarray, positions: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Force constants (kcal/mol/rad^2) and equilibrium angles (rad) of ``angles`` [A, 3] (centre in
    the middle), with the modified Seminario correction over the angles listed."""
    hessian, positions = _check(hessian, positions)
    angles = np.asarray(angles, int).reshape(-1, 3)
    # per (end atom, centre): the in-plane perpendicular of every angle containing that bond
    perps: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    geometry = []
    for row, (a, c, b) in enumerate(angles):
        u_a, u_b = _unit(positions[a] - positions[c]), _unit(positions[b] - positions[c])
        p_a, p_b = _perpendicular(u_a, u_b), _perpendicular(u_b, u_a)
        perps.setdefault((a, c), []).append((row, p_a))
        perps.setdefault((b, c), []).append((row, p_b))
        geometry.append((p_a, p_b, np.arctan2(np.linalg.norm(np.cross(u_a, u_b)), u_a @ u_b)))

    def factor(end: int, centre: int, row: int, p: np.ndarray) -> float:
        others = [q for r, q in perps[(end, centre)] if r != row]
        return 1.0 + (float(np.mean([(p @ q) ** 2 for q in others])) if others else 0.0)

    k, theta0 = np.zeros(len(angles)), np.zeros(len(angles))
    for row, ((a, c, b), (p_a, p_b, theta)) in enumerate(zip(angles, geometry)):
        r_a, r_b = np.linalg.norm(positions[a] - positions[c]), np.linalg.norm(positions[b] - positions[c])
        compliance = (factor(a, c, row, p_a) / (r_a ** 2 * _stiffness(hessian, a, c, p_a))
                      + factor(b, c, row, p_b) / (r_b ** 2 * _stiffness(hessian, b, c, p_b)))
        k[row], theta0[row] = 1.0 / compliance, theta
    return k, theta0
