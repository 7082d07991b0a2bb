"""Short-range nuclear repulsion: the Ziegler-Biersack-Littmark (ZBL) universal screened Coulomb
potential between nuclei, a physical wall where training data are thin (energies in kcal/mol,
lengths in A).

E = sum_{i<j} k_e Z_i Z_j / r phi(r / a_ij) u(r),  a_ij = 0.46850 / (Z_i^0.23 + Z_j^0.23),
phi(x) = 0.18175 e^(-3.19980 x) + 0.50986 e^(-0.94229 x) + 0.28022 e^(-0.40290 x) + 0.02817 e^(-0.20162 x)
(J. F. Ziegler, J. P. Biersack, U. Littmark, The Stopping and Range of Ions in Solids, 1985), with u
the model's polynomial envelope at each pair's reach r_c,ij: the message-passing cutoff (the default),
or s (R_i + R_j) with the covalent radii R and ``covalent_scale`` s (the reach of MACE's ZBL term at
s = 1). It dominates below ~1 A (Li-O at 1.0 A: ~260 kcal/mol; ~210 within the covalent reach of
1.94 A); without it a model trained on near-equilibrium data can let atoms collapse in MD. The
cutoff-wide envelope keeps a wall at 1-1.5 A intermolecular contacts (O-H at 1.2 A: ~60 kcal/mol)
that the covalent reach drops, but its slowest exponential leaves 1-3 kcal/mol per pair at 2.5-3.5 A
(O-H at 2.5 A: 2.5, C-O at 3.2 A: 1.3), ~+1,000 kcal/mol over the contacts of a 354-atom
LiPF6 / EC / DMC liquid, which the network has to cancel.
"""

from __future__ import annotations

import torch
from torch import nn

from elyte.elements import covalent_radius
from elyte.units import COULOMB_KCAL_ANGSTROM
from mlff.model.radial import polynomial_envelope

SCREENING_LENGTH = 0.46850  # A
COEFFICIENTS = (0.18175, 0.50986, 0.28022, 0.02817)
EXPONENTS = (3.19980, 0.94229, 0.40290, 0.20162)


class ZBLRepulsion(nn.Module):
    """Repulsion energy per structure from the short-range edges (both directions, each pair twice)."""

    def __init__(self, elements: list[int], cutoff: float, envelope_exponent: int,
                 covalent_scale: float | None = None):
        super().__init__()
        self.register_buffer("z", torch.tensor(elements, dtype=torch.float64), persistent=False)
        # each element's half of a pair's reach (A): r_c,ij = reach_i + reach_j
        reach = [covalent_scale * covalent_radius(z) if covalent_scale is not None else cutoff / 2 for z in elements]
        self.register_buffer("reach", torch.tensor(reach, dtype=torch.float64), persistent=False)
        self.p = envelope_exponent

    def forward(
        self, species: torch.Tensor, edge_index: torch.Tensor, r: torch.Tensor, batch: torch.Tensor, n_structures: int
    ) -> torch.Tensor:
        si, sj = species[edge_index[0]], species[edge_index[1]]
        zi, zj = self.z.to(r.dtype)[si], self.z.to(r.dtype)[sj]
        x = r * (zi**0.23 + zj**0.23) / SCREENING_LENGTH
        phi = sum(c * torch.exp(-b * x) for c, b in zip(COEFFICIENTS, EXPONENTS))
        reach = self.reach.to(r.dtype)
        pair = COULOMB_KCAL_ANGSTROM * zi * zj / r * phi * polynomial_envelope(r / (reach[si] + reach[sj]), self.p)
        return r.new_zeros(n_structures).index_add_(0, batch[edge_index[0]], 0.5 * pair)
