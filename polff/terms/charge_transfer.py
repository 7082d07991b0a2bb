"""Charge transfer: E = -ct_eps_ij r^-4 exp(-(ct_lamb_ij r / R_ij)^3), geometric combination of
ct_eps (kcal/mol A^4) and ct_lamb; R_ij as for the repulsion."""

import torch

from polff.terms.repulsion import combined_radius


def charge_transfer_pairs(r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Charge-transfer energy of each pair (kcal/mol), unscaled."""
    ct_eps = torch.sqrt(params["ct_eps"][i] * params["ct_eps"][j])
    ct_lamb = torch.sqrt(params["ct_lamb"][i] * params["ct_lamb"][j])
    radius = combined_radius(params["rvdw"], i, j)
    return -ct_eps / r**4 * torch.exp(-((ct_lamb * r / radius) ** 3))


def charge_transfer_energy(
    r: torch.Tensor, i: torch.Tensor, j: torch.Tensor, params: dict[str, torch.Tensor], scale: torch.Tensor
) -> torch.Tensor:
    return (scale * charge_transfer_pairs(r, i, j, params)).sum()
