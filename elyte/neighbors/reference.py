"""Pure-torch cell-list neighbour search: the oracle for the compiled kernels and the fallback on
devices they do not cover. Same contract as ``torch.ops.elyte.neighbor_pairs``."""

from __future__ import annotations

import itertools

import torch

_STENCIL = torch.tensor(list(itertools.product((-1, 0, 1), repeat=3)), dtype=torch.long)


def _bins(frac: torch.Tensor, pbc: tuple[bool, bool, bool], widths: torch.Tensor, cutoff: float):
    """Bin index per atom and axis, bins per axis; bins are at least ``cutoff`` wide."""
    n_atoms = frac.shape[0]
    lo = torch.zeros(3, dtype=frac.dtype, device=frac.device)
    span = torch.ones(3, dtype=frac.dtype, device=frac.device)
    for a in range(3):
        if not pbc[a] and n_atoms:
            lo[a] = frac[:, a].min()
            span[a] = frac[:, a].max() - lo[a]
    max_bins = max(27, 4 * n_atoms)
    nbins = [max(1, int(min(float(span[a] * widths[a]) // cutoff, max_bins))) for a in range(3)]
    while nbins[0] * nbins[1] * nbins[2] > max_bins:
        a = max(range(3), key=lambda k: nbins[k])
        nbins[a] = max(1, nbins[a] // 2)
    n = torch.tensor(nbins, device=frac.device)
    scale = torch.where(span > 0, n / span, torch.zeros_like(span))
    bins = torch.floor((frac - lo) * scale).long().clamp(min=torch.zeros_like(n), max=n - 1)
    return bins, n


def neighbor_pairs_reference(
    positions: torch.Tensor, cell: torch.Tensor, pbc: tuple[bool, bool, bool], cutoff: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Half neighbour list (i < j, distance < ``cutoff``), sorted by (i, j).

    ``positions`` [N, 3] and ``cell`` [3, 3] (rows are lattice vectors) in Angstrom; ``pbc`` per
    axis. Returns pairs [2, P] and integer shifts [P, 3] (int64) with
    r_ij = x_j - x_i + shift @ cell. Assumes validated inputs (minimum image: cutoff <= half of
    every periodic width).
    """
    from elyte.neighbors.validate import cell_widths

    device = positions.device
    n_atoms = positions.shape[0]
    h = cell.double()
    frac = positions.double() @ torch.linalg.inv(h)
    image = torch.zeros(n_atoms, 3, dtype=torch.long, device=device)
    for a in range(3):
        if pbc[a]:
            image[:, a] = torch.floor(frac[:, a]).long()
    frac = frac - image.double()
    wrapped = frac @ h
    bins, n = _bins(frac, pbc, cell_widths(h), cutoff)

    flat = (bins[:, 2] * n[1] + bins[:, 1]) * n[0] + bins[:, 0]
    order = torch.argsort(flat, stable=True)
    count = torch.bincount(flat, minlength=int(n.prod()))
    start = torch.cumsum(count, 0) - count

    # every (atom, stencil offset) -> neighbour bin and the lattice shift of that image
    cand = bins[:, None, :] + _STENCIL.to(device)[None]  # [N, 27, 3]
    periodic = torch.tensor(pbc, device=device)
    shift = torch.where(periodic, torch.div(cand, n, rounding_mode="floor"), torch.zeros_like(cand))
    cand = cand - shift * n
    inside = ((cand >= 0) & (cand < n)).all(dim=-1)
    nb_flat = (cand[..., 2] * n[1] + cand[..., 1]) * n[0] + cand[..., 0]
    per = torch.where(inside, count[nb_flat.clamp(0, count.numel() - 1)], torch.zeros_like(nb_flat)).flatten()

    # expand each (atom, offset) into the atoms of its neighbour bin
    src = torch.repeat_interleave(torch.arange(per.numel(), device=device), per)
    first = torch.cumsum(per, 0) - per
    local = torch.arange(src.numel(), device=device) - first[src]
    i = src // 27
    j = order[start[nb_flat.flatten()[src]] + local]
    s = shift.reshape(-1, 3)[src]
    keep = j > i
    i, j, s = i[keep], j[keep], s[keep]
    r = wrapped[j] + s.double() @ h - wrapped[i]
    keep = (r * r).sum(dim=1) < cutoff * cutoff
    i, j, s = i[keep], j[keep], s[keep]
    s = s + image[i] - image[j]
    order = torch.argsort(i * n_atoms + j)
    return torch.stack([i[order], j[order]]), s[order]
