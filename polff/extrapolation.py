"""Coefficients of extrapolated polarization, fitted to a system's converged induced dipoles.

Extrapolated polarization (OpenMM's AMOEBA "OPT" convention) takes mu = sum_k c_k mu_k over the
partial sums mu_k = p_0 + ... + p_k of the perturbation orders p_0 = alpha E, p_(k+1) = alpha T p_k:
n dipole-field evaluations per step instead of a solve to convergence, with exact, conservative
forces. The coefficients decide its accuracy, and none fits every force field: AMOEBA's OPT3 was
fitted for water, and ByteFF-Pol's polarizabilities with their weak Thole damping make the plain
perturbation series diverge in a LiPF6 / EC / DMC electrolyte (|p_(k+1)| > |p_k| from k = 3), where
fixed coefficients still reproduce the solution well because they weigh the orders like a polynomial
approximation of (1 - alpha T)^-1 over the spectrum that matters.

``fit_coefficients`` cuts spherical clusters of whole molecules out of a periodic configuration,
solves each cluster's dipoles exactly (dense Cholesky) and finds the weights of p_0..p_n by least
squares; ``ELECTROLYTE`` holds its result for the published ByteFF-Pol electrolyte box. Units:
Angstrom, e, e*A.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from polff.parameters import MoleculeParameters
from polff.system import PolSystem
from polff.terms.electrostatics import PairGeometry, dipole_field, permanent_field, solve_direct, thole_damping
from polff.terms.scaling import ScalingRules

# fit_coefficients(order=5) on ../shared/data/byteff_pol_example/electrolyte/solvent_salt.gro
# (LiPF6 / EC / DMC, 10,062 atoms; `benchmarks/polff_openmm.py --fit-order 5` refits it and
# reports its error against converged dipoles: docs/benchmarks.md)
ELECTROLYTE = (0.0042, -0.0917, -0.1075, 0.3379, 0.6036, 0.2507)


def spherical_cluster(molecules: Sequence[MoleculeParameters], positions: np.ndarray, box: np.ndarray, centre: int,
                      radius: float) -> tuple[list[MoleculeParameters], torch.Tensor]:
    """The whole molecules whose first atom lies within ``radius`` (A) of molecule ``centre``'s first
    atom, each as its periodic image nearest there, from ``positions`` [N, 3] A in an orthorhombic
    ``box`` [3, 3] A: (molecules, positions [M, 3] float64)."""
    box = np.asarray(box, dtype=float)
    if np.abs(box - np.diag(np.diag(box))).max() > 1e-8:
        raise ValueError("clusters are cut from orthorhombic boxes only; give an orthorhombic configuration")
    lengths, starts = np.diag(box), np.cumsum([0] + [m.n_atoms for m in molecules])
    nearest = lambda d: d - lengths * np.round(d / lengths)  # noqa: E731
    origin = np.asarray(positions[starts[centre]], dtype=float)
    keep, xs = [], []
    for k, m in enumerate(molecules):
        x = np.asarray(positions[starts[k]:starts[k + 1]], dtype=float)
        x = x[0] + nearest(x - x[0])  # the molecule made whole
        shifted = x + nearest(x[0] - origin) - (x[0] - origin)
        if np.linalg.norm(shifted[0] - origin) < radius:
            keep.append(m)
            xs.append(shifted)
    return keep, torch.tensor(np.concatenate(xs), dtype=torch.float64)


def perturbation_orders(molecules: Sequence[MoleculeParameters], positions: torch.Tensor, order: int,
                        rules: ScalingRules | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
    """p_0..p_order and the converged dipoles of a cluster (no box), each [N, 3] e*A."""
    rules = rules or ScalingRules()
    system = PolSystem.from_molecules(list(molecules))
    i, j = torch.triu_indices(system.n_atoms, system.n_atoms, offset=1)
    vec = positions[j] - positions[i]
    pairs = PairGeometry(i, j, vec, vec.norm(dim=1))
    relation = system.relation(i, j)
    charge_scale, dipole_scale = (rules.factor(k, relation, torch.float64) for k in ("charge", "dipole"))
    p = system.params
    damp3, damp5 = thole_damping(pairs.r, p["pol_damping"][i], p["pol_damping"][j])
    field = permanent_field(p["charge"], pairs, damp3, charge_scale, system.n_atoms)
    orders = [p["alpha"][:, None] * field]
    for _ in range(order):
        orders.append(p["alpha"][:, None] * dipole_field(orders[-1], pairs, damp3, damp5, dipole_scale))
    return orders, solve_direct(p["alpha"], field, pairs, damp3, damp5, dipole_scale)


def fit_coefficients(molecules: Sequence[MoleculeParameters], positions: np.ndarray, box: np.ndarray, order: int = 4,
                     clusters: int = 4, radius: float = 11.0, rules: ScalingRules | None = None,
                     seed: int = 0) -> tuple[float, ...]:
    """Coefficients c_0..c_order that best reproduce the converged dipoles of ``clusters``
    spheres (``radius`` A, whole molecules, centred on randomly chosen molecules) cut from a
    periodic configuration (``positions`` [N, 3] A, orthorhombic ``box`` [3, 3] A)."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    centres = np.random.default_rng(seed).choice(len(molecules), size=min(clusters, len(molecules)), replace=False)
    columns, targets = [], []
    with torch.no_grad():
        for centre in centres:
            keep, x = spherical_cluster(molecules, positions, box, int(centre), radius)
            orders, mu = perturbation_orders(keep, x, order, rules)
            columns.append(torch.stack([o.reshape(-1) for o in orders], dim=1))
            targets.append(mu.reshape(-1))
    weights = torch.linalg.lstsq(torch.cat(columns), torch.cat(targets)[:, None]).solution[:, 0].tolist()
    # weights of p_j are b_j = c_j + ... + c_n
    return tuple(weights[j] - (weights[j + 1] if j < order else 0.0) for j in range(order + 1))
