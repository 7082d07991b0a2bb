"""GFN2-xTB (and GFN1/IPEA1) through tblite's Python API; atomic units converted at the boundary.

Serves energy, forces, dipole, Mulliken-type charges (the xTB atomic charges), finite-field
polarizability (tblite's uniform electric field), dftd4 properties and, for periodic structures,
the virial.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from elyte.labels.engines.base import BackendError, check_requests, require
from elyte.labels.engines.d4 import d4_properties
from elyte.labels.finite_field import polarizability
from elyte.labels.structure import QMStructure
from elyte.units import (
    ANGSTROM_TO_BOHR,
    BOHR_TO_ANGSTROM,
    BOLTZMANN_KCAL,
    HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM,
    HARTREE_TO_KCAL,
    KCAL_TO_HARTREE,
)


# tried in turn when the SCF does not converge (ion-molecule pairs at long range are the usual case):
# an EEQ-charge start, then heavier damping; both reach the same SCF solution, only more reliably
SCF_FALLBACKS = ({"guess": 1}, {"mixer-damping": 0.05, "max-iter": 500})


class XTBBackend:
    """Tight binding via tblite. ``electronic_temperature`` in K; ``field_step`` in atomic units."""

    supported = frozenset({"energy", "forces", "dipole", "charges_mulliken", "polarizability", "dftd4", "virial"})
    ghost_atoms = False

    def __init__(self, method: str = "GFN2-xTB", accuracy: float = 1.0, max_iter: int = 250,
                 electronic_temperature: float = 300.0, field_step: float = 1e-3):
        if method not in ("GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"):
            raise ValueError(f"unknown xTB method {method!r}; choose GFN2-xTB, GFN1-xTB or IPEA1-xTB")
        require(["tblite"], "xtb")
        self.method = method.lower()
        self._name = method
        self._settings = {"accuracy": accuracy, "max-iter": max_iter,
                          "temperature": electronic_temperature * BOLTZMANN_KCAL * KCAL_TO_HARTREE}
        self.field_step = field_step

    def _calculator(self, s: QMStructure, field: np.ndarray | None = None, fallback: dict | None = None):
        from tblite.interface import Calculator

        if s.ghosts is not None and np.any(s.ghosts):
            raise BackendError("xTB has no ghost atoms: counterpoise corrections need the pyscf backend")
        lattice = None if s.cell is None else np.asarray(s.cell, float) * ANGSTROM_TO_BOHR
        periodic = None if s.cell is None else np.ones(3, bool)
        calc = Calculator(self._name, s.numbers, s.positions * ANGSTROM_TO_BOHR, charge=float(s.charge),
                          uhf=s.multiplicity - 1, lattice=lattice, periodic=periodic)
        calc.set("verbosity", 0)
        for name, value in {**self._settings, **(fallback or {})}.items():
            calc.set(name, value)
        if field is not None:
            from tblite.library import ffi

            # tblite's Python wrapper hands the array straight to C: pass a pointer (copied on the C side)
            field = np.ascontiguousarray(field, dtype=np.float64)
            calc.add("electric-field", ffi.cast("double*", field.ctypes.data))
        return calc

    def _singlepoint(self, s: QMStructure, field: np.ndarray | None = None):
        errors = []
        for fallback in (None, *SCF_FALLBACKS):
            try:
                return self._calculator(s, field, fallback).singlepoint()
            except BackendError:
                raise
            except Exception as err:  # tblite raises its own error types for SCF failures
                errors.append(str(err))
                if "not converged" not in str(err):
                    break
        raise BackendError(f"{self._name} failed: {'; '.join(errors)}")

    def compute(self, structure: QMStructure, requests: Collection[str]) -> dict[str, np.ndarray]:
        """Labels in internal units (see :mod:`elyte.labels.engines.base`)."""
        check_requests(self, requests)
        res = self._singlepoint(structure)
        out: dict[str, np.ndarray] = {"energy": np.asarray(res.get("energy") * HARTREE_TO_KCAL)}
        if "forces" in requests:
            out["forces"] = -np.asarray(res.get("gradient")) * HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM
        if "dipole" in requests:
            out["dipole"] = np.asarray(res.get("dipole")) * BOHR_TO_ANGSTROM
        if "charges_mulliken" in requests:
            out["charges_mulliken"] = np.asarray(res.get("charges"))
        if "virial" in requests:
            if not structure.periodic:
                raise BackendError("a virial needs a periodic structure (give a cell)")
            # tblite returns the strain derivative dE/d(strain); the virial is its negative
            out["virial"] = -np.asarray(res.get("virial")) * HARTREE_TO_KCAL
        if "polarizability" in requests:
            out["polarizability"] = polarizability(
                lambda f: self._singlepoint(structure, f).get("dipole"), self.field_step)
        if "dftd4" in requests:
            out.update(d4_properties(structure.numbers, structure.positions, structure.charge))
        return out
