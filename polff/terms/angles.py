"""Harmonic angles: E = k/2 (theta - theta0)^2 (k in kcal/mol/rad^2)."""

import torch


def angle_energy(positions: torch.Tensor, atoms: torch.Tensor, theta0: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    a = positions[atoms[:, 0]] - positions[atoms[:, 1]]
    b = positions[atoms[:, 2]] - positions[atoms[:, 1]]
    # atan2 keeps the gradient finite near 0 and 180 degrees, unlike acos
    theta = torch.atan2(torch.linalg.cross(a, b).norm(dim=1), (a * b).sum(dim=1))
    return 0.5 * (k * (theta - theta0) ** 2).sum()
