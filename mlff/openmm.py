"""mlff in OpenMM: the plugin's ``MLFFForce`` (native) or ``openmm.PythonForce`` (fallback).

Native: the model is compiled once per system into a package (:mod:`mlff.deploy`, cached) that the
plugin runs through libtorch inside OpenMM's C++ at every step, with no Python in the loop.
Fallback: the model evaluated in Python at every step (every platform, Python's overhead per step).
Units at the boundary: OpenMM's nm and kJ/mol in, the model's Angstrom and kcal/mol inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import openmm
import openmm.unit as u
import torch

from elyte import units
from elyte.elements import masses
from elyte.errors import InputError
from elyte.formulation import Species
from elyte.openmm_plugin import available, load_mlff
from mlff.data.batch import collate
from mlff.data.structure import Structure
from mlff.deploy import cached_package
from mlff.model.forcefield import ForceField
from mlff.model.io import load_model

KJ_PER_NM = units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM
BACKENDS = ("auto", "native", "python")


def mlff_force(model: ForceField, numbers: np.ndarray, total_charge: float, box: np.ndarray | None,
               particles: Sequence[int] | None = None, device: str = "cpu") -> openmm.Force:
    """The plugin's ``MLFFForce`` for atoms ``numbers`` with ``total_charge`` (e), periodic in ``box``
    ([3, 3] nm, rows; None for a cluster). ``particles``: their System indices (default 0 .. n-1).
    The model is compiled in its dtype (first call per system ~30 s, then cached; :mod:`mlff.deploy`)
    for ``device``: 'cpu' (OpenMM's Reference and CPU platforms) or 'cuda' (its CUDA platform)."""
    _check_elements(model, numbers)
    force = load_mlff().MLFFForce(str(cached_package(model.eval(), numbers, total_charge, box, device)))
    if particles is not None:
        force.setParticles([int(p) for p in particles])
    force.setName("mlff")
    return force


def _check_elements(model: ForceField, numbers: np.ndarray) -> None:
    unknown = sorted(set(int(z) for z in numbers) - set(model.elements))
    if unknown:
        raise InputError(f"the model was trained for elements {model.elements} but the system holds {unknown}: "
                         "use a model trained on these elements")


def python_force(model: ForceField, numbers: np.ndarray, total_charge: float, periodic: bool,
                 dtype: torch.dtype = torch.float64) -> openmm.PythonForce:
    """A force whose energy and forces are the model's for atoms ``numbers`` (in system order)."""
    model = model.to(dtype=dtype).eval()
    numbers = np.asarray(numbers, dtype=np.int64)

    def compute(state: openmm.State):
        positions = state.getPositions(asNumpy=True).value_in_unit(u.angstrom)
        cell = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom) if periodic else None
        structure = Structure(numbers=numbers, positions=np.asarray(positions), cell=cell,
                              pbc=(periodic,) * 3, total_charge=total_charge)
        batch = collate([structure], model.config.cutoff, model.config.long_cutoff, dtype=dtype)
        out = model(batch, create_graph=False)
        energy = float(out["energy"].detach().sum()) * units.KCAL_TO_KJ
        return energy, out["forces"].detach().numpy().astype(np.float64) * KJ_PER_NM

    force = openmm.PythonForce(compute)
    force.setUsesPeriodicBoundaryConditions(periodic)
    force.setName("mlff")
    return force


class MLFFForceField:
    """The ML force field as a backend of the pipeline and of the simulate command."""

    name = "mlff"

    def __init__(self, model: str | Path | ForceField, dtype: str = "float64", backend: str = "auto",
                 device: str = "cpu"):
        """``backend``: 'native' (the plugin's MLFFForce), 'python' (openmm.PythonForce) or 'auto'
        (native when the mlff plugin is built). ``device``: where the native force runs, 'cpu' (OpenMM's
        CPU and Reference platforms) or 'cuda' (its CUDA platform; needs a CUDA torch and openmm-cuda)."""
        if backend not in BACKENDS:
            raise InputError(f"mlff backend must be one of {BACKENDS}, got {backend!r}")
        if device not in ("cpu", "cuda"):
            raise InputError(f"mlff device must be 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not torch.cuda.is_available():
            raise InputError("mlff device=cuda needs a CUDA build of torch and a GPU (torch.cuda.is_available() is "
                             "False): install one (README, GPU) or use device=cpu")
        self.device = device
        self.model = model if isinstance(model, ForceField) else load_model(model)
        self.dtype = getattr(torch, dtype)
        self.native = backend == "native" or (backend == "auto" and available(mlff=True))

    def system(self, molecules: Sequence[Species], cell: np.ndarray | None) -> openmm.System:
        """``cell``: [3, 3] box vectors in Angstrom (rows), or None for a molecule in vacuum."""
        numbers = np.concatenate([[a.GetAtomicNum() for a in m.rdkit().GetAtoms()] for m in molecules])
        system = openmm.System()
        for m in masses(numbers):
            system.addParticle(float(m))
        if cell is not None:
            widths = np.abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
            if widths.min() < 2.0 * self.model.config.long_cutoff:
                raise InputError(f"the box ({widths.min():.1f} A wide) is smaller than twice the model's cutoff "
                                 f"({self.model.config.long_cutoff} A): use a larger box")
            system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * units.ANGSTROM_TO_NM for row in np.asarray(cell)))
        total_charge = float(sum(m.charge for m in molecules))
        if self.native:
            box = None if cell is None else np.asarray(cell) * units.ANGSTROM_TO_NM
            system.addForce(mlff_force(self.model.to(dtype=self.dtype), numbers, total_charge, box, device=self.device))
        else:
            _check_elements(self.model, numbers)
            system.addForce(python_force(self.model, numbers, total_charge, cell is not None, self.dtype))
        return system
