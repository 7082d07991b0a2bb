"""Point charges plus isotropic induced point dipoles with Thole damping (real-space pair sums).

Fields are in e/A^2, dipoles in e*A, polarizabilities in A^3; energies are multiplied by the
Coulomb constant to give kcal/mol. Damping (AMOEBA-style, a = 0.39):
u^3 = r^3 / sqrt(pd_i pd_j), lambda3 = 1 - exp(-a u^3), lambda5 = 1 - (1 + a u^3) exp(-a u^3).
The permanent field of the charges is damped by lambda3; the dipole-dipole tensor is
T_ij = 3 lambda5 r r^T / r^5 - lambda3 I / r^3. Induced dipoles solve mu = alpha (E + T mu).

The polarization energy is evaluated as the variational functional
U(mu) = sum_i |mu_i|^2 / (2 alpha_i) - 1/2 mu.T mu - mu.E, which equals -1/2 mu.E at the solution
and whose derivative at fixed mu is the exact derivative of the polarization energy with respect
to positions and every parameter (its derivative in mu vanishes there). So forces need no
differentiation through the solver, direct or iterative.

Extrapolated polarization replaces the solve by a fixed combination of perturbation orders,
mu = sum_k c_k mu_k over the partial sums mu_k = p_0 + ... + p_k of p_0 = alpha E,
p_(k+1) = alpha T p_k, with energy -1/2 mu.E. That is an explicit, differentiable function of the
positions: autograd through the chain gives its exact forces (the reference of the OpenMM plugin's
analytic ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from elyte.units import COULOMB_KCAL_ANGSTROM

THOLE_A = 0.39


class PolarizationError(RuntimeError):
    """The induced dipoles did not converge (polarization catastrophe or too few iterations)."""


@dataclass
class PairGeometry:
    """Pairs i < j with vectors r_ij = x_j - x_i (A) and their lengths."""

    i: torch.Tensor
    j: torch.Tensor
    vec: torch.Tensor
    r: torch.Tensor


def thole_damping(r: torch.Tensor, pd_i: torch.Tensor, pd_j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lambda3, lambda5) for each pair."""
    au3 = THOLE_A * r**3 / torch.sqrt(pd_i * pd_j)
    decay = torch.exp(-au3)
    return 1.0 - decay, 1.0 - (1.0 + au3) * decay


def permanent_field(q: torch.Tensor, pairs: PairGeometry, damp3: torch.Tensor, scale: torch.Tensor, n: int) -> torch.Tensor:
    """Field of the charges at every atom, [n, 3] (e/A^2), damped and scaled per pair."""
    w = (scale * damp3 / pairs.r**3)[:, None] * pairs.vec
    field = q.new_zeros(n, 3, dtype=pairs.vec.dtype)
    field.index_add_(0, pairs.i, -q[pairs.j, None] * w)
    field.index_add_(0, pairs.j, q[pairs.i, None] * w)
    return field


