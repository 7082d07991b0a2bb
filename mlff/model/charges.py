"""Charge equilibration: atomic charges from predicted electronegativities and hardnesses with the
total charge of every structure conserved exactly.

Each structure minimizes sum_i (chi_i q_i + J_i q_i^2 / 2) subject to sum_i q_i = Q; the solution is
q_i = (lambda - chi_i) / J_i with lambda = (Q + sum_i chi_i / J_i) / sum_i (1 / J_i). The solve is
analytic, batched with index_add_, and differentiable (forces see d q / d x).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import softplus


def equilibrate(
    electronegativity: torch.Tensor, hardness: torch.Tensor, total_charge: torch.Tensor, batch: torch.Tensor
) -> torch.Tensor:
    """Charges [N] (e) of atoms in structures ``batch`` [N] with totals ``total_charge`` [B] (e)."""
    inverse = 1.0 / hardness
    sum_inverse = torch.zeros_like(total_charge).index_add_(0, batch, inverse)
    sum_ratio = torch.zeros_like(total_charge).index_add_(0, batch, electronegativity * inverse)
    lagrange = (total_charge + sum_ratio) / sum_inverse
    return (lagrange[batch] - electronegativity) * inverse


class ChargeHead(nn.Module):
    """Electronegativity and hardness (> ``min_hardness``) per atom from its scalar features."""

    def __init__(self, features: int, hidden: int, min_hardness: float):
        super().__init__()
        self.min_hardness = min_hardness
        self.mlp = nn.Sequential(nn.Linear(features, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(self, s: torch.Tensor, total_charge: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        out = self.mlp(s)
        hardness = softplus(out[:, 1] + 1.0) + self.min_hardness
        return equilibrate(out[:, 0], hardness, total_charge, batch)
