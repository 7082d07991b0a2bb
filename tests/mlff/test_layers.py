"""The blocked, checkpointed message passing against a direct per-edge reference of the same
formula: values, gradients (forces) and second derivatives (force training) agree."""

from __future__ import annotations

import pytest
import torch

from mlff.model.layers import Interaction, symmetric_traceless


def reference_messages(layer: Interaction, s, v, t, edge_index, u, radial):
    """m_i = sum_j phi_k(r_ij) w_k(s_j) B_k(u_ij, v_j, t_j), written out per edge and per form."""
    i, j = edge_index
    c = (layer.radial(radial) * layer.scalar(s)[j]).split(layer.features, dim=1)
    vj = v[j]
    uv = torch.einsum("ea,eaf->ef", u, vj)
    ds = c[0] + c[1] * uv
    dv = c[2][:, None] * u[:, :, None] + c[3][:, None] * vj
    dt = None
    if t is not None:
        tj = t[j]
        tu = torch.einsum("eabf,eb->eaf", tj, u)
        ds = ds + c[4] * torch.einsum("eaf,ea->ef", tu, u)
        dv = dv + c[5][:, None] * tu
        uu = torch.einsum("ea,eb->eab", u, u) - torch.eye(3, dtype=u.dtype) / 3.0
        vu = symmetric_traceless(torch.einsum("eaf,eb->eabf", vj, u))
        edge = c[6][:, None, None] * uu[..., None] + c[7][:, None, None] * tj + c[8][:, None, None] * vu
        dt = torch.zeros_like(t).index_add(0, i, edge) * layer.norm
    return (torch.zeros_like(s).index_add(0, i, ds) * layer.norm,
            torch.zeros_like(v).index_add(0, i, dv) * layer.norm, dt)


@pytest.mark.parametrize("lmax", [1, 2])
@pytest.mark.parametrize("edge_chunk", [5, 10000])
def test_blocked_interaction_matches_reference(lmax, edge_chunk):
    torch.manual_seed(0)
    n, f, n_edges = 7, 4, 23
    layer = Interaction(f, 3, lmax, avg_num_neighbors=3.0, edge_chunk=edge_chunk).double()
    s = torch.randn(n, f, dtype=torch.float64)
    v = torch.randn(n, 3, f, dtype=torch.float64)
    t = symmetric_traceless(torch.randn(n, 3, 3, f, dtype=torch.float64)) if lmax == 2 else None
    edge_index = torch.randint(0, n, (2, n_edges))
    vectors = torch.randn(n_edges, 3, dtype=torch.float64)
    radial = torch.randn(n_edges, 3, dtype=torch.float64)

    def derivatives(function):
        x = vectors.clone().requires_grad_(True)
        r = x.norm(dim=1, keepdim=True)
        out = [o for o in function(layer, s, v, t, edge_index, x / r, radial * r) if o is not None]
        energy = sum((o * o).sum() for o in out)
        (g,) = torch.autograd.grad(energy, x, create_graph=True)
        (h,) = torch.autograd.grad((g * g).sum(), x)
        return [o.detach() for o in out] + [g.detach(), h]

    got = derivatives(lambda layer, *a: layer(*a))
    want = derivatives(reference_messages)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
