"""Ewald summation of charges plus Thole-damped induced point dipoles in a periodic (triclinic) box.

The electrostatic energy E(q, mu) of charges q and dipoles mu is split into a real-space pair sum
within the cutoff (erfc-screened, with the exclusion/1-4 scaling and Thole damping applied as
corrections to the undamped interaction), a reciprocal-space sum over k-vectors, and self and
neutralizing-background terms. The induced dipoles minimize
U(mu) = sum_i |mu_i|^2 / (2 alpha_i) + E(q, mu); the polarization energy is U(mu*) - E(q, 0) and,
as for clusters, forces follow from U at fixed mu* by autograd.

Units: Angstrom, e, e*A, kcal/mol (through the Coulomb constant).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from elyte.electrostatics.ewald import EwaldParameters, reciprocal_sum, self_and_background
from elyte.units import COULOMB_KCAL_ANGSTROM
from polff.terms.electrostatics import (ElectrostaticsResult, PairGeometry, conjugate_gradient, extrapolated_dipoles,
                                       thole_damping)


def ewald_energy(
    q: torch.Tensor,
    mu: torch.Tensor,
    positions: torch.Tensor,
    cell: torch.Tensor,
    pairs: PairGeometry,
    pol_damping: torch.Tensor,
    charge_scale: torch.Tensor,
    dipole_scale: torch.Tensor,
    ewald: EwaldParameters,
) -> torch.Tensor:
    """Electrostatic energy (kcal/mol) of charges and dipoles with scaling and Thole damping."""
    beta, r = ewald.beta, pairs.r
    erf = torch.erf(beta * r)
    gauss = 2.0 * beta / math.sqrt(math.pi) * torch.exp(-((beta * r) ** 2))
    b1 = ((1.0 - erf) / r + gauss) / r**2  # erfc-screened 1/r^3 kernel
    b2 = (3.0 * b1 + 2.0 * beta**2 * gauss) / r**2  # erfc-screened 3/r^5 kernel (divided by 3 below)
    damp3, damp5 = thole_damping(r, pol_damping[pairs.i], pol_damping[pairs.j])
    # real-space kernels: screened undamped minus the parts that scaling/damping remove
    g3_charge = b1 - (1.0 - charge_scale * damp3) / r**3
    g3 = b1 - (1.0 - dipole_scale * damp3) / r**3
    g5 = b2 / 3.0 - (1.0 - dipole_scale * damp5) / r**5
    qi, qj, mi, mj, vec = q[pairs.i], q[pairs.j], mu[pairs.i], mu[pairs.j], pairs.vec
    mi_r, mj_r = (mi * vec).sum(dim=1), (mj * vec).sum(dim=1)
    real = (
        qi * qj * (charge_scale - erf) / r
        + (qj * mi_r - qi * mj_r) * g3_charge
        - (3.0 * g5 * mi_r * mj_r - g3 * (mi * mj).sum(dim=1))
    ).sum()

    reciprocal = reciprocal_sum(q, positions, cell, ewald, mu)
    return COULOMB_KCAL_ANGSTROM * (real + reciprocal + self_and_background(q, cell, ewald.beta, mu))


def ewald_electrostatics(
    q: torch.Tensor,
    alpha: torch.Tensor,
    pol_damping: torch.Tensor,
    positions: torch.Tensor,
    cell: torch.Tensor,
    pairs: PairGeometry,
    charge_scale: torch.Tensor,
    dipole_scale: torch.Tensor,
    ewald: EwaldParameters,
    tolerance: float = 1e-8,
    max_iterations: int = 500,
    extrapolation: Sequence[float] | None = None,
) -> ElectrostaticsResult:
    """Permanent and polarization energies (kcal/mol) and induced dipoles (e*A) of a periodic box;
    converged dipoles, or extrapolated ones with the coefficients ``extrapolation`` (see
    polff.terms.electrostatics)."""
    def energy(mu, x=positions, h=cell, p=pairs):
        return ewald_energy(q, mu, x, h, p, pol_damping, charge_scale, dipole_scale, ewald)

    zero = torch.zeros_like(positions)
    permanent = energy(zero)
    if extrapolation is not None:
        field = _field(energy, zero, differentiable=True)
        mu = extrapolated_dipoles(alpha, field, lambda m: _field(energy, m, differentiable=True) - field, extrapolation)
        return ElectrostaticsResult(permanent, -0.5 * COULOMB_KCAL_ANGSTROM * (mu * field).sum(), mu)
    mu = _solve(lambda m: energy(m, positions.detach(), cell.detach(), _detach(pairs)), alpha.detach(), zero,
                tolerance, max_iterations)
    polarizable = alpha > 0
    safe_alpha = torch.where(polarizable, alpha, torch.ones_like(alpha))
    self_term = COULOMB_KCAL_ANGSTROM * torch.where(polarizable, (mu * mu).sum(dim=1) / (2.0 * safe_alpha), 0.0).sum()
    return ElectrostaticsResult(permanent, self_term + energy(mu) - permanent, mu)


def _field(energy, mu: torch.Tensor, differentiable: bool = False) -> torch.Tensor:
    """Electric field at the dipoles (e/A^2): -dE/dmu / Coulomb constant; ``differentiable``
    keeps its graph (in mu and in whatever ``energy`` depends on)."""
    with torch.enable_grad():
        m = mu if differentiable and mu.requires_grad else mu.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(m), m, create_graph=differentiable)
    return -grad / COULOMB_KCAL_ANGSTROM


def _solve(energy, alpha, zero, tolerance, max_iterations) -> torch.Tensor:
    """Induced dipoles from the Ewald energy: E is the field at mu = 0, T mu the field's change."""
    permanent = _field(energy, zero)
    mu = conjugate_gradient(alpha, permanent, lambda m: _field(energy, m) - permanent, tolerance, max_iterations)
    return mu.detach()


def _detach(pairs: PairGeometry) -> PairGeometry:
    return PairGeometry(pairs.i, pairs.j, pairs.vec.detach(), pairs.r.detach())
