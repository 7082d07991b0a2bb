"""Coulomb energy of learned Gaussian charges: all pairs for clusters, Ewald for periodic boxes.

Two Gaussian charges of width sigma interact by q_i q_j erf(r / (2 sigma)) / r: Coulomb at long
range, finite at short range. Periodic boxes split 1/r with the shared Ewald pieces
(:mod:`elyte.electrostatics.ewald`: reciprocal sum, self and background); the real-space sum here
runs over the long-range edges with the kernel (erf(r / 2 sigma) - erf(beta r)) / r, which is the
erfc(beta r) / r of Ewald minus the erfc(r / 2 sigma) / r the smearing removes. Both pieces are
negligible beyond the cutoff (the configuration checks it). Energies in kcal/mol per structure.
"""

from __future__ import annotations

import torch

from elyte.electrostatics.ewald import EwaldParameters, reciprocal_sum, self_and_background
from elyte.units import COULOMB_KCAL_ANGSTROM


def cluster_pairs(n_atoms: list[int], periodic: list[bool], device: torch.device) -> torch.Tensor:
    """Every pair i < j within each non-periodic structure of a batch, [2, P] global atom indices."""
    pairs, offset = [], 0
    for n, is_periodic in zip(n_atoms, periodic):
        if not is_periodic and n > 1:
            pairs.append(torch.triu_indices(n, n, offset=1, device=device) + offset)
        offset += n
    return torch.cat(pairs, dim=1) if pairs else torch.zeros(2, 0, dtype=torch.long, device=device)


def cluster_energy(
    q: torch.Tensor, positions: torch.Tensor, pairs: torch.Tensor, batch: torch.Tensor, n_structures: int,
    sigma: float,
) -> torch.Tensor:
    """Energy [B] (kcal/mol) of Gaussian charges q [N] (e) summed over ``pairs`` (each pair once)."""
    i, j = pairs[0], pairs[1]
    r = (positions[j] - positions[i]).norm(dim=1)
    pair = q[i] * q[j] * torch.erf(r / (2.0 * sigma)) / r
    return COULOMB_KCAL_ANGSTROM * q.new_zeros(n_structures).index_add_(0, batch[i], pair)


def ewald_energy(
    q: torch.Tensor, positions: torch.Tensor, cell: torch.Tensor, batch: torch.Tensor, ptr: list[int],
    periodic: list[bool], edge_index: torch.Tensor, r: torch.Tensor, sigma: float, ewald: EwaldParameters,
) -> torch.Tensor:
    """Energy [B] (kcal/mol) of the periodic structures (zero for the others).

    ``edge_index`` [2, L] / ``r`` [L] are the directed long-range edges and their lengths (A) within
    the real-space cutoff; ``ptr`` the atom offsets of the structures (B + 1), ``cell`` [B, 3, 3].
    """
    n_structures = len(periodic)
    mask = torch.tensor(periodic, device=q.device, dtype=q.dtype)
    i, j = edge_index[0], edge_index[1]
    kernel = (torch.erf(r / (2.0 * sigma)) - torch.erf(ewald.beta * r)) / r
    real = q.new_zeros(n_structures).index_add_(0, batch[i], 0.5 * q[i] * q[j] * kernel) * mask
    rest = [
        reciprocal_sum(q[ptr[b]:ptr[b + 1]], positions[ptr[b]:ptr[b + 1]], cell[b], ewald)
        + self_and_background(q[ptr[b]:ptr[b + 1]], cell[b], ewald.beta)
        if periodic[b] else q.new_zeros(())
        for b in range(n_structures)
    ]
    return COULOMB_KCAL_ANGSTROM * (real + torch.stack(rest))
