"""Bounds and priors of every parameter the GNN predicts, in internal units (Angstrom, kcal/mol,
radians, e, polarizability volumes in Angstrom^3).

Each output is ``Bound.from_logit(x + Bound.prior_logit(prior))``: a sigmoid squeezed between
documented bounds, in linear or log space, shifted so that a raw network output x = 0 gives the
prior exactly. An untrained model (small x) therefore gives a finite force field close to the
priors, and training can never leave the bounds.

The priors are starting points, not fitted parameters. Per-atom priors: typical values of the
published ByteFF-Pol parameters (its example files for H, Li, C, O, F, P, rounded; C and O
between their sp3 and carbonyl values) and, for the other elements, the same-group (or
neighbouring) reference element scaled by the ratio s of covalent radii: alpha and pol_damping by
s^2, rvdw by s, c6 by s^4 (London: C6 ~ alpha^2). QEq electronegativities start from Pauling's
scale, hardness from one value for every element.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from elyte.elements import covalent_radius

PRIORS_VERSION = 1


@dataclass(frozen=True)
class Bound:
    """Closed interval [lo, hi] of one output; ``log`` places the sigmoid in log space."""

    lo: float
    hi: float
    log: bool = False

    def _to_unit(self, value: torch.Tensor) -> torch.Tensor:
        if self.log:
            return (value.log() - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        return (value - self.lo) / (self.hi - self.lo)

    def prior_logit(self, prior: torch.Tensor) -> torch.Tensor:
        """Sigmoid argument that gives ``prior`` (clipped to the inner 98 % of the range)."""
        return torch.logit(self._to_unit(prior).clamp(0.01, 0.99))

    def from_logit(self, z: torch.Tensor) -> torch.Tensor:
        """Parameter for sigmoid argument ``z`` (raw network output + ``prior_logit``)."""
        u = torch.sigmoid(z)
        if self.log:
            value = torch.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo)))
        else:
            value = self.lo + u * (self.hi - self.lo)
        return value.clamp(self.lo, self.hi)  # exp/log round-off at saturation


DEG = math.pi / 180.0
BOUNDS: dict[str, Bound] = {
    # per atom
    "alpha": Bound(1e-3, 30.0, log=True),  # A^3
    "pol_damping": Bound(1e-3, 30.0, log=True),  # A^3 (Thole damping volume)
    "eps": Bound(0.1, 5000.0, log=True),  # kcal/mol
    "lamb": Bound(1.0, 8.0),  # 1
    "rvdw": Bound(0.5, 3.0),  # A
    "c6": Bound(1e-3, 1e5, log=True),  # kcal/mol A^6
    "ct_eps": Bound(1e-3, 3e4, log=True),  # kcal/mol A^4
    "ct_lamb": Bound(1e-4, 3.0, log=True),  # 1
    "electronegativity": Bound(-1.0, 7.0),  # QEq, e units of hardness (see model.charges)
    "hardness": Bound(0.3, 30.0, log=True),
    # per term
    "bond_k": Bound(20.0, 5000.0, log=True),  # kcal/mol/A^2, E = k/2 (r - r0)^2
    "bond_length": Bound(0.7, 3.0),  # A
    "angle_k": Bound(5.0, 1000.0, log=True),  # kcal/mol/rad^2
    "angle_theta": Bound(45.0 * DEG, 180.0 * DEG),  # rad
    "proper_k": Bound(-25.0, 25.0),  # kcal/mol, each Fourier term n = 1..4
    "improper_k": Bound(1e-3, 100.0, log=True),  # kcal/mol, each of the three permutations
}
ATOM_OUTPUTS = ("alpha", "pol_damping", "eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb",
                "electronegativity", "hardness")

_REFERENCE_COLUMNS = ("alpha", "pol_damping", "rvdw", "eps", "lamb", "c6", "ct_eps", "ct_lamb")
# typical values in the ByteFF-Pol example files (rounded), columns as _REFERENCE_COLUMNS
_REFERENCE = {
    "H": (0.40, 0.40, 0.83, 6.9, 2.65, 35.0, 6.0, 0.32),
    "Li": (0.03, 0.2, 0.90, 167.0, 5.1, 0.01, 0.5, 0.001),
    "C": (1.0, 1.0, 0.95, 250.0, 3.7, 250.0, 500.0, 0.6),
    "O": (1.2, 1.2, 1.06, 115.0, 3.75, 580.0, 620.0, 0.75),
    "F": (0.91, 0.91, 0.96, 123.0, 3.6, 318.0, 329.0, 0.65),
    "P": (1.6, 1.6, 1.24, 14.0, 3.24, 1490.0, 595.0, 0.70),
}
_ANALOGUE = {"B": "C", "Si": "C", "N": "O", "S": "O", "Cl": "F", "Br": "F", "I": "F",
             "Na": "Li", "K": "Li", "Mg": "Li", "Ca": "Li"}
_SIZE_EXPONENT = (2, 2, 1, 0, 0, 4, 0, 0)  # powers of s applied to the _REFERENCE columns
PAULING = {"H": 2.20, "Li": 0.98, "B": 2.04, "C": 2.55, "N": 3.04, "O": 3.44, "F": 3.98, "Na": 0.93,
           "Mg": 1.31, "Si": 1.90, "P": 2.19, "S": 2.58, "Cl": 3.16, "K": 0.82, "Ca": 1.00, "Br": 2.96, "I": 2.66}
HARDNESS = 2.5


def _element_row(element: str) -> dict[str, float]:
    if element in _REFERENCE:
        values = _REFERENCE[element]
    elif element in _ANALOGUE:
        ref = _ANALOGUE[element]
        s = covalent_radius(element) / covalent_radius(ref)
        values = tuple(v * s**p for v, p in zip(_REFERENCE[ref], _SIZE_EXPONENT))
    else:
        raise KeyError(f"no prior for element {element!r}")
    row = dict(zip(_REFERENCE_COLUMNS, values))
    row["electronegativity"] = PAULING[element]
    row["hardness"] = HARDNESS
    return row


def element_priors(elements: list[str]) -> dict[str, np.ndarray]:
    """Per-atom priors (internal units) for each output in ``ATOM_OUTPUTS``."""
    rows = [_element_row(e) for e in elements]
    return {name: np.array([r[name] for r in rows]) for name in ATOM_OUTPUTS}


THETA0 = {"SP": 180.0, "SP2": 120.0, "SP3": 109.47, "SP3D2": 90.0}  # degrees, by centre hybridization
PAULING_BOND_ORDER_SHRINK = 0.6  # A per decade of bond order: r(n) = r(1) - 0.6 log10(n)
BOND_K_PER_ORDER = 500.0  # kcal/mol/A^2
ANGLE_K = 100.0  # kcal/mol/rad^2
IMPROPER_K = {"SP2": 10.0, "other": 0.01}  # kcal/mol


def bond_priors(elements: list[str], bonds: np.ndarray, orders: np.ndarray) -> dict[str, np.ndarray]:
    """r0 from covalent radii shortened with bond order (Pauling); k proportional to the bond order."""
    radii = np.array([covalent_radius(e) for e in elements])
    r1 = radii[bonds[:, 0]] + radii[bonds[:, 1]] if len(bonds) else np.zeros(0)
    return {"bond_length": r1 - PAULING_BOND_ORDER_SHRINK * np.log10(orders), "bond_k": BOND_K_PER_ORDER * orders}


def angle_priors(centre_hybridization: list[str]) -> dict[str, np.ndarray]:
    """theta0 from the centre's hybridization (109.47 deg when unlisted); one k for every angle."""
    theta = np.array([THETA0.get(h, 109.47) for h in centre_hybridization]) * DEG
    return {"angle_theta": theta, "angle_k": np.full(len(theta), ANGLE_K)}


def improper_priors(centre_hybridization: list[str]) -> dict[str, np.ndarray]:
    """Stiff at planar (sp2) centres, almost zero elsewhere (pyramidal N, S(IV), P(III))."""
    return {"improper_k": np.array([IMPROPER_K.get(h, IMPROPER_K["other"]) for h in centre_hybridization])}


def describe() -> dict:
    """Bounds and priors as plain data (stored in model files so a changed prior is detected)."""
    return {
        "version": PRIORS_VERSION,
        "bounds": {k: asdict(b) for k, b in BOUNDS.items()},
        "elements": {e: _element_row(e) for e in PAULING},
        "theta0_deg": THETA0,
        "bond": {"k_per_order": BOND_K_PER_ORDER, "order_shrink": PAULING_BOND_ORDER_SHRINK},
        "angle_k": ANGLE_K,
        "improper_k": IMPROPER_K,
    }
