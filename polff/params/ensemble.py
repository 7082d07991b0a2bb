"""Several parameterizers as one: mean parameters and their spread over the members, per atom and
per term (a cheap uncertainty estimate for screening molecules far from the training data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from polff.molecule import Molecule
from polff.parameters import MoleculeParameters
from polff.params.files import load_model
from polff.params.model import Parameterizer
from polff.params.parameterize import make_batch, to_parameters

SPREAD_FIELDS = ("charge", "alpha", "pol_damping", "eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb",
                 "bond_k", "bond_length", "angle_k", "angle_theta", "proper_k", "improper_k")


@dataclass
class EnsembleParameters:
    """``mean``: the members' mean parameters; ``spread``: their standard deviation over members
    (same units), per atom for atom fields, per term for 'bond_*', 'angle_*', 'improper_k' and
    [T, 4] (n = 1..4) for 'proper_k', rows in the order of ``mean``'s terms."""

    mean: MoleculeParameters
    spread: dict[str, np.ndarray]


class Ensemble:
    """Mean and spread of the parameters predicted by ``models`` (at least one)."""

    def __init__(self, models: Sequence[Parameterizer]):
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.models = list(models)

    @classmethod
    def from_files(cls, paths: Sequence[str | Path]) -> Ensemble:
        return cls([load_model(p) for p in paths])

    def parameterize_batch(self, molecules: Sequence[str | Molecule],
                           positions: Sequence[np.ndarray | None] | None = None) -> list[EnsembleParameters]:
        batch = make_batch(molecules, positions)
        runs = []
        with torch.no_grad():
            for model in self.models:
                was_training = model.training
                runs.append(model.eval()(batch))
                model.train(was_training)
        mean, spread = {}, {}
        for name in runs[0]:
            values = torch.stack([r[name].to(torch.float64) for r in runs])
            # centred on the first member: identical members give exactly its values and zero spread
            deviation = values - values[0]
            mean[name] = values[0] + deviation.mean(0)
            spread[name] = (deviation - deviation.mean(0)).square().mean(0).sqrt()
        counts = batch.counts
        kinds = {"bond_k": "bonds", "bond_length": "bonds", "angle_k": "angles", "angle_theta": "angles",
                 "proper_k": "propers", "improper_k": "impropers"}
        split = {f: torch.split(spread[f], counts[kinds.get(f, "atoms")]) for f in SPREAD_FIELDS}
        return [EnsembleParameters(params, {f: split[f][m].numpy() for f in SPREAD_FIELDS})
                for m, params in enumerate(to_parameters(batch, mean))]

    def parameterize(self, molecule: str | Molecule, positions: np.ndarray | None = None) -> EnsembleParameters:
        return self.parameterize_batch([molecule], [positions])[0]
