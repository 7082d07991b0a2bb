"""Choice of the edge-message kernel of :class:`mlff.model.layers.Interaction`.

``fused``: the compiled custom op ``elyte::edge_messages`` (csrc/torch_ops/edge_messages_cpu.cpp),
one pass over the edges per layer and a hand-written backward, with no per-edge temporaries.
``reference``: the pure-torch blocks of ``Interaction._block`` (the oracle the op is tested
against). The op has a first derivative only, so training with force losses (which differentiates
forces) needs the reference; ``auto`` therefore takes the fused op for a model in eval mode on a
device the op serves, the reference otherwise. ``ELYTE_MESSAGE_KERNEL`` or :func:`set_kernel`
forces one (debugging).
"""

from __future__ import annotations

import os

import torch

from elyte import native

KERNELS = ("auto", "fused", "reference")
_kernel = os.environ.get("ELYTE_MESSAGE_KERNEL", "auto")


def set_kernel(name: str) -> None:
    """Select 'auto', 'fused' or 'reference' for every Interaction of the process."""
    global _kernel
    if name not in KERNELS:
        raise ValueError(f"message kernel must be one of {KERNELS}, got {name!r}")
    _kernel = name


def _register() -> frozenset[str]:
    """Fake kernels and autograd of the compiled op; the device types it serves (none without the library)."""
    if not native.available():
        return frozenset()

    @torch.library.register_fake("elyte::edge_messages")
    def _fake(nodes, edge_index, u, radial, lmax):
        forms, outputs = (4, 4) if lmax == 1 else (9, 13)  # per feature: radial forms in, components out
        return nodes.new_empty((nodes.shape[0], outputs * (radial.shape[1] // forms)))

    @torch.library.register_fake("elyte::edge_messages_backward")
    def _fake_backward(grad_out, nodes, edge_index, u, radial, lmax):
        return torch.empty_like(nodes), torch.empty_like(u), torch.empty_like(radial)

    def setup_context(ctx, inputs, output):
        nodes, edge_index, u, radial, lmax = inputs
        ctx.save_for_backward(nodes, edge_index, u, radial)
        ctx.lmax = lmax

    def backward(ctx, grad_out):
        nodes, edge_index, u, radial = ctx.saved_tensors
        grad_nodes, grad_u, grad_radial = torch.ops.elyte.edge_messages_backward(
            grad_out.contiguous(), nodes, edge_index, u, radial, ctx.lmax)
        return grad_nodes, None, grad_u, grad_radial, None

    torch.library.register_autograd("elyte::edge_messages", backward, setup_context=setup_context)
    return frozenset(device for device, key in (("cpu", "CPU"), ("cuda", "CUDA"))
                     if torch._C._dispatch_has_kernel_for_dispatch_key("elyte::edge_messages", key))


DEVICES = _register()


def use_fused(nodes: torch.Tensor, training: bool) -> bool:
    """Whether an Interaction evaluates its messages with the compiled op (see the module docstring)."""
    if _kernel == "reference":
        return False
    if nodes.device.type not in DEVICES:
        if _kernel == "fused":
            raise RuntimeError(f"the fused message op has no kernel for {nodes.device.type} "
                               f"(available: {sorted(DEVICES) or 'none: the library is not built'})")
        return False
    return _kernel == "fused" or not training


def edge_messages(nodes: torch.Tensor, edge_index: torch.Tensor, u: torch.Tensor, radial: torch.Tensor,
                  lmax: int) -> torch.Tensor:
    """Messages summed into the receivers [N, (1 + 3 (+ 9)) F] (the compiled op; see ``Interaction._block``)."""
    return torch.ops.elyte.edge_messages(nodes, edge_index, u, radial, lmax)
