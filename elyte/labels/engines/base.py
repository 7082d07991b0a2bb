"""The interface every QM backend implements, and the label vocabulary with units.

A backend turns a :class:`~elyte.labels.structure.QMStructure` and a set of requested label names
into a dict of labels in internal units. Labels (name: shape, unit):

- ``energy``: scalar, kcal/mol (total electronic energy, dispersion included)
- ``forces``: [N, 3], kcal/mol/A (minus the gradient)
- ``dipole``: [3], e*A, about the coordinate origin (origin-dependent for ions)
- ``charges_mulliken`` / ``charges_esp`` / ``charges_hirshfeld``: [N], e
- ``volume_ratios``: [N], Hirshfeld V_eff / V_free (comes with ``charges_hirshfeld``)
- ``polarizability``: [3, 3], A^3 (molecular, finite field)
- ``molecular_c6``: scalar, kcal/mol*A^6 (Casimir-Polder C6 between two copies of the structure, from
  its linear-response dynamic polarizability at imaginary frequencies; closed shells)
- ``atomic_polarizabilities``: [N], A^3 and ``c6``: [N], kcal/mol*A^6 (dftd4 atom-in-molecule
  static polarizabilities and homoatomic C6 coefficients)
- ``esp_points``: [M, 3], A and ``esp_values``: [M], kcal/mol/e (electrostatic potential)
- ``virial``: [3, 3], kcal/mol, ``-dE/d(strain)`` (periodic structures only; stress = -virial / volume)
- ``interaction_energy``: scalar, kcal/mol (structure minus its fragments; see ``interaction.py``)
- ``hessian``: [3N, 3N], kcal/mol/A^2 (central differences of the backend's forces)

``interaction_energy`` and ``hessian`` are derived from any backend's energies and forces
(:mod:`elyte.labels.compute`); the backend itself serves the others it lists in ``supported``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Collection
from typing import Protocol

import numpy as np

from elyte.errors import InputError
from elyte.labels.structure import QMStructure

# request name -> the labels it produces
REQUESTS = {
    "energy": ("energy",),
    "forces": ("forces",),
    "dipole": ("dipole",),
    "charges_mulliken": ("charges_mulliken",),
    "charges_esp": ("charges_esp",),
    "charges_hirshfeld": ("charges_hirshfeld", "volume_ratios"),
    "polarizability": ("polarizability",),
    "molecular_c6": ("molecular_c6",),
    "dftd4": ("atomic_polarizabilities", "c6"),
    "esp": ("esp_points", "esp_values"),
    "virial": ("virial",),
    "interaction_energy": ("interaction_energy",),
    "hessian": ("hessian",),
}
DERIVED = frozenset({"interaction_energy", "hessian"})


class BackendError(RuntimeError):
    """A calculation that failed (no SCF convergence, unsupported request, bad input)."""


def require(modules: Collection[str], backend: str) -> None:
    """Stop before any structure is labelled when a module ``backend`` needs is not installed (a run
    would otherwise record every structure as failed, and reruns skip failed structures)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(f"the {backend} backend needs {', '.join(missing)}, which this Python lacks: install the "
                         "QM extra, `ELYTE_EXTRAS=qm bash scripts/setup.sh` (or `pip install -e '.[qm]'`)")


class Backend(Protocol):
    """A QM method: ``method`` names it in the store; ``supported`` lists the requests it serves;
    ``ghost_atoms`` says whether it takes basis-only atoms (counterpoise corrections)."""

    method: str
    supported: frozenset[str]
    ghost_atoms: bool

    def compute(self, structure: QMStructure, requests: Collection[str]) -> dict[str, np.ndarray]:
        """Labels (internal units) for ``structure``; raise BackendError when the calculation fails."""
        ...


def check_requests(backend: Backend, requests: Collection[str]) -> None:
    """Raise a clear error for request names that are unknown or that ``backend`` cannot serve."""
    unknown = set(requests) - set(REQUESTS)
    if unknown:
        raise ValueError(f"unknown label requests {sorted(unknown)}; choose from {sorted(REQUESTS)}")
    missing = set(requests) - set(backend.supported) - DERIVED
    if missing:
        raise ValueError(f"backend {backend.method} cannot compute {sorted(missing)}; it serves "
                         f"{sorted(backend.supported)}")
