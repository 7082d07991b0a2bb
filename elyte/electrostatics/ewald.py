"""Ewald summation pieces shared by mlff (point charges) and polff (charges + induced dipoles).

Everything here returns sums in e^2/A (no Coulomb constant): callers multiply by
``elyte.units.COULOMB_KCAL_ANGSTROM`` once. The real-space part, which carries each force field's
own damping and exclusions, stays with the caller; this module supplies the screening parameters,
the reciprocal-space sum, and the self and neutralizing-background terms.

Units: Angstrom, e, e*A.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EwaldParameters:
    """Screening ``beta`` (1/A) and the k-vector cutoff ``kmax`` (1/A), chosen from a relative tolerance."""

    beta: float
    kmax: float  # 1/A: reciprocal vectors with |k| < kmax are summed

    @classmethod
    def from_tolerance(cls, cutoff: float, tolerance: float = 1e-6) -> EwaldParameters:
        """erfc(beta * cutoff) ~ tolerance in real space, exp(-k^2 / 4 beta^2) ~ tolerance in k-space."""
        beta = math.sqrt(-math.log(2.0 * tolerance)) / cutoff
        return cls(beta=beta, kmax=2.0 * beta * math.sqrt(-math.log(tolerance)))


def reciprocal_integers(cell: torch.Tensor, kmax: float) -> torch.Tensor:
    """Integer triples n [K, 3] (int64) of the reciprocal vectors k = 2 pi n inv(cell)^T with
    0 < |k| < kmax (1/A) of ``cell`` [3, 3] (A, rows), one of each +-n pair (the first non-zero
    component positive), in lexicographic order of n."""
    cell = cell.detach()
    # k . a_i = 2 pi n_i, so |k| >= 2 pi |n_i| / |a_i| bounds each integer range
    limits = [int(math.ceil(kmax * float(length) / (2.0 * math.pi))) for length in cell.norm(dim=1)]
    grids = torch.meshgrid(*[torch.arange(-m, m + 1, device=cell.device) for m in limits], indexing="ij")
    n = torch.stack([g.reshape(-1) for g in grids], dim=1)
    first = torch.where(n[:, 0] != 0, n[:, 0], torch.where(n[:, 1] != 0, n[:, 1], n[:, 2]))
    n = n[first > 0]
    k = lattice_to_reciprocal(n, cell)
    return n[(k * k).sum(dim=1) < kmax**2]


def lattice_to_reciprocal(integers: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
    """k = 2 pi n inv(cell)^T [K, 3] (1/A) for integer triples n [K, 3]; differentiable in ``cell``."""
    return integers.to(cell) @ (2.0 * math.pi * torch.linalg.inv(cell).T)  # rows of 2 pi inv(cell)^T: b1, b2, b3


def reciprocal_vectors(cell: torch.Tensor, kmax: float) -> torch.Tensor:
    """Half of the reciprocal lattice vectors 0 < |k| < kmax (one of each +-k pair), [K, 3] 1/A."""
    return lattice_to_reciprocal(reciprocal_integers(cell, kmax), cell)


def reciprocal_sum(
    q: torch.Tensor, positions: torch.Tensor, cell: torch.Tensor, ewald: EwaldParameters, mu: torch.Tensor | None = None
) -> torch.Tensor:
    """Reciprocal-space energy (e^2/A) of charges q [N] and optional point dipoles mu [N, 3] (e*A)."""
    volume = torch.linalg.det(cell).abs()
    k = reciprocal_vectors(cell, ewald.kmax)
    k2 = (k * k).sum(dim=1)
    phase = positions @ k.T  # [N, K]
    cos, sin = torch.cos(phase), torch.sin(phase)
    amplitude_re, amplitude_im = q[:, None] * cos, q[:, None] * sin
    if mu is not None:
        mu_k = mu @ k.T
        amplitude_re, amplitude_im = amplitude_re - mu_k * sin, amplitude_im + mu_k * cos
    structure = amplitude_re.sum(dim=0) ** 2 + amplitude_im.sum(dim=0) ** 2
    # the sum over half the k-vectors is doubled: 2 * (2 pi / V) sum_{k>0}
    return 4.0 * math.pi / volume * (torch.exp(-k2 / (4.0 * ewald.beta**2)) / k2 * structure).sum()


def self_and_background(
    q: torch.Tensor, cell: torch.Tensor, beta: float, mu: torch.Tensor | None = None
) -> torch.Tensor:
    """Self-interaction of the screening Gaussians and the neutralizing background (e^2/A)."""
    volume = torch.linalg.det(cell).abs()
    energy = -beta / math.sqrt(math.pi) * (q * q).sum() - math.pi * q.sum() ** 2 / (2.0 * volume * beta**2)
    if mu is not None:
        energy = energy - 2.0 * beta**3 / (3.0 * math.sqrt(math.pi)) * (mu * mu).sum()
    return energy
