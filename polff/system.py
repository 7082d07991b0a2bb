"""A system of parameterized molecules as flat torch tensors, with the topology-based pair
relations that decide exclusions and 1-4 scaling of the non-bonded terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from polff.parameters import NONBONDED_FIELDS, MoleculeParameters

MAX_RELATION = 5  # pairs up to 1-5 are tracked; farther intramolecular pairs count as unrelated


def bond_distances(n_atoms: int, bonds: np.ndarray) -> np.ndarray:
    """[n, n] number of bonds on the shortest path between atoms (inf when not connected)."""
    if len(bonds) == 0:
        graph = csr_matrix((n_atoms, n_atoms))
    else:
        data = np.ones(len(bonds))
        graph = csr_matrix((data, (bonds[:, 0], bonds[:, 1])), shape=(n_atoms, n_atoms))
    return shortest_path(graph, directed=False, unweighted=True)


@dataclass
class PolSystem:
    """Flat, concatenated parameters of several molecules (torch tensors, internal units).

    ``related_keys``/``related_order`` hold every intramolecular pair i < j at most
    ``MAX_RELATION`` bonds apart, as key i * n_atoms + j (sorted) and its bond count (1 = 1-2,
    2 = 1-3, 3 = 1-4, 4 = 1-5, 5 = 1-6); every other pair has relation 0.
    """

    n_atoms: int
    molecule_index: torch.Tensor  # [N] which molecule each atom belongs to
    params: dict[str, torch.Tensor]  # per-atom non-bonded parameters
    masses: torch.Tensor
    bonds: torch.Tensor
    bond_length: torch.Tensor
    bond_k: torch.Tensor
    angles: torch.Tensor
    angle_theta: torch.Tensor
    angle_k: torch.Tensor
    torsions: dict[str, dict[str, torch.Tensor]]  # 'propers'/'impropers' -> atoms, k, periodicity, phase
    related_keys: torch.Tensor
    related_order: torch.Tensor
    elements: list[str]

    @classmethod
    def from_molecules(cls, molecules: list[MoleculeParameters], dtype: torch.dtype = torch.float64) -> PolSystem:
        """Concatenate ``molecules`` in order (atom order within each molecule preserved)."""
        offsets = np.cumsum([0] + [m.n_atoms for m in molecules])
        n = int(offsets[-1])

        def cat(getter, shift: bool = False, dims: int = 0):
            parts = [getter(m) + (offsets[k] if shift else 0) for k, m in enumerate(molecules)]
            return np.concatenate(parts) if parts else np.zeros((0,) * max(dims, 1))

        def t(a, integer=False):
            return torch.as_tensor(np.asarray(a), dtype=torch.long if integer else dtype)

        keys, orders = [], []
        for k, m in enumerate(molecules):
            dist = bond_distances(m.n_atoms, m.bonds)
            i, j = np.nonzero(np.triu(dist <= MAX_RELATION, k=1))
            keys.append((i + offsets[k]) * n + (j + offsets[k]))
            orders.append(dist[i, j].astype(int))
        key = np.concatenate(keys) if keys else np.zeros(0, int)
        order = np.concatenate(orders) if orders else np.zeros(0, int)
        sort = np.argsort(key)
        torsions = {
            kind: {
                "atoms": t(cat(lambda m: getattr(m, kind).atoms, shift=True).reshape(-1, 4), integer=True),
                "k": t(cat(lambda m: getattr(m, kind).k)),
                "periodicity": t(cat(lambda m: getattr(m, kind).periodicity)),
                "phase": t(cat(lambda m: getattr(m, kind).phase)),
            }
            for kind in ("propers", "impropers")
        }
        return cls(
            n_atoms=n,
            molecule_index=t(np.repeat(np.arange(len(molecules)), [m.n_atoms for m in molecules]), integer=True),
            params={f: t(cat(lambda m, f=f: getattr(m, f))) for f in NONBONDED_FIELDS},
            masses=t(cat(lambda m: m.masses)),
            bonds=t(cat(lambda m: m.bonds, shift=True).reshape(-1, 2), integer=True),
            bond_length=t(cat(lambda m: m.bond_length)),
            bond_k=t(cat(lambda m: m.bond_k)),
            angles=t(cat(lambda m: m.angles, shift=True).reshape(-1, 3), integer=True),
            angle_theta=t(cat(lambda m: m.angle_theta)),
            angle_k=t(cat(lambda m: m.angle_k)),
            torsions=torsions,
            related_keys=t(key[sort], integer=True),
            related_order=t(order[sort], integer=True),
            elements=[e for m in molecules for e in m.elements],
        )

    def relation(self, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
        """Bond count between atoms i < j of the same molecule (1..MAX_RELATION), else 0."""
        key = i * self.n_atoms + j
        if self.related_keys.numel() == 0:
            return torch.zeros_like(key)
        pos = torch.searchsorted(self.related_keys, key).clamp(max=self.related_keys.numel() - 1)
        return torch.where(self.related_keys[pos] == key, self.related_order[pos], torch.zeros_like(key))
