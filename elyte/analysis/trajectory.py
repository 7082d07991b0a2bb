"""Trajectory preparation for transport analysis: unwrapping, molecule centres, drift removal.

Arrays: positions [T, N, 3] in Angstrom (T frames, N atoms); cells [3, 3] (constant) or
[T, 3, 3] (NPT), lattice vectors as rows (as ``elyte.neighbors`` and mdtraj's
``unitcell_vectors`` x 10); masses [N] in amu; ``molecule_index`` [N] ints, one molecule id per atom
(0..M-1).

>>> wrapped, cells, dt_fs, molecule_index = arrays_from_mdtraj(md.load("traj.dcd", top="top.pdb"))
>>> u = unwrap(wrapped, cells, molecule_index)        # continuous, molecules whole
>>> u = remove_com_drift(u, masses)                    # barycentric frame
>>> com = molecule_centers(u, masses, molecule_index)  # [T, M, 3]

Unwrapping follows von Buelow, Bullerjahn and Hummer (J. Chem. Phys. 2020): each frame-to-frame
displacement of the wrapped coordinates is reduced to its minimum image in the *new* cell and the
reduced steps are summed. Adding image counts times the current box ("toroidal" unwrapping) instead
lets box fluctuations in NPT inflate the MSD of particles far from the origin, biasing D upward.
The scheme assumes no atom moves more than half a box width between frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from elyte.units import NM_TO_ANGSTROM, PS_TO_FS

if TYPE_CHECKING:
    import mdtraj


def _cells_for(positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Cells as [T, 3, 3] matching ``positions`` [T, N, 3]."""
    cells = np.asarray(cells, dtype=float)
    if cells.shape == (3, 3):
        return np.broadcast_to(cells, (positions.shape[0], 3, 3))
    if cells.shape != (positions.shape[0], 3, 3):
        raise ValueError(
            f"cells must be [3, 3] or [T, 3, 3] with T = {positions.shape[0]} frames, got {cells.shape}"
        )
    return cells


def _check_positions(positions: np.ndarray) -> np.ndarray:
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must be [T frames, N atoms, 3] (Angstrom), got {positions.shape}")
    return positions


def cell_volumes(cells: np.ndarray) -> np.ndarray:
    """Volumes (A^3) of cells [T, 3, 3] or [3, 3] (a 0-d array for one cell)."""
    return np.abs(np.linalg.det(np.asarray(cells, dtype=float)))


