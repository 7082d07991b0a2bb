"""Weighted training losses of the parameterizer (internal units: kcal/mol, kcal/mol/A, e, A^3).

| term | per item | unit of the mean |
|---|---|---|
| ``charge`` | mean over atoms of (q - q_ESP)^2 | e^2 |
| ``alpha`` | mean over atoms of (alpha - alpha_QM)^2 (dftd4 in molecules, finite field for bare ions), or of log(alpha / alpha_QM)^2 when ``log_errors`` names it | A^6 or 1 |
| ``c6`` | mean over atoms of (C6 - C6_QM)^2 (dftd4 in molecules, Casimir-Polder for bare ions), or log as alpha | (kcal/mol A^6)^2 or 1 |
| ``rvdw`` | mean over atoms of (R - R_TS)^2 | A^2 |
| ``bonded`` | mean of: relative (k - k_Sem)/k_Sem squared for bonds and angles, (r0 - r_Sem)^2, (theta0 - theta_Sem)^2 | 1, A^2, rad^2 |
| ``energy`` | conformer energies relative to the molecule's mean, squared error, mean over conformers | (kcal/mol)^2 |
| ``forces`` | mean over conformers, atoms, xyz of the squared force error | (kcal/mol/A)^2 |
| ``interaction`` | (E(AB...) - sum_k E(k) - E_int,QM)^2 of dimers and clusters | (kcal/mol)^2 |
| ``damping`` | mean over atoms of (log(pol_damping / alpha) - the priors' log ratio)^2: keeps Thole damping tied to the polarizability (no polarization catastrophe) | 1 |
| ``wall`` | mean over atom pairs (i <= j, each molecule's atoms, as between two copies of it) of ((B - barrier) / B)^2 where the barrier (the highest repulsion + dispersion + charge-transfer pair energy between 0.9 and 3 A, less its value at 3 A) is below B = 20 kcal/mol: no collapse of two molecules into each other | 1 |
| ``prior`` | mean squared distance of every output from its prior, in log space for log-bounded outputs and in units of the bound width otherwise | 1 |

Energies and forces come from the full differentiable model: :class:`polff.energy.PolarizableEnergy`
on :func:`polff.params.differentiable_system`. Forces are ``-dE/dx`` by autograd with a graph, so
their loss reaches the weights; the induced dipoles are solved without a graph (their derivative is
the exact force), so the force loss misses only the dipoles' own dependence on the parameters.

Each term is the mean over the items of a batch that have its labels (``damping`` and ``prior``:
over the distinct molecules of the batch, cluster fragments included); the total is the weighted sum.
Items whose induced dipoles have no stable solution at the current parameters (a polarization
catastrophe, e.g. a Li+ contact with too little Thole damping) are left out of that evaluation and
counted; the trainer logs them per epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from polff.energy import PolarizableEnergy
from polff.fit.targets import BONDED_TARGETS, TARGET_LABELS
from polff.params import differentiable_system
from polff.params.graph import GraphBatch
from polff.params.priors import BOUNDS
from polff.terms.charge_transfer import charge_transfer_pairs
from polff.terms.dispersion import dispersion_pairs
from polff.terms.electrostatics import PolarizationError
from polff.terms.repulsion import repulsion_pairs

log = logging.getLogger(__name__)

LOSS_TERMS = ("charge", "alpha", "c6", "rvdw", "bonded", "energy", "forces", "interaction", "damping", "wall",
              "contact_wall", "prior")
PAIR_FIELDS = ("eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb")  # the per-atom outputs a pair barrier reads
ATOM_TARGET_TERMS = tuple(TARGET_LABELS)  # per-atom targets: charge, alpha, c6, rvdw
LOG_TARGETS = ("alpha", "c6")  # per-atom targets that may be compared by log ratio (positive, multi-decade)
RELATIVE = ("bond_k", "angle_k")  # force constants compared relatively: they span two decades
TERM_KINDS = {"bond_k": "bonds", "bond_length": "bonds", "angle_k": "angles", "angle_theta": "angles",
              "proper_k": "propers", "improper_k": "impropers"}


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Loss weights as floats; unknown term names or negative weights raise ``ValueError``."""
    unknown = sorted(set(weights) - set(LOSS_TERMS))
    if unknown:
        raise ValueError(f"unknown loss term(s) {unknown}; the terms are {list(LOSS_TERMS)}")
    out = {k: float(v) for k, v in weights.items()}
    negative = sorted(k for k, v in out.items() if not v >= 0)
    if negative:
        raise ValueError(f"loss weights must be >= 0; got {({k: out[k] for k in negative})}")
    return out


