"""Public neighbour-list API: validation, backend choice (compiled op or pure torch) and helpers."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from elyte import native
from elyte.neighbors.reference import neighbor_pairs_reference
from elyte.neighbors.validate import check_inputs

BACKENDS = ("auto", "native", "torch")


def _register_native() -> tuple[object | None, frozenset[str]]:
    """The compiled op (with its fake kernel for torch.compile) and the device types it serves."""
    if not native.available():
        return None, frozenset()

    @torch.library.register_fake("elyte::neighbor_pairs")
    def _fake(positions, cell, pbc, cutoff):
        n_pairs = torch.library.get_ctx().new_dynamic_size()
        return (
            positions.new_empty((2, n_pairs), dtype=torch.long),
            positions.new_empty((n_pairs, 3), dtype=torch.long),
        )

    devices = frozenset(
        device
        for device, key in (("cpu", "CPU"), ("cuda", "CUDA"))
        if torch._C._dispatch_has_kernel_for_dispatch_key("elyte::neighbor_pairs", key)
    )
    return torch.ops.elyte.neighbor_pairs.default, devices


# Resolved once at import so that torch.compile traces a plain attribute lookup.
NATIVE_OP, NATIVE_DEVICES = _register_native()


def _normalize_pbc(pbc: bool | Sequence[bool] | None, cell: torch.Tensor | None) -> tuple[bool, bool, bool]:
    if pbc is None:
        pbc = cell is not None
    if isinstance(pbc, (bool, int)):
        return (bool(pbc),) * 3
    values = tuple(bool(p) for p in pbc)
    if len(values) != 3:
        raise ValueError(f"pbc must be a bool or three bools, got {pbc!r}")
    return values  # type: ignore[return-value]


def neighbor_list(
    positions: torch.Tensor,
    cutoff: float,
    cell: torch.Tensor | None = None,
    pbc: bool | Sequence[bool] | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs i < j closer than ``cutoff``, O(N) by a cell list.

    Args:
        positions: [N, 3] Cartesian positions in Angstrom (float32 or float64, CPU or CUDA).
        cutoff: pair cutoff in Angstrom; periodic axes need cutoff <= half the box width.
        cell: [3, 3] lattice vectors as rows (Angstrom), orthorhombic or triclinic; ``None`` for
            a cluster.
        pbc: periodicity per axis (or one bool); default: periodic when a cell is given.
        backend: 'auto' (compiled op when available for the device, else torch), 'native', 'torch'.

    Returns:
        pairs [2, P] int64 grouped by ascending i (the compiled op keeps a deterministic cell-list
        order within a group, the torch backend sorts by j) and integer lattice shifts [P, 3] int64 such that
        the pair vector is ``positions[j] - positions[i] + shifts @ cell`` (:func:`pair_vectors`).

    Raises:
        NeighborListError: NaN positions, a periodic search without a cell, a zero-volume cell, or
            a cutoff larger than the box allows.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    periodic = _normalize_pbc(pbc, cell)
    if cell is None:
        if any(periodic):
            raise ValueError(
                "a periodic neighbour list needs a cell: pass cell=[3, 3] lattice vectors (Angstrom) "
                "or pbc=False for a cluster"
            )
        cell = torch.eye(3, dtype=positions.dtype, device=positions.device)
    elif not any(periodic):
        cell = torch.eye(3, dtype=positions.dtype, device=positions.device)
    cell = cell.to(device=positions.device)
    check_inputs(positions, cell, periodic, float(cutoff), check_values=not torch.compiler.is_compiling())

    if backend == "native" and positions.device.type not in NATIVE_DEVICES:
        raise RuntimeError(
            f"the compiled neighbour list has no kernel for {positions.device.type} "
            f"(available: {sorted(NATIVE_DEVICES) or 'none: the library is not built'}); use backend='torch'"
        )
    if backend != "torch" and positions.device.type in NATIVE_DEVICES:
        return NATIVE_OP(positions, cell, list(periodic), float(cutoff))
    return neighbor_pairs_reference(positions, cell, periodic, float(cutoff))


def pair_vectors(
    positions: torch.Tensor, cell: torch.Tensor | None, pairs: torch.Tensor, shifts: torch.Tensor
) -> torch.Tensor:
    """Vectors x_j - x_i + shift @ cell (Angstrom) for each pair; differentiable in positions and cell."""
    vectors = positions[pairs[1]] - positions[pairs[0]]
    if cell is not None:
        vectors = vectors + shifts.to(positions.dtype) @ cell.to(positions.dtype)
    return vectors


def full_list(pairs: torch.Tensor, shifts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both directions of a half list: (i, j, s) and (j, i, -s), as message passing needs."""
    return torch.cat([pairs, pairs.flip(0)], dim=1), torch.cat([shifts, -shifts], dim=0)
