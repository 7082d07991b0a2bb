"""Damped C6 dispersion: E = -C6_ij / (d R_ij^6 + r^6), C6_ij = sqrt(C6_i C6_j), d = 120."""

import torch

from polff.terms.repulsion import combined_radius

DAMPING = 120.0


def dispersion_pairs(r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Dispersion energy of each pair (kcal/mol), unscaled."""
    c6 = torch.sqrt(params["c6"][i] * params["c6"][j])
    radius = combined_radius(params["rvdw"], i, j)
    return -c6 / (DAMPING * radius**6 + r**6)


def dispersion_energy(
    r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor], scale: torch.Tensor
) -> torch.Tensor:
    return (scale * dispersion_pairs(r, i, j, params)).sum()