@dataclass
class MoleculeItem:
    """One molecule ready for the loss: its graph batch, targets and conformers (torch, float64)."""

    key: str
    smiles: str
    batch: GraphBatch  # this molecule alone
    targets: dict[str, torch.Tensor]
    positions: torch.Tensor  # [C, N, 3]
    energies: torch.Tensor  # [C]
    forces: torch.Tensor | None  # [C, N, 3]

    def has(self, term: str) -> bool:
        """Whether this molecule has the labels ``term`` needs."""
        if term in ATOM_TARGET_TERMS:
            return term in self.targets
        if term == "bonded":
            return "bond_k" in self.targets
        if term == "energy":
            return len(self.energies) >= 2
        if term == "forces":
            return self.forces is not None and len(self.forces) > 0
        return False  # 'damping' and 'prior' apply to every molecule of a batch (FitLoss)


@dataclass
class ClusterItem:
    """A dimer or cluster: its fragments' SMILES, the batch of the fragments and its interaction energy."""

    key: str
    smiles: list[str]
    batch: GraphBatch  # the fragments, in order
    positions: torch.Tensor  # [N, 3]
    interaction_energy: torch.Tensor  # scalar, kcal/mol
    fragments: list[GraphBatch] = field(init=False)  # each fragment as a batch of its own

    def __post_init__(self) -> None:
        self.fragments = [GraphBatch.from_graphs([g]) for g in self.batch.graphs]


