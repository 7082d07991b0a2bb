"""Several parameterizers as one: mean parameters and their spread over the members, per atom and
per term (a cheap uncertainty estimate for screening molecules far from the training data)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from elyte.paths import data_dir
from polff.molecule import Molecule
from polff.parameters import MoleculeParameters
from polff.params.domain import unseen_atoms
from polff.params.files import load_model, read_metadata
from polff.params.model import Parameterizer
from polff.params.parameterize import as_molecule, make_batch, to_parameters

log = logging.getLogger(__name__)

# (limit, relative?): ensemble spreads above these mark a molecule as unlike the training data. Set
# above the largest spread of the shipped ensemble on its 30 training species (charge 0.135 e on the
# buried S of TFSI-, whose ESP charge is ill-conditioned; solvents at most 0.048 e; alpha 7 %; C6 36 %
# on Na+; docs/polff_validation.md). Relative spreads are taken of at least RELATIVE_FLOOR, so that
# the near-zero C6 of Li+ (0.1 kcal/mol A^6) does not count as a large relative spread.
DOMAIN_LIMITS = {"charge": (0.15, False), "alpha": (0.15, True), "c6": (0.4, True)}
RELATIVE_FLOOR = {"alpha": 0.1, "c6": 10.0}  # A^3, kcal/mol A^6: about half of a hydrogen's
SPREAD_FIELDS = ("charge", "alpha", "pol_damping", "eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb",
                 "bond_k", "bond_length", "angle_k", "angle_theta", "proper_k", "improper_k")


@dataclass
class EnsembleParameters:
    """``mean``: the members' mean parameters; ``spread``: their standard deviation over members
    (same units), per atom for atom fields, per term for 'bond_*', 'angle_*', 'improper_k' and
    [T, 4] (n = 1..4) for 'proper_k', rows in the order of ``mean``'s terms."""

    mean: MoleculeParameters
    spread: dict[str, np.ndarray]
    unseen: list[tuple[int, str]] = field(default_factory=list)  # atoms whose environment training never had

    def out_of_domain(self) -> list[str]:
        """Reasons to doubt these parameters: atoms whose environment (polff.params.domain) the
        training molecules never had, and atoms where the members disagree by more than
        ``DOMAIN_LIMITS`` (charge spread in e; polarizability and C6 spread relative to the mean), as
        they do on molecules unlike the training data."""
        reasons = [f"atom {k} ({env}) has an environment no training molecule has" for k, env in self.unseen]
        for name, (limit, relative) in DOMAIN_LIMITS.items():
            values = self.spread[name] / np.maximum(np.abs(getattr(self.mean, name)), RELATIVE_FLOOR[name]) \
                if relative else self.spread[name]
            if len(values) and values.max() > limit:
                atom = int(values.argmax())
                reasons.append(f"{name} spread {values.max():.3g}{' (relative)' if relative else ''} on atom {atom} "
                               f"({self.mean.elements[atom]}) exceeds {limit}")
        return reasons


def default_model_dir() -> Path:
    """The shipped GNN parameterizer ensemble (``data/models/polff_gnn_v2``, one file per member)."""
    return data_dir() / "models" / "polff_gnn_v2"


def model_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """Model files named by ``paths``: files as given, each directory expanded to its ``*.pt`` files."""
    out: list[Path] = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if path.is_dir():
            members = sorted(path.glob("*.pt"))
            if not members:
                raise FileNotFoundError(f"{path} holds no *.pt model files")
            out += members
        else:
            out.append(path)
    return out


class Ensemble:
    """Mean and spread of the parameters predicted by ``models`` (at least one)."""

    def __init__(self, models: Sequence[Parameterizer], environments: set[str] | None = None):
        """``environments``: the atom environments of the training molecules (None: not checked)."""
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.models = list(models)
        self.environments = environments

    @classmethod
    def from_files(cls, paths: str | Path | Sequence[str | Path]) -> Ensemble:
        """Members from model files; a directory stands for every ``*.pt`` file in it (sorted). The
        training environments are the union of the members' (if every member records them)."""
        files = model_files(paths)
        recorded = [read_metadata(p)["metadata"].get("atom_environments") for p in files]
        environments = set().union(*recorded) if all(r is not None for r in recorded) else None
        return cls([load_model(p) for p in files], environments)

    def parameterize_batch(self, molecules: Sequence[str | Molecule],
                           positions: Sequence[np.ndarray | None] | None = None) -> list[EnsembleParameters]:
        molecules = [as_molecule(m) for m in molecules]  # parsed once: the batch and the domain check
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
        out = [EnsembleParameters(params, {f: split[f][m].numpy() for f in SPREAD_FIELDS},
                                  [] if self.environments is None else unseen_atoms(molecules[m].rdkit, self.environments))
               for m, params in enumerate(to_parameters(batch, mean))]
        for item in out:
            if reasons := item.out_of_domain():
                log.warning("%s may be outside the parameterizer's training domain (%s); check its parameters "
                            "against QM before trusting predictions", item.mean.name, "; ".join(reasons))
        return out

    def parameterize(self, molecule: str | Molecule, positions: np.ndarray | None = None) -> EnsembleParameters:
        return self.parameterize_batch([molecule], [positions])[0]
