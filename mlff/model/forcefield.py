"""The ML force field: equivariant network energy + learned-charge electrostatics + dispersion.

E = sum_i [scale_Z NN(s_i) + shift_Z + E_ref,Z] + E_coulomb(q) + E_dispersion (+ E_ZBL), in kcal/mol, with
charges q from charge equilibration of the network's predictions (total charge conserved exactly).
Forces (kcal/mol/A) are -dE/dx by autograd; stress (kcal/mol/A^3, ASE sign) is (1/V) dE/d(strain)
with the strain applied to positions and cell alike. Each physics term is switched in the config.
"""

from __future__ import annotations

import torch
from torch import nn

from elyte.electrostatics.ewald import EwaldParameters
from elyte.elements import symbol
from mlff.data.batch import Batch
from mlff.model.charges import ChargeHead
from mlff.model.config import ModelConfig
from mlff.model.dispersion import Dispersion
from mlff.model.electrostatics import cluster_energy, cluster_pairs, ewald_energy
from mlff.model.layers import Interaction, Update
from mlff.model.radial import PolynomialEnvelope, radial_basis
from mlff.model.repulsion import ZBLRepulsion

MAX_Z = 119


class UnsupportedElementError(ValueError):
    """A structure holds an element the model was not built for."""


class ForceField(nn.Module):
    """Energy, forces, stress, charges and dipoles of a :class:`~mlff.data.Batch`."""

    def __init__(self, config: ModelConfig, reference_energies: dict[int, float] | None = None):
        super().__init__()
        config.validate()
        self.config = config
        elements = config.elements
        index = torch.full((MAX_Z,), -1, dtype=torch.long)
        index[torch.tensor(elements)] = torch.arange(len(elements))
        self.register_buffer("species_index", index, persistent=False)
        references = reference_energies or {}
        unknown = sorted(set(references) - set(elements))
        if unknown:
            raise ValueError(f"reference energies given for {unknown}, which are not model elements {elements}")
        # kept in Python floats (not a buffer, which .to(float32) would round: E_ref reaches 1e6 kcal/mol)
        self.reference_energies = {z: float(references.get(z, 0.0)) for z in elements}

        f = config.features
        self.embedding = nn.Embedding(len(elements), f)
        self.basis = radial_basis(config.radial_basis, config.cutoff, config.n_radial)
        self.envelope = PolynomialEnvelope(config.cutoff, config.envelope_exponent)
        self.interactions = nn.ModuleList(
            Interaction(f, config.n_radial, config.lmax, config.avg_num_neighbors) for _ in range(config.layers)
        )
        self.updates = nn.ModuleList(Update(f, config.lmax) for _ in range(config.layers))
        hidden = config.readout_hidden
        self.readout = nn.Sequential(nn.Linear(f, hidden), nn.SiLU(), nn.Linear(hidden, 1))
        self.atomic_scale = nn.Parameter(torch.ones(len(elements)))
        self.atomic_shift = nn.Parameter(torch.zeros(len(elements)))
        self.charge_head = ChargeHead(f, config.readout_hidden, config.charges.min_hardness) if config.charges.enabled \
            else None
        self.dispersion = Dispersion(elements, config.dispersion, config.long_cutoff) if config.dispersion.enabled \
            else None
        self.repulsion = ZBLRepulsion(elements, config.cutoff, config.envelope_exponent,
                                      config.repulsion.covalent_scale) if config.repulsion.enabled else None
        self.ewald = EwaldParameters.from_tolerance(config.long_cutoff, config.electrostatics.ewald_tolerance)

    @property
    def elements(self) -> list[int]:
        return list(self.config.elements)

    def check(self, batch: Batch) -> None:
        """Raise a clear error for a batch this model cannot evaluate correctly."""
        species = self.species_index[batch.numbers.clamp(0, MAX_Z - 1)]
        if bool((species < 0).any()) or bool((batch.numbers >= MAX_Z).any()):
            bad = sorted({int(z) for z in batch.numbers[species < 0].tolist()})
            raise UnsupportedElementError(
                f"the model was built for {[symbol(z) for z in self.elements]} and cannot evaluate "
                f"{[symbol(z) if 0 < z < MAX_Z else z for z in bad]}; use a model trained on these elements"
            )
        if batch.cutoff < self.config.cutoff or batch.long_cutoff < self.config.long_cutoff:
            raise ValueError(
                f"the batch's neighbour lists (cutoffs {batch.cutoff}, {batch.long_cutoff} A) are shorter than the "
                f"model's ({self.config.cutoff}, {self.config.long_cutoff} A): collate with the model's cutoffs"
            )
        partial = batch.pbc.any(dim=1) & ~batch.pbc.all(dim=1)
        if self.charge_head is not None and self.config.electrostatics.enabled and bool(partial.any()):
            raise ValueError("electrostatics needs each structure fully periodic or a cluster; got partial pbc")
        dtype = self.atomic_scale.dtype
        if batch.positions.dtype != dtype:
            raise TypeError(f"batch is {batch.positions.dtype} but the model is {dtype}: use batch.to(dtype=...)")

    def atomic_features(self, species: torch.Tensor, edge_index: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Scalar features [N, F] after message passing (the compile-friendly core)."""
        r = vectors.norm(dim=1)
        u = vectors / r[:, None]
        radial = self.basis(r) * self.envelope(r)[:, None]
        s = self.embedding(species)
        n, f = s.shape
        v = s.new_zeros(n, 3, f)
        t = s.new_zeros(n, 3, 3, f) if self.config.lmax == 2 else None
        for interaction, update in zip(self.interactions, self.updates):
            ds, dv, dt = interaction(s, v, t, edge_index, u, radial)
            s, v = s + ds, v + dv
            t = t + dt if t is not None else None
            s, v, t = update(s, v, t)
        return s

    def energy(self, batch: Batch, positions: torch.Tensor, cell: torch.Tensor,
               reciprocal_integers: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Energy terms [B] (kcal/mol), charges [N] (e) and dipoles [B, 3] (e*A) at ``positions``/``cell``.

        ``reciprocal_integers``: the Ewald reciprocal-lattice triples of the cell as an input
        (:func:`elyte.electrostatics.ewald.reciprocal_integers`) rather than found from it, so that no
        Python decision depends on the cell (see :mod:`mlff.deploy`)."""
        n_structures = batch.n_structures
        species = self.species_index[batch.numbers]
        vectors = _edge_vectors(positions, cell, batch.batch, batch.edge_index, batch.shifts)
        s = self.atomic_features(species, batch.edge_index, vectors)
        atomic = self.readout(s).squeeze(1) * self.atomic_scale[species] + self.atomic_shift[species]
        out = {"energy_network": positions.new_zeros(n_structures).index_add_(0, batch.batch, atomic)
               + self._reference_sum(species, batch.batch, n_structures).to(positions.dtype)}
        if self.repulsion is not None:
            out["energy_repulsion"] = self.repulsion(species, batch.edge_index, vectors.norm(dim=1), batch.batch,
                                                     n_structures)
        if self.charge_head is not None or self.dispersion is not None:
            long_vectors = _edge_vectors(positions, cell, batch.batch, batch.long_edge_index, batch.long_shifts)
            long_r = long_vectors.norm(dim=1)
        if self.charge_head is not None:
            q = self.charge_head(s, batch.total_charge, batch.batch)
            out["charges"] = q
            out["dipole"] = positions.new_zeros(n_structures, 3).index_add_(0, batch.batch, q[:, None] * positions)
            if self.config.electrostatics.enabled:
                out["energy_electrostatics"] = self._electrostatics(batch, q, positions, cell, long_r,
                                                                    reciprocal_integers)
        if self.dispersion is not None:
            out["energy_dispersion"] = self.dispersion(species, batch.long_edge_index, long_r, batch.batch,
                                                       n_structures)
        out["energy"] = sum(value for key, value in out.items() if key.startswith("energy_"))
        return out

    def _reference_sum(self, species: torch.Tensor, batch: torch.Tensor, n_structures: int) -> torch.Tensor:
        """sum_i E_ref,Z_i per structure, in float64 (kcal/mol)."""
        table = torch.tensor(list(self.reference_energies.values()), dtype=torch.float64, device=species.device)
        return table.new_zeros(n_structures).index_add_(0, batch, table[species])

    def _electrostatics(self, batch: Batch, q, positions, cell, long_r, integers) -> torch.Tensor:
        sigma = self.config.electrostatics.gaussian_width
        periodic, counts = list(batch.periodic), list(batch.atom_counts)
        pairs = cluster_pairs(counts, periodic, positions.device)
        energy = cluster_energy(q, positions, pairs, batch.batch, batch.n_structures, sigma)
        if any(periodic):
            ptr = [0]
            for n in counts:
                ptr.append(ptr[-1] + n)
            energy = energy + ewald_energy(q, positions, cell, batch.batch, ptr, periodic, batch.long_edge_index,
                                           long_r, sigma, self.ewald, integers)
        return energy

    def forward(
        self, batch: Batch, compute_forces: bool = True, compute_stress: bool = False, create_graph: bool | None = None,
        check: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Energy [B] and its terms ``energy_*`` (kcal/mol), forces [N, 3] (kcal/mol/A), stress [B, 3, 3]
        (kcal/mol/A^3; zero for clusters), charges [N] (e) and dipoles sum q x [B, 3] (e*A; meaningful
        for clusters). ``create_graph`` (default: in training mode) keeps the graph for force losses;
        ``check=False`` skips :meth:`check` (its reads synchronize a GPU)."""
        if check:
            self.check(batch)
        create_graph = self.training if create_graph is None else create_graph
        positions = batch.positions.detach().requires_grad_(compute_forces)
        cell = batch.cell
        strain = None
        if compute_stress:
            strain = positions.new_zeros(batch.n_structures, 3, 3, requires_grad=True)
            deform = torch.eye(3, dtype=positions.dtype, device=positions.device) + strain
            positions_used = torch.einsum("ni,nij->nj", positions, deform[batch.batch])
            cell = torch.bmm(cell, deform)
        else:
            positions_used = positions
        out = self.energy(batch, positions_used, cell)
        inputs = [x for x in (positions if compute_forces else None, strain) if x is not None]
        if inputs:
            grads = torch.autograd.grad(out["energy"].sum(), inputs, create_graph=create_graph)
            if compute_forces:
                out["forces"] = -grads[0]
            if compute_stress:
                volume = torch.linalg.det(batch.cell).abs()
                safe = torch.where(volume > 0, volume, torch.ones_like(volume))
                derivative = grads[-1]
                stress = 0.5 * (derivative + derivative.transpose(1, 2)) / safe[:, None, None]
                out["stress"] = torch.where(volume[:, None, None] > 0, stress, torch.zeros_like(stress))
        return out


def _edge_vectors(positions, cell, batch, edge_index, shifts) -> torch.Tensor:
    """x_j - x_i + shift @ cell of each edge (A); ``cell`` [B, 3, 3] per structure."""
    i, j = edge_index[0], edge_index[1]
    offset = torch.einsum("ek,ekl->el", shifts.to(positions.dtype), cell[batch[i]])
    return positions[j] - positions[i] + offset
