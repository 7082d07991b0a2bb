"""Physics targets for the parameterizer's outputs, per molecule, from whatever QM labels exist.

| target | from label | how |
|---|---|---|
| ``charge`` (e) | ``charges_esp`` | mean over conformers, averaged over symmetry classes, shifted evenly so the total is the formal charge exactly |
| ``alpha`` (A^3) | ``atomic_polarizabilities`` (dftd4) | mean over conformers and symmetry classes |
| ``alpha`` of a bare ion (A^3) | ``polarizability`` (finite field) | a third of the tensor's trace, mean over records |
| ``c6`` (kcal/mol A^6) | ``c6`` (dftd4, homoatomic) | mean over conformers and symmetry classes |
| ``c6`` of a bare ion (kcal/mol A^6) | ``molecular_c6`` (Casimir-Polder, linear response) | mean over records |
| ``rvdw`` (A) | ``volume_ratios`` (Hirshfeld V_eff / V_free) | Tkatchenko-Scheffler scaling R = R_ref(Z) (V_eff / V_free)^(1/3), R_ref the element's prior radius |
| ``bond_k``, ``bond_length``, ``angle_k``, ``angle_theta`` | ``hessian`` | modified Seminario (:mod:`polff.fit.seminario`) at the Hessian's geometry, averaged over term classes |

dftd4 describes atoms in molecules: for a bare monatomic ion its charge scaling is far off (Li+:
16.8 A^3 and C6 9900 kcal/mol A^6, about the neutral atom's; the ion's polarizability is ~0.03 A^3),
so monatomic ions get no target from it; their alpha and C6 targets are their own finite-field
polarizability and linear-response C6 where a store has them
(``data/qm/ion_polarizabilities_wb97x.h5.gz``: Li+ 0.027, Na+ 0.141 A^3; 0.93, 20.1 kcal/mol A^6 at
wB97X/def2-TZVPPD). Without them, cation-solvent interaction energies pull a cation's alpha up
tenfold, and the ensemble members scatter the near-zero C6 the cations drift to.

Term targets follow the rows of the molecule's :class:`polff.params.graph.MoleculeGraph` (the
model's output order). A target that cannot be had for one row is NaN there (a non-positive
Seminario force constant at a geometry that is not a minimum); losses skip NaN rows.
"""

from __future__ import annotations

import numpy as np

from polff.fit.data import FitMolecule
from polff.fit.seminario import angle_parameters, bond_parameters
from polff.params.features import class_mean
from polff.params.graph import MoleculeGraph
from polff.params.priors import element_priors

TARGET_LABELS = {"charge": "charges_esp", "alpha": "atomic_polarizabilities", "c6": "c6", "rvdw": "volume_ratios"}
BONDED_TARGETS = ("bond_k", "bond_length", "angle_k", "angle_theta")


def symmetric_charges(charges: np.ndarray, classes: np.ndarray, total: float) -> np.ndarray:
    """Charges [N] (e) from ``charges`` [R, N] of R conformers: mean over conformers and over
    symmetry ``classes``, then shifted evenly so they sum to ``total`` exactly."""
    q = class_mean(np.atleast_2d(np.asarray(charges, float)).mean(0), np.asarray(classes))
    return q + (total - q.sum()) / len(q)


def symmetric_mean(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Per-atom ``values`` [R, N] averaged over conformers and symmetry ``classes``."""
    return class_mean(np.atleast_2d(np.asarray(values, float)).mean(0), np.asarray(classes))


def ts_radii(elements: list[str], volume_ratios: np.ndarray) -> np.ndarray:
    """Radii (A) scaled by the cube root of the effective/free atomic volume ratio."""
    ratios = np.asarray(volume_ratios, float)
    if (ratios <= 0).any():
        raise ValueError("atomic volume ratios must be positive")
    return element_priors(elements)["rvdw"] * np.cbrt(ratios)


def seminario_targets(graph: MoleculeGraph, positions: np.ndarray, hessian: np.ndarray) -> dict[str, np.ndarray]:
    """Bond and angle targets for the graph's terms from a Hessian (kcal/mol/A^2) at ``positions``."""
    bond_k, bond_length = bond_parameters(hessian, positions, graph.terms["bonds"])
    angle_k, angle_theta = angle_parameters(hessian, positions, graph.terms["angles"])
    out = {}
    for name, values, kind in (("bond_k", bond_k, "bonds"), ("bond_length", bond_length, "bonds"),
                               ("angle_k", angle_k, "angles"), ("angle_theta", angle_theta, "angles")):
        if name.endswith("_k"):
            values = np.where(values > 0, values, np.nan)
        out[name] = class_mean(values, graph.classes[kind]) if len(values) else values
    return out


def molecule_targets(molecule: FitMolecule, graph: MoleculeGraph) -> dict[str, np.ndarray]:
    """Every target the molecule's labels allow, keyed by the model output it constrains."""
    classes = graph.classes["atoms"]
    labels = molecule.atom_labels
    out = {}
    if "charges_esp" in labels:
        out["charge"] = symmetric_charges(labels["charges_esp"], classes, float(graph.fragment_charges.sum()))
    # A bare ion is no atom in a molecule: dftd4's alpha and C6 are near the neutral atom's, and its
    # Hirshfeld volume is measured against the neutral free atom (Li+: V/V_free = 0.01) while the prior
    # radius R_ref is already the ion's; none of the three is a target for it.
    bare_ion = graph.molecule.n_atoms == 1 and graph.molecule.total_charge != 0
    for target in ("alpha", "c6", "rvdw"):
        if TARGET_LABELS[target] in labels and not bare_ion:
            values = symmetric_mean(labels[TARGET_LABELS[target]], classes)
            out[target] = ts_radii(graph.molecule.elements, values) if target == "rvdw" else values
    if bare_ion and molecule.polarizability is not None:
        out["alpha"] = np.array([molecule.polarizability])
    if bare_ion and molecule.molecular_c6 is not None:
        out["c6"] = np.array([molecule.molecular_c6])
    if molecule.hessian is not None:
        out |= seminario_targets(graph, *molecule.hessian)
    return out
