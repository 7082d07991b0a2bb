"""Radial basis functions of the pair distance and the smooth cutoff envelope (distances in A)."""

from __future__ import annotations

import math

import torch
from torch import nn


class BesselBasis(nn.Module):
    """sqrt(2 / rc) sin(n pi r / rc) / r, n = 1..n_basis: a complete set on (0, rc)."""

    def __init__(self, cutoff: float, n_basis: int):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("frequencies", math.pi * torch.arange(1, n_basis + 1) / cutoff)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return math.sqrt(2.0 / self.cutoff) * torch.sin(self.frequencies * r[:, None]) / r[:, None]


class GaussianBasis(nn.Module):
    """exp(-(r - mu_n)^2 / (2 w^2)) with n_basis centres evenly spaced on [0, rc] and w their spacing."""

    def __init__(self, cutoff: float, n_basis: int):
        super().__init__()
        self.register_buffer("centres", torch.linspace(0.0, cutoff, n_basis))
        self.width = cutoff / max(n_basis - 1, 1)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return torch.exp(-0.5 * ((r[:, None] - self.centres) / self.width) ** 2)


class PolynomialEnvelope(nn.Module):
    """Smooth cutoff u(d), d = r / rc: 1 - (p+1)(p+2)/2 d^p + p(p+2) d^(p+1) - p(p+1)/2 d^(p+2) for d < 1,
    else 0; u, u' and u'' vanish at rc, so energies and forces are continuous there."""

    def __init__(self, cutoff: float, exponent: int = 6):
        super().__init__()
        self.cutoff, self.p = cutoff, exponent

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return polynomial_envelope(r / self.cutoff, self.p)


def polynomial_envelope(d: torch.Tensor, p: int) -> torch.Tensor:
    """The envelope u(d) of :class:`PolynomialEnvelope` at reduced distances d = r / rc."""
    u = 1.0 - (p + 1) * (p + 2) / 2 * d**p + p * (p + 2) * d ** (p + 1) - p * (p + 1) / 2 * d ** (p + 2)
    return torch.where(d < 1.0, u, torch.zeros_like(u))


def smooth_switch(r: torch.Tensor, r_on: float, r_off: float) -> torch.Tensor:
    """1 below r_on, 0 above r_off, a C2 quintic 1 - 10x^3 + 15x^4 - 6x^5 between (x = (r - r_on) / (r_off - r_on))."""
    x = ((r - r_on) / (r_off - r_on)).clamp(0.0, 1.0)
    return 1.0 - x**3 * (10.0 - 15.0 * x + 6.0 * x**2)


def radial_basis(kind: str, cutoff: float, n_basis: int) -> nn.Module:
    return {"bessel": BesselBasis, "gaussian": GaussianBasis}[kind](cutoff, n_basis)
