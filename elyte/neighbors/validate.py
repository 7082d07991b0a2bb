"""Input checks for the neighbour list, with messages that say what to change."""

from __future__ import annotations

import torch


class NeighborListError(ValueError):
    """Inputs to a neighbour-list search that cannot give a correct answer."""


MIN_VOLUME = 1e-6  # Angstrom^3; below this a cell is treated as degenerate


def cell_widths(cell: torch.Tensor) -> torch.Tensor:
    """Perpendicular widths (Angstrom) of a cell whose rows are the lattice vectors."""
    cell = cell.double()
    volume = torch.linalg.det(cell).abs()
    faces = torch.stack(
        [torch.linalg.cross(cell[1], cell[2]), torch.linalg.cross(cell[2], cell[0]), torch.linalg.cross(cell[0], cell[1])]
    )
    return volume / faces.norm(dim=1)


def check_inputs(
    positions: torch.Tensor, cell: torch.Tensor, pbc: tuple[bool, bool, bool], cutoff: float, check_values: bool
) -> None:
    """Raise :class:`NeighborListError` for inputs the search cannot handle.

    ``check_values`` enables the checks that read tensor values (NaN, volume, widths); they are
    skipped while ``torch.compile`` traces.
    """
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise NeighborListError(f"positions must have shape [N, 3], got {tuple(positions.shape)}")
    if not positions.is_floating_point():
        raise NeighborListError(f"positions must be floating point (Angstrom), got {positions.dtype}")
    if tuple(cell.shape) != (3, 3):
        raise NeighborListError(f"cell must have shape [3, 3] (rows = lattice vectors), got {tuple(cell.shape)}")
    if not (cutoff > 0.0 and cutoff < float("inf")):
        raise NeighborListError(f"cutoff must be a positive finite distance in Angstrom, got {cutoff}")
    if not check_values:
        return
    bad = (~torch.isfinite(positions)).any(dim=1).nonzero().flatten()
    if bad.numel():
        raise NeighborListError(
            f"positions of {bad.numel()} atom(s) are NaN or infinite (first: {bad[:10].tolist()}); "
            "the structure is corrupt or the simulation has blown up"
        )
    if not any(pbc):
        return
    if not torch.isfinite(cell).all():
        raise NeighborListError("cell contains NaN or infinite values")
    volume = float(torch.linalg.det(cell.double()).abs())
    if volume < MIN_VOLUME:
        raise NeighborListError(
            f"cell has zero volume ({volume:.3g} A^3): its three vectors must be linearly independent "
            "(for a slab or wire give the non-periodic direction a vector too and set pbc for it False)"
        )
    widths = cell_widths(cell)
    for axis, periodic in enumerate(pbc):
        if periodic and cutoff > 0.5 * float(widths[axis]):
            raise NeighborListError(
                f"cutoff {cutoff:g} A is larger than half the periodic box width along axis {'abc'[axis]} "
                f"({float(widths[axis]):.4g} A); the minimum-image convention needs cutoff <= "
                f"{0.5 * float(widths[axis]):.4g} A: replicate the cell (a supercell) or use a smaller cutoff "
                "(are the positions and cell in Angstrom?)"
            )
