"""Harmonic bonds: E = k/2 (r - r0)^2 (k in kcal/mol/A^2, r in A)."""

import torch


def bond_energy(positions: torch.Tensor, atoms: torch.Tensor, r0: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r = (positions[atoms[:, 1]] - positions[atoms[:, 0]]).norm(dim=1)
    return 0.5 * (k * (r - r0) ** 2).sum()
