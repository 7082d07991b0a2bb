"""Per-element reference energies by least squares: E_structure ~ sum_atoms E_ref[Z] (kcal/mol)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from mlff.data.structure import Structure


def composition_matrix(structures: Sequence[Structure], elements: Sequence[int]) -> np.ndarray:
    """Counts [n_structures, n_elements] of each element (atomic numbers ``elements``) per structure."""
    column = {z: k for k, z in enumerate(elements)}
    counts = np.zeros((len(structures), len(elements)))
    for row, structure in enumerate(structures):
        unknown = sorted(set(structure.numbers.tolist()) - column.keys())
        if unknown:
            raise ValueError(f"{structure.source or 'a structure'} holds elements {unknown} outside {list(elements)}")
        np.add.at(counts[row], [column[z] for z in structure.numbers.tolist()], 1.0)
    return counts


def fit_reference_energies(structures: Iterable[Structure], elements: Sequence[int] | None = None) -> dict[int, float]:
    """Least-squares per-element energies (kcal/mol) so that sum_i E_ref[Z_i] best fits the energy
    labels. Elements that never appear in a labelled structure cannot be fitted and raise."""
    labelled = [s for s in structures if s.energy is not None]
    if not labelled:
        raise ValueError("no structure has an energy label: reference energies need energies")
    present = sorted({int(z) for s in labelled for z in s.numbers})
    elements = present if elements is None else [int(z) for z in elements]
    absent = sorted(set(elements) - set(present))
    if absent:
        raise ValueError(f"elements {absent} appear in no labelled structure; their reference energies are undefined")
    counts = composition_matrix(labelled, elements)
    energies = np.array([s.energy for s in labelled])
    # minimum-norm solution when compositions are collinear (e.g. one molecule type only)
    solution, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return {z: float(e) for z, e in zip(elements, solution)}
