"""The fused edge-message op (elyte::edge_messages) against the pure-torch reference blocks: values
and first derivatives, one and two threads, lmax 1 and 2; the whole model with either kernel;
the automatic choice; torch.compile."""

from __future__ import annotations

import pytest
import torch

from mlff.model import messages
from mlff.model.build import build_model
from mlff.model.layers import Interaction
from tests.mlff.random_structures import SMALL, batch_of, cluster, periodic

pytestmark = pytest.mark.skipif("cpu" not in messages.DEVICES, reason="the compiled ops are not built")


@pytest.fixture
def kernel():
    """Restores the automatic choice after a test that forces one."""
    yield messages.set_kernel
    messages.set_kernel("auto")


def _inputs(layer: Interaction, n_atoms: int, n_edges: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    width = (layer.n_forms + 3 + (9 if layer.lmax == 2 else 0)) * layer.features
    nodes = torch.randn(n_atoms, width, dtype=torch.float64, generator=generator, requires_grad=True)
    # receivers drawn with repeats, as in a neighbour list, and some atoms with no edge at all
    edge_index = torch.randint(0, n_atoms - 2, (2, n_edges), generator=generator)
    u = torch.nn.functional.normalize(torch.randn(n_edges, 3, dtype=torch.float64, generator=generator), dim=1)
    radial = torch.randn(n_edges, layer.radial.in_features, dtype=torch.float64, generator=generator)
    return nodes, edge_index, u.requires_grad_(True), radial.requires_grad_(True)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("lmax", [1, 2])
def test_fused_messages_equal_the_reference(lmax, threads):
    torch.manual_seed(lmax)
    layer = Interaction(6, 5, lmax, 7.0).double()
    nodes, edge_index, u, radial = _inputs(layer, 40, 5000 if threads == 2 else 300)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fused = messages.edge_messages(nodes, edge_index, u, layer.radial(radial), lmax)
        reference = layer._block(nodes, edge_index, u, radial)
        torch.testing.assert_close(fused, reference, rtol=1e-12, atol=1e-12)
        weights = torch.randn_like(reference)
        inputs = (nodes, u, radial, layer.radial.weight)
        for got, want in zip(torch.autograd.grad((fused * weights).sum(), inputs),
                             torch.autograd.grad((reference * weights).sum(), inputs)):
            torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11)
    finally:
        torch.set_num_threads(previous)


def test_fused_op_passes_torch_gradcheck():
    layer = Interaction(3, 2, 2, 3.0).double()
    nodes, edge_index, u, radial = _inputs(layer, 6, 20, seed=1)
    weights = layer.radial(radial).detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda n, uu, w: messages.edge_messages(n, edge_index, uu, w, 2),
                                    (nodes, u, weights))


@pytest.mark.parametrize("lmax", [1, 2])
def test_model_gives_the_same_energy_forces_and_stress_with_either_kernel(kernel, lmax):
    torch.manual_seed(0)
    model = build_model({**SMALL, "lmax": lmax}).double().eval()
    batch = batch_of([periodic(0), cluster(1)], model)
    results = []
    for name in ("fused", "reference"):
        kernel(name)
        out = model(batch, compute_stress=True)
        results.append({key: out[key].detach() for key in ("energy", "forces", "stress")})
    for key in results[0]:
        torch.testing.assert_close(results[0][key], results[1][key], rtol=1e-10, atol=1e-10)


def test_automatic_choice_trains_with_the_reference(kernel):
    """Force losses differentiate forces: the op's backward is not differentiable, so training mode
    takes the reference; eval mode the op; a forced choice overrides both."""
    nodes = torch.zeros(2, 2)
    assert messages.use_fused(nodes, training=False) and not messages.use_fused(nodes, training=True)
    kernel("reference")
    assert not messages.use_fused(nodes, training=False)
    kernel("fused")
    assert messages.use_fused(nodes, training=True)
    with pytest.raises(ValueError, match="message kernel must be one of"):
        kernel("fast")


@pytest.mark.slow
def test_fused_messages_compile_without_graph_breaks():
    torch.manual_seed(0)
    layer = Interaction(4, 3, 2, 5.0).double().eval()
    nodes, edge_index, u, radial = _inputs(layer, 12, 60)
    compiled = torch.compile(lambda *a: messages.edge_messages(*a, 2), fullgraph=True, dynamic=True)
    weights = layer.radial(radial)
    torch.testing.assert_close(compiled(nodes, edge_index, u, weights),
                               messages.edge_messages(nodes, edge_index, u, weights, 2))


@pytest.mark.gpu
@pytest.mark.parametrize("lmax", [1, 2])
def test_cuda_messages_equal_the_cpu_op(lmax):
    layer = Interaction(16, 5, lmax, 7.0).double()
    nodes, edge_index, u, radial = _inputs(layer, 200, 20000, seed=lmax)
    weights = layer.radial(radial).detach().requires_grad_(True)
    results = []
    for device in ("cpu", "cuda"):
        inputs = [x.detach().to(device).requires_grad_(x.requires_grad) for x in (nodes, u, weights)]
        out = messages.edge_messages(inputs[0], edge_index.to(device), inputs[1], inputs[2], lmax)
        results.append([out, *torch.autograd.grad((out * out).sum(), inputs)])
    for got, want in zip(results[1], results[0]):
        torch.testing.assert_close(got.cpu(), want, rtol=1e-10, atol=1e-10)
