"""Periodic torsions (propers and impropers): E = k (1 + cos(n phi - phase)), IUPAC dihedral
(trans = 180 degrees), as GROMACS function types 9 and 4 and OpenMM's PeriodicTorsionForce."""

import torch


def dihedral(positions: torch.Tensor, atoms: torch.Tensor) -> torch.Tensor:
    """Dihedral angle (rad, in (-pi, pi]) of each quadruplet i-j-k-l."""
    b1 = positions[atoms[:, 1]] - positions[atoms[:, 0]]
    b2 = positions[atoms[:, 2]] - positions[atoms[:, 1]]
    b3 = positions[atoms[:, 3]] - positions[atoms[:, 2]]
    n1 = torch.linalg.cross(b1, b2)
    n2 = torch.linalg.cross(b2, b3)
    m = torch.linalg.cross(n1, b2 / b2.norm(dim=1, keepdim=True))
    return torch.atan2((m * n2).sum(dim=1), (n1 * n2).sum(dim=1))


def torsion_energy(
    positions: torch.Tensor, atoms: torch.Tensor, k: torch.Tensor, periodicity: torch.Tensor, phase: torch.Tensor
) -> torch.Tensor:
    if atoms.numel() == 0:
        return positions.new_zeros(())
    phi = dihedral(positions, atoms)
    return (k * (1.0 + torch.cos(periodicity * phi - phase))).sum()
