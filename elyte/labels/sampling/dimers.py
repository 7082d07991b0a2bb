"""Dimer scans: two monomers at random relative orientations and at contact distances scaled by vdW radii.

For a random rotation of B and a random direction u, B is placed along u so that the closest
contact satisfies ``min_ij r_ij / (R_i + R_j) = scale`` (Bondi radii): scale 1 is van der Waals
contact, below 1 the repulsive wall, above 1 the long-range tail.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from elyte.labels.esp import vdw_radius
from elyte.labels.structure import QMStructure


def _contact_ratio(a: np.ndarray, ra: np.ndarray, b: np.ndarray, rb: np.ndarray) -> float:
    dist = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return float((dist / (ra[:, None] + rb[None])).min())


def _distance_for(a, ra, b, rb, direction, scale, tol=1e-4) -> float:
    """Centre distance along ``direction`` where the contact ratio first reaches ``scale`` coming from far."""
    far = 2.0 * (np.abs(a).max() + np.abs(b).max() + ra.max() + rb.max()) * max(scale, 1.0) + 5.0
    d, step = far, 0.1
    while d > 0 and _contact_ratio(a, ra, b + d * direction, rb) > scale:
        d -= step
    lo, hi = max(d, 0.0), d + step  # ratio(lo) <= scale < ratio(hi)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _contact_ratio(a, ra, b + mid * direction, rb) <= scale else (lo, mid)
    return hi


def dimer(a: QMStructure, b: QMStructure, scale: float, rng: np.random.Generator) -> QMStructure:
    """``a`` and a randomly rotated ``b`` at contact ratio ``scale`` along a random direction."""
    pa = a.positions - a.positions.mean(axis=0)
    pb = Rotation.random(random_state=rng).apply(b.positions - b.positions.mean(axis=0))
    ra = np.array([vdw_radius(z) for z in a.numbers])
    rb = np.array([vdw_radius(z) for z in b.numbers])
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    d = _distance_for(pa, ra, pb, rb, direction, scale)
    sym_a = a.symmetry if a.symmetry is not None else np.arange(len(a.numbers))
    sym_b = b.symmetry if b.symmetry is not None else np.arange(len(b.numbers))
    return QMStructure(
        numbers=np.concatenate([a.numbers, b.numbers]),
        positions=np.concatenate([pa, pb + d * direction]),
        charge=a.charge + b.charge,
        multiplicity=1 + (a.multiplicity - 1) + (b.multiplicity - 1),
        fragments=np.repeat([0, 1], [len(a.numbers), len(b.numbers)]),
        fragment_charges=[a.charge, b.charge],
        fragment_multiplicities=[a.multiplicity, b.multiplicity],
        symmetry=np.concatenate([sym_a, sym_b + sym_a.max() + 1]),
        provenance={"kind": "dimer", "scale": float(scale), "distance": float(d)},
    )
