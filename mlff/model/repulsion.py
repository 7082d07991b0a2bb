"""Short-range nuclear repulsion: the Ziegler-Biersack-Littmark (ZBL) universal screened Coulomb
potential between nuclei, a physical wall where training data are thin (energies in kcal/mol,
lengths in A).

E = sum_{i<j} k_e Z_i Z_j / r phi(r / a_ij) u(r),  a_ij = 0.46850 / (Z_i^0.23 + Z_j^0.23),
phi(x) = 0.18175 e^(-3.19980 x) + 0.50986 e^(-0.94229 x) + 0.28022 e^(-0.40290 x) + 0.02817 e^(-0.20162 x)
(J. F. Ziegler, J. P. Biersack, U. Littmark, The Stopping and Range of Ions in Solids, 1985), with u
the model's polynomial envelope at the message-passing cutoff. It dominates below ~1 A (Li-O at
1.0 A: ~260 kcal/mol) and is small at bonding distances, where the network learns the difference
to the labels; without it a model trained on near-equilibrium data can let atoms collapse in MD.
"""

from __future__ import annotations

import torch
from torch import nn

from elyte.units import COULOMB_KCAL_ANGSTROM
from mlff.model.radial import PolynomialEnvelope

SCREENING_LENGTH = 0.46850  # A
COEFFICIENTS = (0.18175, 0.50986, 0.28022, 0.02817)
EXPONENTS = (3.19980, 0.94229, 0.40290, 0.20162)


class ZBLRepulsion(nn.Module):
    """Repulsion energy per structure from the short-range edges (both directions, each pair twice)."""

    def __init__(self, elements: list[int], cutoff: float, envelope_exponent: int):
        super().__init__()
        self.register_buffer("z", torch.tensor(elements, dtype=torch.float64), persistent=False)
        self.envelope = PolynomialEnvelope(cutoff, envelope_exponent)

    def forward(
        self, species: torch.Tensor, edge_index: torch.Tensor, r: torch.Tensor, batch: torch.Tensor, n_structures: int
    ) -> torch.Tensor:
        zi, zj = self.z.to(r.dtype)[species[edge_index[0]]], self.z.to(r.dtype)[species[edge_index[1]]]
        x = r * (zi**0.23 + zj**0.23) / SCREENING_LENGTH
        phi = sum(c * torch.exp(-b * x) for c, b in zip(COEFFICIENTS, EXPONENTS))
        pair = COULOMB_KCAL_ANGSTROM * zi * zj / r * phi * self.envelope(r)
        return r.new_zeros(n_structures).index_add_(0, batch[edge_index[0]], 0.5 * pair)
