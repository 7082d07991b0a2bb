"""Coulomb energy of learned Gaussian charges: all pairs for clusters, Ewald for periodic boxes.

Two Gaussian charges of width sigma interact by q_i q_j erf(r / (2 sigma)) / r: Coulomb at long
range, finite at short range. Periodic boxes split 1/r with the shared Ewald pieces
(:mod:`elyte.electrostatics.ewald`: reciprocal sum, self and background); the real-space sum here
runs over the long-range edges with the kernel (erf(r / 2 sigma) - erf(beta r)) / r, which is the
erfc(beta r) / r of Ewald minus the erfc(r / 2 sigma) / r the smearing removes. Both pieces are
negligible beyond the cutoff (the configuration checks it). Energies in kcal/mol per structure.
"""

from __future__ import annotations

import math

import torch
from torch.utils.checkpoint import checkpoint

from elyte.electrostatics.ewald import EwaldParameters, lattice_to_reciprocal, reciprocal_vectors, self_and_background
from elyte.units import COULOMB_KCAL_ANGSTROM

K_CHUNK = 2048  # reciprocal vectors per block: N x K_CHUNK phases live at a time (33 MB at N = 4,116, float32)


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
    integers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Energy [B] (kcal/mol) of the periodic structures (zero for the others).

    ``edge_index`` [2, L] / ``r`` [L] are the directed long-range edges and their lengths (A) within
    the real-space cutoff; ``ptr`` the atom offsets of the structures (B + 1), ``cell`` [B, 3, 3];
    ``integers`` the reciprocal-lattice triples of the (single periodic) structure as an input (see
    :func:`chunked_reciprocal_sum`).
    """
    n_structures = len(periodic)
    mask = torch.tensor(periodic, device=q.device, dtype=q.dtype)
    i, j = edge_index[0], edge_index[1]
    kernel = (torch.erf(r / (2.0 * sigma)) - torch.erf(ewald.beta * r)) / r
    real = q.new_zeros(n_structures).index_add_(0, batch[i], 0.5 * q[i] * q[j] * kernel) * mask
    rest = [
        chunked_reciprocal_sum(q[ptr[b]:ptr[b + 1]], positions[ptr[b]:ptr[b + 1]], cell[b], ewald, integers=integers)
        + self_and_background(q[ptr[b]:ptr[b + 1]], cell[b], ewald.beta)
        if periodic[b] else q.new_zeros(())
        for b in range(n_structures)
    ]
    return COULOMB_KCAL_ANGSTROM * (real + torch.stack(rest))


def chunked_reciprocal_sum(
    q: torch.Tensor, positions: torch.Tensor, cell: torch.Tensor, ewald: EwaldParameters, k_chunk: int = K_CHUNK,
    integers: torch.Tensor | None = None,
) -> torch.Tensor:
    """The reciprocal-space energy (e^2/A) of :func:`elyte.electrostatics.ewald.reciprocal_sum` for
    charges q [N] (e), summed over blocks of ``k_chunk`` k-vectors. With gradients on, each block is
    checkpointed, so memory is O(N k_chunk + K) instead of the O(N K) phase arrays autograd would keep.

    ``integers`` [K, 3]: the reciprocal-lattice triples given as an input
    (:func:`elyte.electrostatics.ewald.reciprocal_integers` of this cell) rather than found from the
    cell, as one block: no Python decision depends on K (an exported model, :mod:`mlff.deploy`).
    """
    volume = torch.linalg.det(cell).abs()
    if integers is not None:
        return 4.0 * math.pi / volume * _reciprocal_block(q, positions, lattice_to_reciprocal(integers, cell), ewald)
    k, checkpointed = reciprocal_vectors(cell, ewald.kmax), torch.is_grad_enabled()
    total = q.new_zeros(())
    for start in range(0, k.shape[0], k_chunk):
        block = k[start:start + k_chunk]
        if checkpointed:
            total = total + checkpoint(_reciprocal_block, q, positions, block, ewald, use_reentrant=False)
        else:
            total = total + _reciprocal_block(q, positions, block, ewald)
    # the sum over half the k-vectors is doubled: 2 * (2 pi / V) sum_{k>0}
    return 4.0 * math.pi / volume * total


def _reciprocal_block(q: torch.Tensor, positions: torch.Tensor, k: torch.Tensor, ewald: EwaldParameters) -> torch.Tensor:
    """sum_k exp(-k^2 / 4 beta^2) / k^2 |sum_i q_i exp(i k.x_i)|^2 over the k-vectors given [K, 3]."""
    k2 = (k * k).sum(dim=1)
    phase = positions @ k.T
    structure = (q @ torch.cos(phase)) ** 2 + (q @ torch.sin(phase)) ** 2
    return (torch.exp(-k2 / (4.0 * ewald.beta**2)) / k2 * structure).sum()
