"""Exponential repulsion with a short-range wall:
E = 6 eps_ij exp(lamb_ij (1 - r / R_ij)) + (s / r)^12, eps_ij = sqrt(eps_i eps_j),
lamb_ij = sqrt(lamb_i lamb_j), R_ij = (R_i + R_j) / 2; s = 1.5 A, the wall in kcal/mol."""

import torch

WALL_SIGMA = 1.5  # Angstrom


def combined_radius(rvdw: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """R_ij = (R_i + R_j) / 2 (A), shared by repulsion, dispersion and charge transfer."""
    return 0.5 * (rvdw[i] + rvdw[j])


def repulsion_pairs(
    r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(exponential part, wall part) of each pair (kcal/mol), unscaled."""
    eps = torch.sqrt(params["eps"][i] * params["eps"][j])
    lamb = torch.sqrt(params["lamb"][i] * params["lamb"][j])
    radius = combined_radius(params["rvdw"], i, j)
    return 6.0 * eps * torch.exp(lamb * (1.0 - r / radius)), (WALL_SIGMA / r) ** 12


def repulsion_energy(
    r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor], scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(exponential part, wall part) summed over pairs with per-pair ``scale``."""
    exponential, wall = repulsion_pairs(r, i, j, params)
    return (scale * exponential).sum(), (scale * wall).sum()
