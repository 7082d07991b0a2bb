"""The GNN parameterizer: edge-conditioned message passing on the molecular graph, then symmetric
readouts for every parameter of the ByteFF-Pol functional form.

Symmetry by construction: input features are averaged over symmetry classes; final atom embeddings
and every output are averaged over the classes of atoms and terms; bond, angle and torsion readouts
are summed over both directions of the term, impropers over every ordering of the three
neighbours. Charges come from charge equilibration (QEq) per molecule, which conserves the total
formal charge exactly and does not depend on where the SMILES puts a formal charge.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from polff.params.features import N_ATOM_FEATURES, N_BOND_FEATURES
from polff.params.graph import GraphBatch
from polff.params.priors import ATOM_OUTPUTS, BOUNDS

N_FOURIER = 4  # proper torsion terms n = 1..4, phases 0, 180, 0, 180 degrees


@dataclass
class ParameterizerConfig:
    """Sizes of the network. ``output_init_scale`` shrinks the last layer of every readout at
    initialisation so that an untrained model stays close to the priors."""

    hidden: int = 64
    layers: int = 3
    readout_hidden: int = 64
    output_init_scale: float = 0.1

    def __post_init__(self) -> None:
        for name in ("hidden", "layers", "readout_hidden"):
            value = getattr(self, name)
            minimum = 0 if name == "layers" else 1
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f"ParameterizerConfig.{name} must be an integer >= {minimum}, got {value!r}")
        if not self.output_init_scale > 0:
            raise ValueError(f"ParameterizerConfig.output_init_scale must be > 0, got {self.output_init_scale!r}")


def mlp(n_in: int, n_hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.SiLU(), nn.Linear(n_hidden, n_hidden), nn.SiLU(),
                         nn.Linear(n_hidden, n_out))


class InteractionLayer(nn.Module):
    """One round of edge-conditioned message passing; bond states are updated symmetrically in
    their two atoms, messages depend on sender, receiver and bond state."""

    def __init__(self, hidden: int):
        super().__init__()
        self.edge = mlp(3 * hidden, hidden, hidden)
        self.message = mlp(3 * hidden, hidden, hidden)
        self.update = mlp(2 * hidden, hidden, hidden)
        self.atom_norm = nn.LayerNorm(hidden)
        self.edge_norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, e: torch.Tensor, bonds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, j = bonds[:, 0], bonds[:, 1]
        e = self.edge_norm(e + self.edge(torch.cat([e, h[i] + h[j], h[i] * h[j]], 1)))
        receiver, sender = torch.cat([i, j]), torch.cat([j, i])
        messages = self.message(torch.cat([h[receiver], h[sender], torch.cat([e, e])], 1))
        incoming = torch.zeros_like(h).index_add_(0, receiver, messages)
        return self.atom_norm(h + self.update(torch.cat([h, incoming], 1))), e


class SymmetricReadout(nn.Module):
    """An MLP summed over the orderings of a term that describe the same term."""

    def __init__(self, n_in: int, hidden: int, n_out: int, init_scale: float):
        super().__init__()
        self.net = mlp(n_in, hidden, n_out)
        with torch.no_grad():
            self.net[-1].weight.mul_(init_scale)
            self.net[-1].bias.zero_()

    def forward(self, orderings: list[torch.Tensor]) -> torch.Tensor:
        return sum(self.net(x) for x in orderings)


def bounded(name: str, raw: torch.Tensor, prior: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Output ``name`` inside its bounds, averaged over the classes of ``classes`` last (vectorised
    exp/sigmoid may round equal inputs differently), so equivalent atoms or terms get bit-identical
    values; the final clamp only removes the averaging's round-off at the bounds."""
    bound = BOUNDS[name]
    if raw.dim() > prior.dim():
        prior = prior.unsqueeze(-1)
    value = bound.from_logit(raw + bound.prior_logit(prior.to(raw.dtype)))
    return class_average(value, classes).clamp(bound.lo, bound.hi)


