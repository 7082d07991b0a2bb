"""D3-like pairwise dispersion with Becke-Johnson damping (energies in kcal/mol, lengths in A).

E = -s6 sum_{i<j} C6_ij / (r^6 + R_ij^6) * S(r),  C6_ij = sqrt(C6_i C6_j),  R_ij = a1 (R0_i + R0_j) + a2,

with S a C2 switch that takes the sum smoothly to zero at the long-range cutoff. The per-element C6
and van der Waals radii R0 start from Grimme's D2 table (S. Grimme, J. Comput. Chem. 27, 1787
(2006), Table 1: C6 in J nm^6 / mol, R0 in A); with ``trainable`` they are learned from there.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from elyte.elements import symbol
from elyte.units import KJ_TO_KCAL, NM_TO_ANGSTROM
from mlff.model.config import DispersionConfig
from mlff.model.radial import smooth_switch

# J nm^6 / mol -> kcal/mol A^6 (1e-3: J -> kJ)
C6_UNIT = 1e-3 * KJ_TO_KCAL * NM_TO_ANGSTROM**6

# atomic number: (C6 [J nm^6 / mol], R0 [A]) from the D2 table
D2_TABLE = {
    1: (0.14, 1.001), 2: (0.08, 1.012), 3: (1.61, 0.825), 4: (1.61, 1.408), 5: (3.13, 1.485), 6: (1.75, 1.452),
    7: (1.23, 1.397), 8: (0.70, 1.342), 9: (0.75, 1.287), 10: (0.63, 1.243), 11: (5.71, 1.144), 12: (5.71, 1.364),
    13: (10.79, 1.639), 14: (9.23, 1.716), 15: (7.84, 1.705), 16: (5.57, 1.683), 17: (5.07, 1.639),
    18: (4.61, 1.595), 19: (10.80, 1.485), 20: (10.80, 1.474), 35: (12.47, 1.749), 53: (31.50, 1.892),
}


class Dispersion(nn.Module):
    """Dispersion energy per structure from the long-range edges (both directions, each pair twice)."""

    def __init__(self, elements: list[int], config: DispersionConfig, cutoff: float):
        super().__init__()
        missing = [symbol(z) for z in elements if z not in D2_TABLE]
        if missing:
            raise ValueError(
                f"no dispersion C6 table entry for {missing} (table: {[symbol(z) for z in D2_TABLE]}); "
                "disable dispersion (model.dispersion.enabled=false) or add the element to the table"
            )
        c6 = torch.tensor([math.log(D2_TABLE[z][0] * C6_UNIT) for z in elements])
        r0 = torch.tensor([math.log(D2_TABLE[z][1]) for z in elements])
        if config.trainable:
            self.log_c6, self.log_r0 = nn.Parameter(c6), nn.Parameter(r0)
        else:
            self.register_buffer("log_c6", c6)
            self.register_buffer("log_r0", r0)
        self.s6, self.a1, self.a2 = config.s6, config.a1, config.a2
        self.r_on, self.r_off = cutoff - config.switch_width, cutoff

    def forward(
        self, species: torch.Tensor, edge_index: torch.Tensor, r: torch.Tensor, batch: torch.Tensor, n_structures: int
    ) -> torch.Tensor:
        si, sj = species[edge_index[0]], species[edge_index[1]]
        c6 = torch.exp(0.5 * (self.log_c6[si] + self.log_c6[sj]))
        radius = self.a1 * (torch.exp(self.log_r0[si]) + torch.exp(self.log_r0[sj])) + self.a2
        pair = -self.s6 * c6 / (r**6 + radius**6) * smooth_switch(r, self.r_on, self.r_off)
        return r.new_zeros(n_structures).index_add_(0, batch[edge_index[0]], 0.5 * pair)
