"""E(3)-equivariant message passing on Cartesian features up to rank 2.

Each atom carries F channels of scalars s [N, F], vectors v [N, 3, F] (l = 1) and, with lmax = 2,
traceless symmetric matrices t [N, 3, 3, F] (l = 2). Under a rotation or reflection R, v -> R v and
t -> R t R^T; every operation below is built from the unit edge vector u, contractions and
per-channel products with invariant coefficients, so it commutes with R. No cross product appears,
so reflections are respected too (E(3), not only SE(3)).

Edges are directed pairs (i, j) with u = (x_j - x_i) / r; messages from j are summed into i.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from mlff.model import messages

EPS = 1e-8  # inside square roots of squared norms: keeps gradients finite at zero features
EDGE_CHUNK = 16384  # edges per block: bounds the per-edge temporaries (a few tens of MB at F = 64)


def symmetric_traceless(m: torch.Tensor) -> torch.Tensor:
    """(m + m^T) / 2 - tr(m) I / 3 of matrices m [N, 3, 3, F] (the l = 2 part of a rank-2 tensor)."""
    trace = m.diagonal(dim1=1, dim2=2).sum(dim=-1)
    eye = torch.eye(3, dtype=m.dtype, device=m.device)
    return 0.5 * (m + m.transpose(1, 2)) - trace[:, None, None, :] * eye[None, :, :, None] / 3.0


class Interaction(nn.Module):
    """Messages m_i = sum_j phi_k(r_ij) w_k(s_j) B_k(u_ij, v_j, t_j) over the equivariant bilinear
    forms B_k of each output rank; phi_k is linear in the enveloped radial basis (no bias: messages
    vanish smoothly at the cutoff).

    The channel maps w_k act per atom before the gather; the edges are processed in blocks of
    ``edge_chunk`` that are each gathered, contracted with u and summed into the receivers at once,
    so no [E, 3, 3, F] tensor lives longer than one block. With gradients on, each block is
    checkpointed (recomputed in the backward pass), so autograd keeps O(N F + E) memory, not O(E F).
    """

    def __init__(self, features: int, n_radial: int, lmax: int, avg_num_neighbors: float,
                 edge_chunk: int = EDGE_CHUNK):
        super().__init__()
        self.features, self.lmax, self.norm, self.edge_chunk = features, lmax, 1.0 / avg_num_neighbors, edge_chunk
        self.n_forms = 4 if lmax == 1 else 9
        self.radial = nn.Linear(n_radial, self.n_forms * features, bias=False)
        self.scalar = nn.Sequential(nn.Linear(features, features), nn.SiLU(),
                                    nn.Linear(features, self.n_forms * features))

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, t: torch.Tensor | None, edge_index: torch.Tensor,
        u: torch.Tensor, radial: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        n, f = s.shape
        parts = [self.scalar(s), v.reshape(n, 3 * f)] + ([t.reshape(n, 9 * f)] if t is not None else [])
        nodes = torch.cat(parts, dim=1)
        if messages.use_fused(nodes, self.training):
            summed = messages.edge_messages(nodes, edge_index, u, self.radial(radial), self.lmax)
        else:
            summed = self._blocks(nodes, edge_index, u, radial)
        summed = summed * self.norm
        ds, dv = summed[:, :f], summed[:, f:4 * f].reshape(n, 3, f)
        dt = symmetric_traceless(summed[:, 4 * f:].reshape(n, 3, 3, f)) if t is not None else None
        return ds, dv, dt

    def _blocks(self, nodes: torch.Tensor, edge_index: torch.Tensor, u: torch.Tensor, radial: torch.Tensor
                ) -> torch.Tensor:
        """The pure-torch messages summed into the receivers, in checkpointed blocks of edges."""
        n_edges = edge_index.shape[1]
        # chunks need a concrete edge count: not under torch.compile or symbolic tracing (mlff.deploy)
        chunked = isinstance(n_edges, int) and not torch.compiler.is_compiling() and n_edges > self.edge_chunk
        if not chunked:
            return self._block(nodes, edge_index, u, radial)
        summed = None
        for start in range(0, n_edges, self.edge_chunk):
            block = slice(start, start + self.edge_chunk)
            args = (nodes, edge_index[:, block], u[block], radial[block])
            part = checkpoint(self._block, *args, use_reentrant=False) if torch.is_grad_enabled() \
                else self._block(*args)
            summed = part if summed is None else summed + part
        return summed

    def _block(self, nodes: torch.Tensor, edge_index: torch.Tensor, u: torch.Tensor, radial: torch.Tensor
               ) -> torch.Tensor:
        """Sum over the edges given of the messages [N, (1 + 3 (+ 9)) F] (before normalization)."""
        f, k = self.features, self.n_forms
        i, j = edge_index[0], edge_index[1]
        gathered = nodes.index_select(0, j)
        e = gathered.shape[0]
        # split / unbind (not slicing): their backward concatenates instead of zero-filling full copies
        pieces = gathered.split([k * f, 3 * f, 9 * f] if self.lmax == 2 else [k * f, 3 * f], dim=1)
        c = (self.radial(radial) * pieces[0]).view(e, k, f).unbind(dim=1)
        vj = pieces[1].view(e, 3, f)
        uu = u[:, :, None]
        ds = c[0] + c[1] * (vj * uu).sum(dim=1)
        dv = c[2][:, None] * uu + c[3][:, None] * vj
        messages = [ds, dv.reshape(e, 3 * f)]
        if self.lmax == 2:
            tj = pieces[2].view(e, 3, 3, f)
            t_u = (tj * u[:, None, :, None]).sum(dim=2)
            messages[0] = ds + c[4] * (t_u * uu).sum(dim=1)
            messages[1] = (dv + c[5][:, None] * t_u).reshape(e, 3 * f)
            # c6 (u u - I/3) + c8 st(v_j u) = st(w u) with w = c6 u + c8 v_j; the symmetric traceless
            # projection st is linear, so it is applied once per atom after the sum over edges
            w = c[6][:, None] * uu + c[8][:, None] * vj
            dt = w[:, :, None, :] * u[:, None, :, None] + c[7][:, None, None] * tj
            messages.append(dt.reshape(e, 9 * f))
        out = torch.cat(messages, dim=1)
        return out.new_zeros(nodes.shape[0], out.shape[1]).index_add_(0, i, out)


class Update(nn.Module):
    """Per-atom mixing: linear channel maps U, V of v and t (no bias), invariants |Vv|, |Vt|,
    <Uv, Vv>, <Ut, Vt> feed the scalars, and scalar gates scale Uv and Ut."""

    def __init__(self, features: int, lmax: int):
        super().__init__()
        self.features, self.lmax = features, lmax
        self.vector_u = nn.Linear(features, features, bias=False)
        self.vector_v = nn.Linear(features, features, bias=False)
        if lmax == 2:
            self.tensor_u = nn.Linear(features, features, bias=False)
            self.tensor_v = nn.Linear(features, features, bias=False)
        n_in, n_out = (2, 3) if lmax == 1 else (3, 5)
        self.mlp = nn.Sequential(nn.Linear(n_in * features, features), nn.SiLU(), nn.Linear(features, n_out * features))

    def forward(
        self, s: torch.Tensor, v: torch.Tensor, t: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        vu, vv = self.vector_u(v), self.vector_v(v)
        invariants = [s, torch.sqrt((vv * vv).sum(dim=1) + EPS)]
        if t is not None:
            tu, tv = self.tensor_u(t), self.tensor_v(t)
            invariants.append(torch.sqrt((tv * tv).sum(dim=(1, 2)) + EPS))
        a = self.mlp(torch.cat(invariants, dim=1)).split(self.features, dim=1)
        s = s + a[0] + a[1] * (vu * vv).sum(dim=1)
        v = v + a[2][:, None, :] * vu
        if t is not None:
            s = s + a[3] * (tu * tv).sum(dim=(1, 2))
            t = t + a[4][:, None, None, :] * tu
        return s, v, t