def dipole_field(mu: torch.Tensor, pairs: PairGeometry, damp3: torch.Tensor, damp5: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """sum_j T_ij mu_j at every atom, [n, 3]."""
    r2 = pairs.r**2
    a = scale * 3.0 * damp5 / (r2 * r2 * pairs.r)
    b = scale * damp3 / (r2 * pairs.r)
    def apply(m):  # T m for each pair (T is symmetric, the same for both directions)
        return a[:, None] * (pairs.vec * m).sum(dim=1, keepdim=True) * pairs.vec - b[:, None] * m
    field = torch.zeros_like(mu)
    field.index_add_(0, pairs.i, apply(mu[pairs.j]))
    field.index_add_(0, pairs.j, apply(mu[pairs.i]))
    return field


def _dense_t(pairs: PairGeometry, damp3: torch.Tensor, damp5: torch.Tensor, scale: torch.Tensor, n: int) -> torch.Tensor:
    rr = pairs.vec[:, :, None] * pairs.vec[:, None, :]
    eye = torch.eye(3, dtype=pairs.vec.dtype, device=pairs.vec.device)
    r2 = pairs.r**2
    block = scale[:, None, None] * (3.0 * damp5[:, None, None] * rr / (r2 * r2 * pairs.r)[:, None, None]
                                    - damp3[:, None, None] * eye / (r2 * pairs.r)[:, None, None])
    t = pairs.vec.new_zeros(n, 3, n, 3)
    t[pairs.i, :, pairs.j, :] = block
    t[pairs.j, :, pairs.i, :] = block
    return t.reshape(3 * n, 3 * n)


def solve_direct(alpha, field, pairs, damp3, damp5, scale) -> torch.Tensor:
    """Induced dipoles by a dense Cholesky solve of (I - sqrt(a) T sqrt(a)) nu = sqrt(a) E,
    mu = sqrt(a) nu: the reference for small systems (O(N^3)). A matrix that is not positive
    definite (a polarization catastrophe) raises PolarizationError naming the atom."""
    n = alpha.numel()
    root = torch.sqrt(alpha).repeat_interleave(3)
    matrix = torch.eye(3 * n, dtype=field.dtype, device=field.device)
    matrix = matrix - root[:, None] * _dense_t(pairs, damp3, damp5, scale, n) * root[None, :]
    factor, info = torch.linalg.cholesky_ex(matrix)
    if int(info) > 0:
        raise PolarizationError(
            f"polarization catastrophe: the induced-dipole equations have no stable solution (first failing "
            f"atom {(int(info) - 1) // 3}); atoms are too close for their polarizabilities and Thole damping"
        )
    nu = torch.cholesky_solve((root * field.reshape(-1))[:, None], factor)[:, 0]
    return (root * nu).reshape(n, 3)


def conjugate_gradient(alpha, field, dipole_field_of, tolerance: float = 1e-8, max_iterations: int = 500) -> torch.Tensor:
    """Induced dipoles by conjugate gradients on the symmetric form
    (I - sqrt(a) T sqrt(a)) nu = sqrt(a) E, mu = sqrt(a) nu, where ``dipole_field_of(mu)`` returns
    T mu (the field of the dipoles at every atom) however it is computed.

    Converged when every atom's residual |mu - alpha (E + T mu)| < ``tolerance`` (e*A).
    """
    root = torch.sqrt(alpha)[:, None]

    def apply(nu):
        return nu - root * dipole_field_of(root * nu)

    nu = root * field  # first-order guess: mu = alpha E
    residual = root * field - apply(nu)
    direction = residual.clone()
    rho = (residual * residual).sum()
    for _ in range(max_iterations):
        worst = (root * residual).norm(dim=1)
        if float(worst.max()) < tolerance:
            return root * nu
        image = apply(direction)
        curvature = (direction * image).sum()
        if curvature <= 0:
            break  # the matrix is not positive definite: a polarization catastrophe
        step = rho / curvature
        nu = nu + step * direction
        residual = residual - step * image
        rho_next = (residual * residual).sum()
        direction = residual + (rho_next / rho) * direction
        rho = rho_next
    worst = (root * residual).norm(dim=1)
    atoms = torch.argsort(worst, descending=True)[:5].tolist()
    raise PolarizationError(
        f"induced dipoles did not converge (largest residual {float(worst.max()):.3g} e*A at atoms {atoms}); "
        "atoms too close together for their polarizabilities (polarization catastrophe), or raise max_iterations"
    )


def solve_iterative(alpha, field, pairs, damp3, damp5, scale, tolerance: float = 1e-8, max_iterations: int = 500) -> torch.Tensor:
    """Induced dipoles by conjugate gradients, matrix-free over the pairs (see conjugate_gradient)."""
    return conjugate_gradient(alpha, field, lambda mu: dipole_field(mu, pairs, damp3, damp5, scale), tolerance,
                              max_iterations)


def extrapolated_dipoles(alpha: torch.Tensor, field: torch.Tensor, dipole_field_of: Callable[[torch.Tensor], torch.Tensor],
                         coefficients: Sequence[float]) -> torch.Tensor:
    """Extrapolated induced dipoles (e*A) sum_k c_k mu_k, differentiable in every input;
    ``dipole_field_of(mu)`` returns T mu. Needs at least two coefficients."""
    if len(coefficients) < 2:
        raise ValueError(f"extrapolated polarization needs at least two coefficients (c_0, c_1), got {list(coefficients)}")
    weights = [sum(coefficients[j:]) for j in range(len(coefficients))]  # of p_j: c_j + ... + c_n
    order = alpha[:, None] * field
    mu = weights[0] * order
    for weight in weights[1:]:
        order = alpha[:, None] * dipole_field_of(order)
        mu = mu + weight * order
    return mu


@dataclass
class ElectrostaticsResult:
    permanent: torch.Tensor  # charge-charge energy, kcal/mol
    polarization: torch.Tensor  # kcal/mol
    dipoles: torch.Tensor  # [n, 3] e*A


def electrostatics_energy(
    q: torch.Tensor,
    alpha: torch.Tensor,
    pol_damping: torch.Tensor,
    pairs: PairGeometry,
    charge_scale: torch.Tensor,
    dipole_scale: torch.Tensor,
    solver: str = "auto",
    tolerance: float = 1e-8,
    extrapolation: Sequence[float] | None = None,
) -> ElectrostaticsResult:
    """Charge-charge and polarization energies and the induced dipoles.

    ``solver``: 'direct' (dense, exact), 'iterative' (conjugate gradients) or 'auto' (direct up to
    300 atoms). ``extrapolation``: coefficients c_0..c_n of extrapolated polarization instead of
    the converged dipoles (the solver is then unused).
    """
    n = q.numel()
    permanent = COULOMB_KCAL_ANGSTROM * (charge_scale * q[pairs.i] * q[pairs.j] / pairs.r).sum()
    damp3, damp5 = thole_damping(pairs.r, pol_damping[pairs.i], pol_damping[pairs.j])
    field = permanent_field(q, pairs, damp3, charge_scale, n)
    if extrapolation is not None:
        mu = extrapolated_dipoles(alpha, field, lambda m: dipole_field(m, pairs, damp3, damp5, dipole_scale),
                                  extrapolation)
        return ElectrostaticsResult(permanent, -0.5 * COULOMB_KCAL_ANGSTROM * (mu * field).sum(), mu)
    with torch.no_grad():
        args = (alpha.detach(), field.detach(), _detached(pairs), damp3.detach(), damp5.detach(), dipole_scale)
        if solver == "direct" or (solver == "auto" and n <= 300):
            mu = solve_direct(*args)
        elif solver in ("iterative", "auto"):
            mu = solve_iterative(*args, tolerance=tolerance)
        else:
            raise ValueError(f"solver must be 'auto', 'direct' or 'iterative', got {solver!r}")
    polarizable = alpha > 0
    self_term = torch.where(polarizable, (mu * mu).sum(dim=1) / (2.0 * torch.where(polarizable, alpha, 1.0)), 0.0)
    coupling = (mu * dipole_field(mu, pairs, damp3, damp5, dipole_scale)).sum()
    functional = self_term.sum() - 0.5 * coupling - (mu * field).sum()
    return ElectrostaticsResult(permanent, COULOMB_KCAL_ANGSTROM * functional, mu)


def _detached(pairs: PairGeometry) -> PairGeometry:
    return PairGeometry(pairs.i, pairs.j, pairs.vec.detach(), pairs.r.detach())
