"""Damped C6 dispersion: E = -C6_ij / (d R_ij^6 + r^6), C6_ij = sqrt(C6_i C6_j), d = 120."""

import torch

from polff.terms.repulsion import combined_radius

DAMPING = 120.0


def dispersion_energy(
    r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor], scale: torch.Tensor
) -> torch.Tensor:
    c6 = torch.sqrt(params["c6"][i] * params["c6"][j])
    radius = combined_radius(params["rvdw"], i, j)
    return -(scale * c6 / (DAMPING * radius**6 + r**6)).sum()
