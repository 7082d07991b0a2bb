"""Exclusion and scaling of non-bonded interactions by topological relation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# relation index: 0 = different molecules or more than 5 bonds apart, 1 = 1-2, 2 = 1-3, 3 = 1-4,
# 4 = 1-5, 5 = 1-6 (see polff.system.PolSystem.relation)


@dataclass(frozen=True)
class ScalingRules:
    """Scale factor per relation (unrelated, 1-2, 1-3, 1-4, 1-5, 1-6) for each kind of interaction.

    Defaults are the published ByteFF-Pol conventions: 1-2 and 1-3 excluded, 1-4 halved for
    repulsion, dispersion, charge-charge and the permanent field that induces dipoles; dipole-dipole
    coupling unscaled for every pair; charge transfer off for all pairs up to 1-5.
    """

    vdw: tuple[float, ...] = (1.0, 0.0, 0.0, 0.5, 1.0, 1.0)
    charge: tuple[float, ...] = (1.0, 0.0, 0.0, 0.5, 1.0, 1.0)
    dipole: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    charge_transfer: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0)

    def factor(self, kind: str, relation: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Per-pair scale for ``kind`` ('vdw', 'charge', 'dipole', 'charge_transfer')."""
        table = torch.tensor(getattr(self, kind), dtype=dtype, device=relation.device)
        return table[relation]
