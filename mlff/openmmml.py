"""openmm-ml entry point: ``MLPotential('elyte-mlff', modelPath=...)`` builds systems with the plugin's
``MLFFForce`` through openmm-ml's standard API, whole-ML (``createSystem``) or mixed ML/MM
(``createMixedSystem``, the ML atoms a subset of the topology).

Registered in the ``openmmml.potentials`` entry-point group (pyproject.toml), so no import is
needed. Keyword arguments of ``createSystem``/``createMixedSystem`` understood here: ``charge``
(total charge of the ML atoms, e; default 0) and ``dtype`` ('float64' or 'float32').
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import openmm
import openmm.app
import openmm.unit as u
import torch
from openmmml.mlpotential import MLPotentialImpl, MLPotentialImplFactory

from elyte.errors import InputError
from elyte.paths import data_dir
from mlff.model.io import SHIPPED_MODEL, load_model
from mlff.openmm import mlff_force


class ElyteMLFFPotentialImplFactory(MLPotentialImplFactory):
    """Creates :class:`ElyteMLFFPotentialImpl` for ``MLPotential('elyte-mlff', modelPath=...)``."""

    def createImpl(self, name: str, modelPath: str | Path | None = None, **args) -> MLPotentialImpl:
        return ElyteMLFFPotentialImpl(modelPath or data_dir() / SHIPPED_MODEL)


class ElyteMLFFPotentialImpl(MLPotentialImpl):
    """An mlff model file (``mlff-train``'s model.pt) as an openmm-ml potential."""

    def __init__(self, model_path: str | Path):
        self.model_path = Path(model_path)
        self.model = load_model(self.model_path)

    def addForces(self, topology: openmm.app.Topology, system: openmm.System, atoms: Iterable[int] | None,
                  forceGroup: int, charge: float = 0.0, dtype: str = "float64", **args) -> None:
        every = list(topology.atoms())
        indices = list(range(len(every))) if atoms is None else [int(i) for i in atoms]
        missing = [every[i].name for i in indices if every[i].element is None]
        if missing:
            raise InputError(f"the topology has atoms without an element ({missing[:5]}): the model needs elements")
        numbers = np.array([every[i].element.atomic_number for i in indices])
        vectors = topology.getPeriodicBoxVectors()
        if vectors is None and system.usesPeriodicBoundaryConditions():
            vectors = system.getDefaultPeriodicBoxVectors()
        box = None if vectors is None else np.array([v.value_in_unit(u.nanometer) for v in vectors])
        model = self.model.to(dtype=getattr(torch, dtype))
        force = mlff_force(model, numbers, float(charge), box, particles=None if atoms is None else indices)
        force.setForceGroup(forceGroup)
        system.addForce(force)

    def getMLLongRange(self) -> bool:
        """The model's learned-charge Coulomb (Ewald) and dispersion reach beyond the message-passing cutoff."""
        return True
