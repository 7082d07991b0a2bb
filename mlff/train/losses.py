"""Weighted training losses and error metrics on energy, forces, stress, charges and dipoles.

Each term is a masked mean of squared errors over the entries that carry the label (a structure
without a stress label adds nothing to the stress term). Units of the squared errors:
energy per atom (kcal/mol/atom)^2, forces (kcal/mol/A)^2 per component, stress (kcal/mol/A^3)^2 per
component, charges e^2, dipoles (e*A)^2 per component, interaction energies (kcal/mol)^2 per cluster
(the model's energy of the cluster less those of its molecules, collated with it: :mod:`mlff.data.batch`).
The loss is sum_k w_k * term_k.

Means are formed as sum / count with the count of the *global* batch (:func:`label_counts`, summed
over data-parallel ranks by the trainer), so that gradients summed over ranks equal those of one
process seeing the whole batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import torch

from mlff.data.batch import Batch
from mlff.data.structure import LABELS, MissingLabelError, Structure

PER_ATOM = {"forces", "charges"}


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The non-zero loss weights; unknown names or negative weights raise."""
    unknown = sorted(set(weights) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown loss term(s) {unknown}; the terms are {list(LABELS)}")
    bad = {k: w for k, w in weights.items() if w is None or float(w) < 0}
    if bad:
        raise ValueError(f"loss weights must be >= 0, got {bad}")
    active = {k: float(w) for k, w in weights.items() if float(w) > 0}
    if not active:
        raise ValueError("every loss weight is zero: give at least one term a positive weight (e.g. loss.energy=1)")
    return active


def check_labels(weights: Mapping[str, float], structures: Iterable[Structure], name: str = "training set") -> None:
    """Raise :class:`MissingLabelError` for a weighted term whose label no structure of ``structures`` has."""
    wanted = set(check_weights(weights))
    seen: set[str] = set()
    count = 0
    for structure in structures:
        count += 1
        seen.update(label for label in wanted if structure.has(label))
        if seen == wanted:
            return
    if count == 0:
        raise ValueError(f"the {name} is empty: check the data paths and the split fractions")
    missing = sorted(wanted - seen)
    raise MissingLabelError(
        f"the loss asks for {missing} but no structure of the {name} ({count} structures) has that label: "
        f"set the weight(s) {', '.join(f'loss.{m}=0' for m in missing)} or use data that carries the label(s)"
    )


def check_model_outputs(weights: Mapping[str, float], charges_enabled: bool) -> None:
    """Charge and dipole losses need a model with learned charges."""
    needs = sorted(k for k in ("charges", "dipole") if weights.get(k, 0) > 0)
    if needs and not charges_enabled:
        raise ValueError(f"loss terms {needs} need learned charges: set model.charges.enabled=true or their "
                         "weights to 0")


def label_counts(batch: Batch, terms: Iterable[str]) -> dict[str, torch.Tensor]:
    """Number of labelled scalar entries per term in ``batch`` (float64 tensors, for all-reduce)."""
    counts = {}
    for term in terms:
        components = math.prod(getattr(batch, term).shape[1:])
        counts[term] = getattr(batch, f"{term}_mask").sum().to(torch.float64) * components
    return counts


def residuals(prediction: Mapping[str, torch.Tensor], batch: Batch, term: str) -> torch.Tensor:
    """Prediction - label of ``term`` on its labelled entries, flattened; energy per atom."""
    if term == "interaction_energy":
        predicted = batch.interaction_energies(prediction["energy"])
    elif term in prediction:
        predicted = prediction[term]
    else:
        raise KeyError(f"the model produced no {term!r}; enable it in the model or set its loss weight to 0")
    mask = getattr(batch, f"{term}_mask")
    residual = predicted - getattr(batch, term)
    if term == "energy":
        residual = residual / batch.n_atoms.to(residual.dtype)
    return residual[mask].reshape(-1)


class WeightedLoss:
    """sum_k w_k * sum(residual_k^2) / count_k over the batch (see the module docstring)."""

    def __init__(self, weights: Mapping[str, float]):
        self.weights = check_weights(weights)

    @property
    def terms(self) -> list[str]:
        return list(self.weights)

    @property
    def needs_stress(self) -> bool:
        return "stress" in self.weights

    def __call__(self, prediction: Mapping[str, torch.Tensor], batch: Batch,
                 counts: Mapping[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(total loss, per-term mean squared errors); ``counts`` default to this batch's own."""
        counts = label_counts(batch, self.terms) if counts is None else counts
        total = prediction["energy"].new_zeros(())
        parts = {}
        for term, weight in self.weights.items():
            residual = residuals(prediction, batch, term)
            part = residual.pow(2).sum() / counts[term].clamp(min=1).to(residual.dtype)
            parts[term] = part.detach()
            total = total + weight * part
        return total, parts


class Metrics:
    """Accumulates MAE, RMSE and bias (mean of prediction - label) per property over batches (energy
    both per structure and per atom).

    Sums are kept in float64 tensors so they can be all-reduced across ranks (:meth:`tensor`).
    """

    def __init__(self, terms: Iterable[str]):
        self.terms = list(terms)
        self.keys = [*(["energy_structure"] if "energy" in self.terms else []), *self.terms]
        self.sums = torch.zeros(len(self.keys), 4, dtype=torch.float64)  # abs, squared, count, signed

    def update(self, prediction: Mapping[str, torch.Tensor], batch: Batch) -> None:
        for row, key in enumerate(self.keys):
            if key == "energy_structure":
                mask = batch.energy_mask
                residual = (prediction["energy"] - batch.energy)[mask]
            else:
                residual = residuals(prediction, batch, key)
            residual = residual.detach().to(torch.float64).cpu()
            self.sums[row] += torch.stack([residual.abs().sum(), residual.pow(2).sum(),
                                           torch.tensor(float(residual.numel()), dtype=torch.float64),
                                           residual.sum()])

    def tensor(self) -> torch.Tensor:
        """The raw sums [K, 4]: replace them by their all-reduced values in place for data parallelism."""
        return self.sums

    def compute(self) -> dict[str, float]:
        """``<key>_mae``, ``<key>_rmse`` and ``<key>_bias`` for every property with labelled entries;
        energy is per atom under ``energy`` and per structure under ``energy_structure``."""
        out = {}
        for key, (absolute, squared, count, signed) in zip(self.keys, self.sums.tolist()):
            if count > 0:
                out[f"{key}_mae"] = absolute / count
                out[f"{key}_rmse"] = (squared / count) ** 0.5
                out[f"{key}_bias"] = signed / count
        return out
