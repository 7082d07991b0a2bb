"""polff as a force-field backend of the property pipeline: species -> parameters -> openmm.System.

Parameters come from a source (published ByteFF-Pol files, or the GNN parameterizer from SMILES alone)
and are reordered to each species' atom order (``Species.rdkit()``: SMILES atoms, then
hydrogens), which every box and topology uses, by matching the molecular graphs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import openmm

from elyte.box import conformer
from elyte.errors import InputError
from elyte.formulation import Species
from elyte.molecules import match_order
from polff.io.byteff import read_byteff
from polff.openmm import build_system
from polff.parameters import MoleculeParameters
from polff.params.ensemble import Ensemble


class ParameterError(InputError):
    """Parameters that do not fit a species (missing, other atoms, other charge)."""


def atom_order(params: MoleculeParameters, species: Species) -> np.ndarray:
    """``order[s]`` = the parameter-file atom that is atom ``s`` of ``species.rdkit()``."""
    if species.n_atoms != params.n_atoms:
        raise ParameterError(f"{species.name}: parameters {params.name!r} have {params.n_atoms} atoms, "
                             f"the SMILES {species.smiles!r} has {species.n_atoms}")
    order = match_order(params.elements, params.bonds, species)
    if order is None:
        raise ParameterError(f"{species.name}: parameters {params.name!r} describe another molecule than "
                             f"{species.smiles!r} (elements or bonds differ)")
    return order


class ParameterFiles:
    """ByteFF-Pol style parameter files (``NAME.itp`` + ``NAME.json``), one per species name."""

    def __init__(self, files: Mapping[str, str | Path]):
        self.files = {name: Path(path) for name, path in files.items()}
        self._cache: dict[str, MoleculeParameters] = {}

    def __call__(self, species: Species) -> MoleculeParameters:
        if species.name not in self._cache:
            if species.name not in self.files:
                raise ParameterError(f"no parameter file for species {species.name!r}; the force field has "
                                     f"{sorted(self.files)}. Add '{species.name}: path/to/{species.name}.itp'")
            params = read_byteff(self.files[species.name])
            if abs(params.total_charge - species.charge) > 1e-3:
                raise ParameterError(f"{species.name}: parameter charges sum to {params.total_charge:+.4f} e, the "
                                     f"SMILES {species.smiles!r} has {species.charge:+d} e")
            self._cache[species.name] = params.permuted(atom_order(params, species))
        return self._cache[species.name]


class GNNParameters:
    """Parameters predicted by the GNN parameterizer from each species' SMILES: one model file, or
    several (an ensemble: mean parameters, spread kept in ``spread``). Zero-shot: no parameter file
    and no experimental input; hexacoordinate centres take their geometry from the species' conformer."""

    def __init__(self, model: str | Path | Sequence[str | Path]):
        """``model``: a model file, a list of them, or a directory of them (an ensemble)."""
        self.ensemble = Ensemble.from_files(model)
        self.spread: dict[str, dict] = {}
        self._cache: dict[str, MoleculeParameters] = {}

    def __call__(self, species: Species) -> MoleculeParameters:
        if species.name not in self._cache:
            predicted = self.ensemble.parameterize(species.rdkit(), positions=conformer(species).positions)
            params = predicted.mean
            if abs(params.total_charge - species.charge) > 1e-6:
                raise ParameterError(f"{species.name}: predicted charges sum to {params.total_charge:+.6f} e, "
                                     f"not the SMILES charge {species.charge:+d} e")
            self.spread[species.name] = predicted.spread
            self._cache[species.name] = params.permuted(atom_order(params, species))
        return self._cache[species.name]


class PolffForceField:
    """The polarizable force field in OpenMM for any box of species (Angstrom in, openmm.System out)."""

    name = "polff"

    def __init__(self, parameters, cutoff: float = 9.0, ewald_tolerance: float = 5e-4,
                 long_range_correction: bool = True, polarization_tolerance: float = 1e-5,
                 extrapolation: Sequence[float] | None = None):
        """``polarization_tolerance``: the induced dipoles converge until every atom's residual is
        below it (e*A); ``extrapolation``: coefficients of extrapolated polarization instead
        (polff.extrapolation)."""
        self.parameters = parameters
        self.cutoff, self.ewald_tolerance = cutoff, ewald_tolerance
        self.long_range_correction = long_range_correction
        self.polarization_tolerance = polarization_tolerance
        self.extrapolation = None if extrapolation is None else [float(c) for c in extrapolation]

    def system(self, molecules: Sequence[Species], cell: np.ndarray | None) -> openmm.System:
        """``cell``: [3, 3] box vectors in Angstrom (rows), or None for a molecule in vacuum."""
        params = [self.parameters(m) for m in molecules]
        return build_system(params, box=cell, cutoff=self.cutoff, ewald_tolerance=self.ewald_tolerance,
                            long_range_correction=self.long_range_correction,
                            polarization_tolerance=self.polarization_tolerance, extrapolation=self.extrapolation)
