"""Radial distribution functions and running coordination numbers from the neighbour list."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from elyte.neighbors import neighbor_list, pair_vectors


@dataclass
class RDF:
    """g_AB(r) on bin centres ``r`` (Angstrom) and the running coordination number of B around A."""

    r: np.ndarray
    g: np.ndarray
    coordination: np.ndarray  # mean number of B within r of an A
    n_a: int
    n_b: int

    def first_shell(self) -> dict[str, float]:
        """Position and height of the first peak, the first minimum after it, and the coordination
        number there (the first-shell size). NaN where g has no peak."""
        if not np.any(self.g > 0):
            return {"peak_r": float("nan"), "peak_g": float("nan"), "min_r": float("nan"), "cn": float("nan")}
        peak = int(np.argmax(self.g))
        smooth = np.convolve(self.g, np.ones(3) / 3, mode="same")
        minimum = len(self.g) - 1
        for k in range(peak + 1, len(self.g) - 1):
            if smooth[k] <= smooth[k - 1] and smooth[k] < smooth[k + 1] and smooth[k] < 0.5 * self.g[peak]:
                minimum = k
                break
        return {
            "peak_r": float(self.r[peak]),
            "peak_g": float(self.g[peak]),
            "min_r": float(self.r[minimum]),
            "cn": float(self.coordination[minimum]),
        }


def radial_distribution(
    frames: list[np.ndarray],
    cell: np.ndarray,
    group_a: np.ndarray,
    group_b: np.ndarray,
    r_max: float,
    n_bins: int = 200,
) -> RDF:
    """Average g_AB(r) over ``frames`` ([N, 3] positions, Angstrom) of a periodic ``cell`` [3, 3].

    ``group_a``/``group_b`` are atom indices; they may overlap (g_AA uses N_A (N_A - 1) pairs).
    ``r_max`` must not exceed half the smallest box width.
    """
    n_atoms = frames[0].shape[0]
    in_a = np.zeros(n_atoms, bool)
    in_b = np.zeros(n_atoms, bool)
    in_a[group_a] = True
    in_b[group_b] = True
    n_a, n_b, n_ab = int(in_a.sum()), int(in_b.sum()), int((in_a & in_b).sum())
    edges = np.linspace(0.0, r_max, n_bins + 1)
    counts = np.zeros(n_bins)
    volume = abs(np.linalg.det(cell))
    h = torch.as_tensor(cell, dtype=torch.float64)
    for positions in frames:
        pos = torch.as_tensor(positions, dtype=torch.float64)
        pairs, shifts = neighbor_list(pos, r_max, h)
        d = pair_vectors(pos, h, pairs, shifts).norm(dim=1).numpy()
        i, j = pairs.numpy()
        weight = (in_a[i] & in_b[j]).astype(float) + (in_b[i] & in_a[j])
        counts += np.histogram(d, bins=edges, weights=weight)[0]
    counts /= len(frames)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    pair_density = (n_a * n_b - n_ab) / volume  # distinct A-B pairs per volume
    g = counts / (pair_density * shell) if pair_density > 0 else np.zeros(n_bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    return RDF(r=centres, g=g, coordination=np.cumsum(counts) / max(n_a, 1), n_a=n_a, n_b=n_b)