def minimum_image(vectors: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Each vector [..., 3] (A) reduced by whole lattice vectors to fractional components in
    [-1/2, 1/2) of its cell; ``cells`` broadcast against the leading axes ([3, 3] or [T, 3, 3] with
    vectors [T, N, 3]). Exactly the shortest image in orthorhombic cells; in triclinic cells it is
    within the Wigner-Seitz cell for vectors shorter than half the smallest cell width."""
    cells = np.asarray(cells, dtype=float)
    shift = np.floor(vectors @ np.linalg.inv(cells) + 0.5)  # matmul broadcasts [T, N, 3] @ [T, 3, 3]
    return vectors - shift @ cells


def make_whole(positions: np.ndarray, cell: np.ndarray, molecule_index: np.ndarray) -> np.ndarray:
    """One frame [N, 3] (A) with every atom moved to the image nearest its molecule's first atom, so
    no molecule is split across the cell boundary (molecules must be smaller than half a box)."""
    positions = np.asarray(positions, dtype=float)
    molecule_index = _check_molecules(molecule_index, len(positions))
    first = np.full(molecule_index.max() + 1, -1)
    order = np.arange(len(positions))[::-1]
    first[molecule_index[order]] = order  # the lowest atom index of each molecule wins
    anchor = positions[first[molecule_index]]
    return anchor + minimum_image(positions - anchor, cell)


def unwrap(positions: np.ndarray, cells: np.ndarray, molecule_index: np.ndarray | None = None) -> np.ndarray:
    """Continuous trajectory [T, N, 3] (A) from wrapped positions [T, N, 3] and cells.

    Frame 0 is kept (made whole per molecule if ``molecule_index`` is given, which then stays true
    in every frame); each later step is the minimum image of the wrapped step in the new cell.
    """
    positions = _check_positions(positions)
    cells = _cells_for(positions, cells)
    steps = minimum_image(np.diff(positions, axis=0), cells[1:])
    start = positions[0] if molecule_index is None else make_whole(positions[0], cells[0], molecule_index)
    out = np.empty_like(positions)
    out[0] = start
    np.cumsum(steps, axis=0, out=out[1:])
    out[1:] += start
    return out


def _check_molecules(molecule_index: np.ndarray, n_atoms: int) -> np.ndarray:
    molecule_index = np.asarray(molecule_index)
    if molecule_index.shape != (n_atoms,) or not np.issubdtype(molecule_index.dtype, np.integer):
        raise ValueError(f"molecule_index must be [N = {n_atoms}] integers (one molecule id per atom)")
    if molecule_index.min() < 0 or len(np.unique(molecule_index)) != molecule_index.max() + 1:
        raise ValueError("molecule ids must be 0..M-1 with every id used (renumber them)")
    return molecule_index


def molecule_centers(positions: np.ndarray, masses_amu: np.ndarray, molecule_index: np.ndarray) -> np.ndarray:
    """Centres of mass [T, M, 3] (A) of the M molecules from unwrapped, whole positions [T, N, 3]."""
    positions = _check_positions(positions)
    masses_amu = np.asarray(masses_amu, dtype=float)
    if masses_amu.shape != (positions.shape[1],):
        raise ValueError(f"masses must be [N = {positions.shape[1]}] (amu), got {masses_amu.shape}")
    molecule_index = _check_molecules(molecule_index, positions.shape[1])
    order = np.argsort(molecule_index, kind="stable")
    starts = np.searchsorted(molecule_index[order], np.arange(molecule_index.max() + 1))
    weighted = positions[:, order] * masses_amu[order, None]
    totals = np.add.reduceat(masses_amu[order], starts)
    return np.add.reduceat(weighted, starts, axis=1) / totals[None, :, None]


def remove_com_drift(positions: np.ndarray, masses_amu: np.ndarray) -> np.ndarray:
    """Unwrapped positions [T, N, 3] (A) shifted per frame so the system's centre of mass stays at its
    frame-0 place (the barycentric frame in which Onsager coefficients are defined)."""
    positions = _check_positions(positions)
    masses_amu = np.asarray(masses_amu, dtype=float)
    com = np.einsum("tnk,n->tk", positions, masses_amu) / masses_amu.sum()
    return positions - (com - com[0])[:, None, :]


def arrays_from_mdtraj(traj: mdtraj.Trajectory) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Positions [T, N, 3] (A), cells [T, 3, 3] (A, rows), frame spacing (fs) and molecule ids [N]
    (bonded molecules of the topology, numbered in order of their first atom) from an mdtraj
    trajectory (nm, ps)."""
    if traj.unitcell_vectors is None:
        raise ValueError("the trajectory has no unit cell: load it from a format that stores the box (DCD, XTC)")
    if traj.n_frames < 2:
        raise ValueError("need at least 2 frames to know the frame spacing")
    molecule_index = np.empty(traj.n_atoms, dtype=int)
    molecules = sorted(traj.topology.find_molecules(), key=lambda m: min(a.index for a in m))
    for k, molecule in enumerate(molecules):
        molecule_index[[a.index for a in molecule]] = k
    return (
        traj.xyz.astype(float) * NM_TO_ANGSTROM,
        traj.unitcell_vectors.astype(float) * NM_TO_ANGSTROM,
        float(traj.timestep) * PS_TO_FS,
        molecule_index,
    )
