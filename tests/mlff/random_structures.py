"""Small random structures (clusters and triclinic boxes) and a small model config for fast mlff tests."""

from __future__ import annotations

import numpy as np
import torch

from mlff.data.batch import collate
from mlff.data.structure import Structure

ELEMENTS = [1, 3, 6, 8]
SMALL = {"elements": ELEMENTS, "cutoff": 3.0, "long_cutoff": 4.5, "features": 8, "layers": 2, "n_radial": 4,
         "readout_hidden": 8, "electrostatics": {"gaussian_width": 0.5},
         "repulsion": {"enabled": True, "covalent_scale": 1.0}}


def random_positions(rng: np.random.Generator, n: int, box: np.ndarray, min_distance: float = 1.0,
                     periodic: bool = False) -> np.ndarray:
    """n points in the parallelepiped ``box`` (rows) no closer than ``min_distance`` (A, minimum image)."""
    points: list[np.ndarray] = []
    inverse = np.linalg.inv(box)
    while len(points) < n:
        x = rng.random(3) @ box
        ok = True
        for p in points:
            d = (x - p) @ inverse
            if periodic:
                d -= np.round(d)
            ok &= np.linalg.norm(d @ box) >= min_distance
        if ok:
            points.append(x)
    return np.array(points)


def cluster(seed: int = 0, n: int = 8, charge: float = 0.0) -> Structure:
    rng = np.random.default_rng(seed)
    return Structure(numbers=rng.choice(ELEMENTS, n), positions=random_positions(rng, n, 4.0 * np.eye(3)),
                     total_charge=charge, source=f"random cluster {seed}")


def periodic(seed: int = 0, n: int = 10, charge: float = 0.0) -> Structure:
    """A triclinic box with all perpendicular widths >= 9 A (long cutoff 4.5 A fits)."""
    rng = np.random.default_rng(seed)
    cell = np.array([[9.5, 0.0, 0.0], [1.2, 9.6, 0.0], [-0.8, 0.9, 9.8]])
    return Structure(numbers=rng.choice(ELEMENTS, n), positions=random_positions(rng, n, cell, periodic=True),
                     cell=cell, pbc=(True, True, True), total_charge=charge, source=f"random box {seed}")


def batch_of(structures, model, dtype=torch.float64):
    return collate(structures, model.config.cutoff, model.config.long_cutoff, dtype=dtype)
