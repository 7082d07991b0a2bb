"""First solvation shells of cations: which molecules coordinate each cation, coordination numbers
by species and the distribution of shell compositions, each with an error.

>>> shells = first_shells(frames_a, cells_a, li_atoms, ligand_atoms, molecule_index, molecule_species)
>>> shells.coordination_numbers()     # {"EC": Estimate, "DMC": ..., "PF6-": ...}
>>> shells.composition_fractions()    # {"2 DMC + 2 EC": Estimate, "1 DMC + 3 EC": ..., ...}

A molecule is in a cation's first shell when any of its coordinating atoms (``ligand_atoms``, e.g. the
carbonyl and ether O of carbonates and the F of PF6-) lies within ``cutoff_a`` of the cation, by the
minimum-image distance in the (triclinic) cell, found with :func:`elyte.neighbors.neighbor_list`.
A bidentate molecule counts once. The default cutoff is the first minimum after the first peak of the
cation-ligand RDF (:func:`shell_cutoff_from_rdf`, :mod:`elyte.analysis.rdf`); an RDF whose first
"shell" holds under half a ligand atom per cation (no structure, e.g. noise at tiny r) raises.

Errors: per frame the coordination number of a species is averaged over cations, and the fraction of
cations with a composition is counted; these per-frame series are averaged over frames with the
standard error from their statistical inefficiency (:func:`mean_with_error`), which accounts for
shells that persist over many frames. Shells of different cations in one frame are not assumed
independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from elyte.analysis.rdf import radial_distribution
from elyte.analysis.statistics import Estimate, mean_with_error
from elyte.neighbors import neighbor_list


_MIN_SHELL_ATOMS = 0.5  # a "shell" holding fewer ligand atoms per cation is RDF noise, not structure


@dataclass(frozen=True)
class SolvationShells:
    """``counts`` [T, C, S]: molecules of each of the ``species`` in the first shell of each of the C
    cations in each of the T frames, for shell radius ``cutoff_a`` (A)."""

    species: list[str]
    counts: np.ndarray
    cutoff_a: float

    def coordination_numbers(self) -> dict[str, Estimate]:
        """Mean number of molecules of each species in a cation's first shell (molecules)."""
        per_frame = self.counts.mean(axis=1)  # [T, S]
        return {s: mean_with_error(per_frame[:, k], "molecules") for k, s in enumerate(self.species)}

    def composition_labels(self) -> np.ndarray:
        """[T, C] labels such as '2 DMC + 2 EC' (species in ``species`` order; 'empty' for none)."""
        flat = self.counts.reshape(-1, len(self.species))
        unique, inverse = np.unique(flat, axis=0, return_inverse=True)
        names = np.array([_label(row, self.species) for row in unique], dtype=object)
        return names[inverse.reshape(-1)].reshape(self.counts.shape[:2])

    def composition_fractions(self) -> dict[str, Estimate]:
        """Fraction of cations with each shell composition (most frequent first); fractions sum to 1."""
        labels = self.composition_labels()
        names, totals = np.unique(labels, return_counts=True)
        ordered = names[np.argsort(-totals, kind="stable")]
        return {str(n): mean_with_error((labels == n).mean(axis=1)) for n in ordered}


def _label(row: np.ndarray, species: Sequence[str]) -> str:
    parts = [f"{int(n)} {s}" for n, s in zip(row, species) if n > 0]
    return " + ".join(parts) if parts else "empty"


def _subset_frames(frames: np.ndarray, atoms: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(f[atoms]) for f in frames]


def shell_cutoff_from_rdf(
    frames_a: np.ndarray, cell_a: np.ndarray, cations: np.ndarray, ligand_atoms: np.ndarray, r_max_a: float = 6.0
) -> float:
    """First minimum (A) of the cation-ligand-atom RDF averaged over ``frames_a`` [T, N, 3] in the
    cell [3, 3] (A); ``r_max_a`` is capped at half the smallest cell width."""
    cell = np.asarray(cell_a, dtype=float)
    widths = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    atoms, inverse = np.unique(np.concatenate([cations, ligand_atoms]), return_inverse=True)
    rdf = radial_distribution(
        _subset_frames(np.asarray(frames_a, dtype=float), atoms),
        cell,
        inverse[: len(cations)],
        inverse[len(cations) :],
        r_max=min(r_max_a, 0.5 * widths.min() * (1 - 1e-9)),
    )
    shell = rdf.first_shell()
    if not np.isfinite(shell["min_r"]) or shell["cn"] < _MIN_SHELL_ATOMS:
        raise ValueError(
            f"no first solvation shell in the cation-ligand RDF (first minimum at {shell['min_r']:.2f} A holds "
            f"{shell['cn']:.2f} ligand atoms per cation): check the atom indices, or pass cutoff_a"
        )
    return float(shell["min_r"])