def class_average(values: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Each row replaced by the mean of its class: bit-identical rows for equivalent atoms/terms."""
    if values.shape[0] == 0:
        return values
    n = int(classes.max()) + 1
    sums = values.new_zeros((n,) + values.shape[1:]).index_add_(0, classes, values)
    counts = torch.bincount(classes, minlength=n).to(values.dtype).reshape((n,) + (1,) * (values.dim() - 1))
    return (sums / counts)[classes]


def equilibrated_charges(chi: torch.Tensor, hardness: torch.Tensor, group: torch.Tensor,
                         total: torch.Tensor) -> torch.Tensor:
    """Charges (e) minimising sum(chi q + hardness q^2 / 2) within each group of atoms (``group``:
    the group of each atom; here a connected fragment) at the group's fixed ``total`` charge.

    q_i = (lambda_g - chi_i) / hardness_i with lambda_g set by the total; the residual rounding
    error of the total is spread evenly so each group's sum is its total to machine precision.
    """
    n_groups = total.shape[0]
    inverse = 1.0 / hardness
    weight = total.new_zeros(n_groups).index_add_(0, group, inverse)
    lam = (total + total.new_zeros(n_groups).index_add_(0, group, chi * inverse)) / weight
    q = (lam[group] - chi) * inverse
    residual = total - total.new_zeros(n_groups).index_add_(0, group, q)
    count = torch.bincount(group, minlength=n_groups).to(q.dtype)
    return q + (residual / count)[group]


class Parameterizer(nn.Module):
    """Molecular graph -> every parameter of the polarizable force field (internal units).

    ``forward`` returns per atom: 'charge' and the non-bonded parameters of
    :class:`polff.parameters.MoleculeParameters` plus the QEq 'electronegativity' and 'hardness';
    per bond 'bond_k', 'bond_length'; per angle 'angle_k', 'angle_theta'; per proper 'proper_k'
    [T, 4] (n = 1..4); per improper 'improper_k' (the k of each of its three permutations).
    """

    def __init__(self, config: ParameterizerConfig | None = None):
        super().__init__()
        self.config = config = config or ParameterizerConfig()
        h, r, s = config.hidden, config.readout_hidden, config.output_init_scale
        self.atom_embed = nn.Linear(N_ATOM_FEATURES, h)
        self.bond_embed = nn.Linear(N_BOND_FEATURES, h)
        self.interactions = nn.ModuleList(InteractionLayer(h) for _ in range(config.layers))
        self.atom_head = SymmetricReadout(h, r, len(ATOM_OUTPUTS), s)
        self.bond_head = SymmetricReadout(3 * h, r, 2, s)
        self.angle_head = SymmetricReadout(3 * h, r, 2, s)
        self.proper_head = SymmetricReadout(4 * h, r, N_FOURIER, s)
        self.improper_head = SymmetricReadout(4 * h, r, 1, s)

    def embed(self, batch: GraphBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Final atom embeddings (class-averaged) and bond states."""
        weight = self.atom_embed.weight
        h = self.atom_embed(batch.atom_features.to(weight))
        e = self.bond_embed(batch.bond_features.to(weight))
        for layer in self.interactions:
            h, e = layer(h, e, batch.terms["bonds"])
        return class_average(h, batch.classes["atoms"]), e

    def forward(self, batch: GraphBatch) -> dict[str, torch.Tensor]:
        batch = batch.to(self.atom_embed.weight.device)
        h, e = self.embed(batch)
        return self._atoms(batch, h) | self._bonds_and_angles(batch, h, e) | self._torsions(batch, h)

    def _atoms(self, batch: GraphBatch, h: torch.Tensor) -> dict[str, torch.Tensor]:
        raw = self.atom_head([h])
        out = {name: bounded(name, raw[:, col], batch.priors[name], batch.classes["atoms"])
               for col, name in enumerate(ATOM_OUTPUTS)}
        # per connected fragment, in float64 whatever the model's dtype: totals exact to ~1e-15 e
        out["charge"] = equilibrated_charges(out["electronegativity"].double(), out["hardness"].double(),
                                             batch.fragment_index, batch.fragment_charge.double())
        return out

    def _bonds_and_angles(self, batch: GraphBatch, h: torch.Tensor, e: torch.Tensor) -> dict[str, torch.Tensor]:
        i, j = batch.terms["bonds"].T
        bond = self.bond_head([torch.cat([h[i], h[j], e], 1), torch.cat([h[j], h[i], e], 1)])
        a, c, b = batch.terms["angles"].T
        angle = self.angle_head([torch.cat([h[a], h[c], h[b]], 1), torch.cat([h[b], h[c], h[a]], 1)])
        out = {}
        for raw, kind, names in ((bond, "bonds", ("bond_k", "bond_length")),
                                 (angle, "angles", ("angle_k", "angle_theta"))):
            for col, name in enumerate(names):
                out[name] = bounded(name, raw[:, col], batch.priors[name], batch.classes[kind])
        return out

    def _torsions(self, batch: GraphBatch, h: torch.Tensor) -> dict[str, torch.Tensor]:
        quad = h[batch.terms["propers"]]  # [T, 4, H]
        proper = self.proper_head([quad.flatten(1), quad.flip(1).flatten(1)])
        centre, neighbours = batch.terms["impropers"][:, 0], batch.terms["impropers"][:, 1:]
        orderings = [torch.cat([h[centre]] + [h[neighbours[:, p]] for p in perm], 1)
                     for perm in itertools.permutations(range(3))]
        improper = self.improper_head(orderings)[:, 0]
        return {
            "proper_k": bounded("proper_k", proper, torch.zeros_like(proper), batch.classes["propers"]),
            "improper_k": bounded("improper_k", improper, batch.priors["improper_k"], batch.classes["impropers"]),
        }
