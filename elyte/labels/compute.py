"""Label one structure with a backend: the backend's own labels plus derived ones (interaction energy)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from elyte.labels.engines.base import DERIVED, Backend
from elyte.labels.interaction import interaction_energy
from elyte.labels.sampling.normal_modes import hessian
from elyte.labels.structure import QMStructure


def label_structure(backend: Backend, structure: QMStructure, requests: Collection[str],
                    counterpoise: bool = False) -> dict[str, np.ndarray]:
    """All requested labels (internal units). ``interaction_energy`` is added only for structures with
    fragments (several of them); monomers get the other labels. ``hessian`` costs 6N force calls."""
    own = [r for r in requests if r not in DERIVED]
    labels = backend.compute(structure, own or ["energy"])
    if "interaction_energy" in requests and structure.fragments is not None and structure.fragments.max() > 0:
        labels["interaction_energy"] = np.asarray(
            interaction_energy(backend, structure, float(labels["energy"]), counterpoise))
    if "hessian" in requests:
        labels["hessian"] = hessian(backend, structure)
    return {name: np.asarray(value, float) for name, value in labels.items()}