def first_shells(
    frames_a: np.ndarray,
    cells_a: np.ndarray,
    cations: np.ndarray,
    ligand_atoms: np.ndarray,
    molecule_index: np.ndarray,
    molecule_species: Sequence[str],
    cutoff_a: float | None = None,
) -> SolvationShells:
    """First-shell molecules of every cation in every frame.

    Args:
        frames_a: positions [T, N, 3] (A), wrapped or not.
        cells_a: [3, 3] or [T, 3, 3] lattice vectors as rows (A).
        cations: atom indices [C] of the shell centres (e.g. every Li).
        ligand_atoms: atom indices [L] of the coordinating atoms.
        molecule_index: [N] molecule id (0..M-1) of every atom.
        molecule_species: [M] species label of every molecule (e.g. 'EC', 'DMC', 'PF6-').
        cutoff_a: shell radius (A); default :func:`shell_cutoff_from_rdf` (cell of frame 0).
    """
    frames = np.asarray(frames_a, dtype=float)
    cells = np.asarray(cells_a, dtype=float)
    cells = np.repeat(cells[None], len(frames), axis=0) if cells.shape == (3, 3) else cells
    if frames.ndim != 3 or cells.shape != (len(frames), 3, 3):
        raise ValueError(f"need frames [T, N, 3] and cells [3, 3] or [T, 3, 3]; got {frames.shape}, {cells.shape}")
    cations, ligand_atoms = np.asarray(cations), np.asarray(ligand_atoms)
    molecule_index = np.asarray(molecule_index)
    labels = np.asarray(molecule_species)
    if molecule_index.shape != (frames.shape[1],) or labels.shape != (molecule_index.max() + 1,):
        raise ValueError("molecule_index needs one id per atom and molecule_species one label per molecule")
    if cutoff_a is None:
        cutoff_a = shell_cutoff_from_rdf(frames, cells[0], cations, ligand_atoms)
    species = list(dict.fromkeys(labels[molecule_index[ligand_atoms]].tolist()))
    species_of_molecule = np.array([species.index(s) if s in species else -1 for s in labels.tolist()])

    atoms, inverse = np.unique(np.concatenate([cations, ligand_atoms]), return_inverse=True)
    centre_slot = np.full(len(atoms), -1)  # cation number of each atom of the subset, -1 if none
    centre_slot[inverse[: len(cations)]] = np.arange(len(cations))
    is_ligand = np.zeros(len(atoms), bool)
    is_ligand[inverse[len(cations) :]] = True
    mol = molecule_index[atoms]
    counts = np.zeros((len(frames), len(cations), len(species)), dtype=int)
    for t, positions in enumerate(_subset_frames(frames, atoms)):
        centre, molecule = _shell_members(positions, cells[t], cutoff_a, centre_slot, is_ligand, mol)
        np.add.at(counts[t], (centre, species_of_molecule[molecule]), 1)
    return SolvationShells(species, counts, float(cutoff_a))


def _shell_members(
    positions: np.ndarray,
    cell: np.ndarray,
    cutoff_a: float,
    centre_slot: np.ndarray,
    is_ligand: np.ndarray,
    mol: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(cation number, molecule id) of every distinct cation-molecule contact in one frame."""
    pairs, _ = neighbor_list(torch.as_tensor(positions), cutoff_a, torch.as_tensor(cell))
    i, j = pairs.numpy()
    a, b = np.concatenate([i, j]), np.concatenate([j, i])  # both directions: the cation may be either
    keep = (centre_slot[a] >= 0) & is_ligand[b] & (mol[a] != mol[b])
    contacts = np.unique(np.stack([centre_slot[a[keep]], mol[b[keep]]]), axis=1)  # bidentate counted once
    return contacts[0], contacts[1]
