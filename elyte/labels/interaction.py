"""Interaction energies of dimers and clusters: the supermolecule minus its fragments.

``E_int = E(AB...) - sum_k E(k)`` with each fragment at its geometry inside the complex (no
relaxation term). With ``counterpoise=True`` each fragment is computed in the full basis of the
complex (ghost atoms, Boys-Bernardi), which needs a backend with ghost atoms (pyscf).
"""

from __future__ import annotations

import numpy as np

from elyte.labels.engines.base import Backend
from elyte.labels.structure import QMStructure


def fragment_energies(backend: Backend, structure: QMStructure, counterpoise: bool = False) -> np.ndarray:
    """Energy (kcal/mol) of each fragment of ``structure`` alone (or in the complex basis)."""
    if structure.fragments is None:
        raise ValueError("an interaction energy needs fragments: give each atom a fragment index")
    n_frag = int(structure.fragments.max()) + 1
    return np.array([float(backend.compute(structure.fragment(k, ghosts=counterpoise), ["energy"])["energy"])
                     for k in range(n_frag)])


def interaction_energy(backend: Backend, structure: QMStructure, total_energy: float | None = None,
                       counterpoise: bool = False) -> float:
    """Supermolecule energy minus fragment energies (kcal/mol); ``total_energy`` reuses a known E(AB...)."""
    if total_energy is None:
        total_energy = float(backend.compute(structure, ["energy"])["energy"])
    return total_energy - float(fragment_energies(backend, structure, counterpoise).sum())