def split_outputs(batch: GraphBatch, outputs: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Model outputs of a batch as one dict per molecule (the layout a one-molecule batch gives)."""
    pieces = {name: torch.split(value, batch.counts[TERM_KINDS.get(name, "atoms")]) for name, value in outputs.items()}
    return [{name: pieces[name][m] for name in outputs} for m in range(len(batch.graphs))]


def join_outputs(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`split_outputs`."""
    return {name: torch.cat([p[name] for p in parts]) for name in parts[0]}


def _masked_mse(pred: torch.Tensor, target: torch.Tensor, error: str = "absolute") -> torch.Tensor:
    """Mean squared ``error`` over the non-NaN targets: ``absolute`` (pred - target), ``relative``
    ((pred - target) / target) or ``log`` (log(pred / target): the relative error when small, but
    unbounded as a positive prediction falls orders of magnitude below its target)."""
    keep = ~torch.isnan(target)
    pred, target = pred.to(target.dtype)[keep], target[keep]
    if error == "log":
        diff = (pred / target).log()
    else:
        diff = pred - target if error == "absolute" else (pred - target) / target
    return diff.square().mean() if keep.any() else pred.new_zeros((), dtype=target.dtype)


def damping_penalty(batch: GraphBatch, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over atoms of (log(pol_damping / alpha) - log of the same ratio of the priors)^2.

    Thole's damping keeps induced dipoles finite at short range only while each atom's damping
    volume follows its polarizability (ByteFF-Pol: equal, smaller for Li-like cations); fitted
    freely, interaction energies at close ion contacts pull alpha up and damping down until the
    dipole equations have no solution. This term keeps their ratio at the priors'.
    """
    ratio = (outputs["pol_damping"] / outputs["alpha"]).log().double()
    prior = (batch.priors["pol_damping"] / batch.priors["alpha"]).log().to(ratio)
    return (ratio - prior).square().mean()


WALL_GRID = (0.9, 3.0, 43)  # A: where the short-range pair energy is probed (start, end, points)
WALL_BARRIER = 20.0  # kcal/mol
WALL_SOFTNESS = 2.0  # kcal/mol: the barrier's maximum is a soft one (log-sum-exp), so a pair collapsing
# all the way in from 3 A (hard maximum at the far end, zero gradient) still has a gradient


def pair_barriers(outputs: dict[str, torch.Tensor], i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Per pair (kcal/mol): the highest repulsion + dispersion + charge-transfer energy on
    ``WALL_GRID`` (a soft maximum, ``WALL_SOFTNESS``) less the energy at its far end. The form's charge transfer (-r^-4) outgrows the
    exponential repulsion at short range, so every pair has a collapsed well inside; this barrier
    is what keeps molecules out of it (published ByteFF-Pol: >= 24 kcal/mol for exposed atoms)."""
    start, end, points = WALL_GRID
    r = torch.linspace(start, end, points, dtype=outputs["eps"].dtype)[:, None].expand(points, len(i))
    ii, jj = i.expand(points, -1), j.expand(points, -1)
    exponential, wall = repulsion_pairs(r, ii, jj, outputs)
    energy = exponential + wall + dispersion_pairs(r, ii, jj, outputs) + charge_transfer_pairs(r, ii, jj, outputs)
    return WALL_SOFTNESS * torch.logsumexp(energy / WALL_SOFTNESS, 0) - energy[-1]


def _shortfall(barrier: torch.Tensor) -> torch.Tensor:
    """Mean of (relu(B - barrier) / B)^2 over pairs, B = ``WALL_BARRIER``."""
    return (torch.relu(WALL_BARRIER - barrier.double()) / WALL_BARRIER).square().mean()


def wall_penalty(batch: GraphBatch, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean over the molecule's atom pairs (i <= j) of (relu(B - barrier) / B)^2, B = ``WALL_BARRIER``."""
    n = outputs["eps"].shape[0]
    i, j = torch.triu_indices(n, n)
    return _shortfall(pair_barriers(outputs, i, j))


def contact_wall_penalty(fragment_outputs: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """:func:`wall_penalty` over the pairs of atoms of different fragments of a dimer or cluster: the
    pairs that meet between molecules (Li+ and the P of PF6-), which no single molecule holds."""
    params = {k: torch.cat([o[k] for o in fragment_outputs]) for k in PAIR_FIELDS}
    owner = torch.cat([torch.full((len(o["eps"]),), f) for f, o in enumerate(fragment_outputs)])
    i, j = torch.triu_indices(len(owner), len(owner), 1)
    between = owner[i] != owner[j]
    return _shortfall(pair_barriers(params, i[between], j[between]))


def prior_penalty(batch: GraphBatch, outputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean squared distance of the outputs from their priors (log space where the bound is)."""
    parts = []
    for name, value in outputs.items():
        if name not in BOUNDS or value.numel() == 0:
            continue
        bound = BOUNDS[name]
        prior = batch.priors[name].to(value) if name in batch.priors else torch.zeros_like(value)
        if prior.dim() < value.dim():
            prior = prior.unsqueeze(-1)
        diff = (value / prior).log() if bound.log else (value - prior) / (bound.hi - bound.lo)
        parts.append(diff.square().mean())
    return torch.stack(parts).mean().double()


def conformer_energies(item: MoleculeItem, outputs: dict[str, torch.Tensor], need_forces: bool,
                       create_graph: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Energies [C] (kcal/mol) and, if asked, forces [C, N, 3] of the item's conformers."""
    model = PolarizableEnergy(differentiable_system(item.batch, outputs))
    energies, forces = [], []
    for x in item.positions:
        x = x.clone().requires_grad_(need_forces)
        energy = model(x)["total"]
        energies.append(energy)
        if need_forces:
            (grad,) = torch.autograd.grad(energy, x, create_graph=create_graph)
            forces.append(-grad)
    return torch.stack(energies), (torch.stack(forces) if need_forces else None)


def molecule_losses(item: MoleculeItem, outputs: dict[str, torch.Tensor], terms: set[str],
                    create_graph: bool, log_errors: Collection[str] = ()) -> dict[str, torch.Tensor]:
    """Every term of ``terms`` this molecule has labels for (unweighted); the per-atom targets named in
    ``log_errors`` are compared by the log of their ratio (polarizabilities and C6 span two to four
    decades: Li+ 0.03 A^3 and 0.9 kcal/mol A^6, I 5 A^3 and 5000; a relative error would cost at most
    1 for a C6 that collapses to zero, and its gradient through the log-bounded output vanishes there)."""
    out = {}
    for term in ATOM_TARGET_TERMS:
        if term in terms and item.has(term):
            out[term] = _masked_mse(outputs[term], item.targets[term], "log" if term in log_errors else "absolute")
    if "bonded" in terms and item.has("bonded"):
        out["bonded"] = torch.stack([_masked_mse(outputs[n], item.targets[n], "relative" if n in RELATIVE else "absolute")
                                     for n in BONDED_TARGETS]).mean()
    want_energy = "energy" in terms and item.has("energy")
    want_forces = "forces" in terms and item.has("forces")
    if want_energy or want_forces:
        energies, forces = conformer_energies(item, outputs, want_forces, create_graph)
        if want_energy:
            relative = energies - energies.mean()
            out["energy"] = (relative - (item.energies - item.energies.mean())).square().mean()
        if want_forces:
            out["forces"] = (forces - item.forces).square().mean()
    return out


def interaction_energy(item: ClusterItem, fragment_outputs: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """E(cluster) - sum of E(fragment) at the cluster geometry (kcal/mol), differentiable."""
    system = differentiable_system(item.batch, join_outputs(fragment_outputs))
    total = PolarizableEnergy(system)(item.positions)["total"]
    start = 0
    for alone, outputs in zip(item.fragments, fragment_outputs):
        n = alone.n_atoms
        fragment = PolarizableEnergy(differentiable_system(alone, outputs))
        total = total - fragment(item.positions[start:start + n])["total"]
        start += n
    return total


REGULARISERS = {"damping": damping_penalty, "wall": wall_penalty, "prior": prior_penalty}  # per distinct molecule of a batch


def _distinct(molecules: list[tuple[MoleculeItem, dict]], clusters: list[tuple[ClusterItem, list[dict]]]
              ) -> list[tuple[GraphBatch, dict]]:
    """Each molecule of a batch once (monomers and cluster fragments), with its outputs."""
    seen: dict[str, tuple[GraphBatch, dict]] = {}
    for item, outputs in molecules:
        seen.setdefault(item.smiles, (item.batch, outputs))
    for item, fragment_outputs in clusters:
        for smiles, alone, outputs in zip(item.smiles, item.fragments, fragment_outputs):
            seen.setdefault(smiles, (alone, outputs))
    return list(seen.values())


class FitLoss:
    """The weighted sum of the terms with a positive weight; ``weights`` maps term -> weight;
    ``log_errors``: per-atom targets compared by log ratio (see :func:`molecule_losses`)."""

    def __init__(self, weights: Mapping[str, float], log_errors: Collection[str] = ()):
        self.weights = check_weights(weights)
        self.log_errors = frozenset(log_errors)
        self.terms = {k for k, w in self.weights.items() if w > 0}
        self.skipped: list[str] = []  # items left out: polarization catastrophe at the current parameters

    def drop_missing(self, molecules: list[MoleculeItem], clusters: list[ClusterItem]) -> list[str]:
        """Remove the terms no item has labels for (logged, with the label each needs); return them."""
        needs = TARGET_LABELS | {"bonded": "hessian", "energy": "energy (two or more conformers)", "forces": "forces",
                                 "interaction": "interaction_energy (dimers or clusters)",
                                 "contact_wall": "interaction_energy (dimers or clusters)"}
        missing = []
        for term in sorted(self.terms):
            if term in ("interaction", "contact_wall"):
                present = bool(clusters)
            elif term in REGULARISERS:
                present = bool(molecules or clusters)
            else:
                present = any(m.has(term) for m in molecules)
            if not present:
                log.warning("loss term %r skipped: no training data has %s labels", term, needs[term])
                missing.append(term)
        self.terms -= set(missing)
        return missing

    def __call__(self, molecules: list[tuple[MoleculeItem, dict]], clusters: list[tuple[ClusterItem, list[dict]]],
                 create_graph: bool) -> dict[str, tuple[torch.Tensor, int]]:
        """Per term: (sum over items, item count); 'total' is the weighted sum of the term means.
        An item whose induced dipoles have no stable solution at the current parameters (a
        polarization catastrophe) is left out and its key appended to ``skipped``."""
        sums: dict[str, list[torch.Tensor]] = {}
        for item, outputs in molecules:
            try:
                values = molecule_losses(item, outputs, self.terms, create_graph, self.log_errors)
            except PolarizationError:
                self.skipped.append(item.key)
                continue
            for term, value in values.items():
                sums.setdefault(term, []).append(value)
        if "interaction" in self.terms:
            for item, fragment_outputs in clusters:
                try:
                    error = interaction_energy(item, fragment_outputs) - item.interaction_energy
                except PolarizationError:
                    self.skipped.append(item.key)
                    continue
                sums.setdefault("interaction", []).append(error.square())
        if "contact_wall" in self.terms:
            for item, fragment_outputs in clusters:
                sums.setdefault("contact_wall", []).append(contact_wall_penalty(fragment_outputs))
        for batch, outputs in _distinct(molecules, clusters):
            for term in REGULARISERS:
                if term in self.terms:
                    sums.setdefault(term, []).append(REGULARISERS[term](batch, outputs))
        out = {term: (torch.stack(values).sum(), len(values)) for term, values in sums.items()}
        total = sum(self.weights[t] * s / n for t, (s, n) in out.items())
        out["total"] = (torch.as_tensor(total, dtype=torch.float64), 1)
        return out


def targets_as_tensors(targets: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(np.asarray(v, float), dtype=torch.float64) for k, v in targets.items()}
