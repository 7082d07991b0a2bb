"""Structures from extxyz / any ASE-readable file and from ASE databases, converted to internal units.

ASE files hold energies in eV, forces in eV/A, stress in eV/A^3 (or a ``virial`` in eV in the
info, as other codes write it: stress = -virial / volume), charges in e and dipoles in e*A.
A file may state other units: extxyz frames through ``energy_unit`` / ``length_unit`` in their info
line, ASE databases through the same keys in their metadata. The caller states the units it expects
(``units``); a file that states different ones is refused rather than silently rescaled twice.
A cluster may carry an ``interaction_energy`` (energy units) in its info, with the molecule of every
atom as a per-atom ``fragments`` array and the molecules' charges as ``fragment_charges`` in the info.
"""

from __future__ import annotations

from pathlib import Path

import ase
import ase.db
import ase.io
import numpy as np
from ase.stress import voigt_6_to_full_3x3_stress

from elyte.units import factor_to_internal
from mlff.data.structure import LabelError, Structure

ASE_UNITS = {"energy": "eV", "length": "angstrom"}
UNIT_KEYS = {"energy": "energy_unit", "length": "length_unit"}
CHARGE_KEYS = ("total_charge", "charge")


class UnitsError(ValueError):
    """Units stated by a file that contradict the caller's, or units that cannot be converted."""


def read_ase(path: str | Path, index: str | int = ":", units: dict[str, str] | None = None) -> list[Structure]:
    """Every frame ``index`` selects from an ASE-readable file (extxyz, xyz, traj, ...).

    ``units``: the energy and length units of the file (default: what the file states, else ASE's
    eV and Angstrom). Raises :class:`UnitsError` when a frame states units that differ.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"structure file {path} does not exist")
    frames = ase.io.read(path, index=index)
    frames = frames if isinstance(frames, list) else [frames]
    return [_from_atoms(atoms, _units(atoms.info, units, f"{path} frame {k}"), f"{path}:{k}")
            for k, atoms in enumerate(frames)]


def read_ase_db(path: str | Path, selection: str | None = None, units: dict[str, str] | None = None) -> list[Structure]:
    """Every row of an ASE database (``selection`` as ``ase.db`` queries it); units as :func:`read_ase`,
    stated in the database metadata (``db.metadata``) or per row in its key-value pairs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ASE database {path} does not exist")
    db = ase.db.connect(path)
    base = _units(db.metadata, units, f"{path} metadata")
    structures = []
    for row in db.select(selection):
        atoms = row.toatoms(add_additional_information=True)
        info = {**atoms.info.get("key_value_pairs", {}), **atoms.info}
        structures.append(_from_atoms(atoms, _units(info, base, f"{path} row {row.id}"), f"{path}:id={row.id}", info))
    return structures


def _units(stated: dict, expected: dict[str, str] | None, where: str) -> dict[str, str]:
    """Units known so far: the caller's (``expected``), checked against and completed by what the file
    states. Quantities neither gives are absent (:func:`_from_atoms` falls back to ASE's)."""
    result = {q: u for q, u in (expected or {}).items() if u is not None}
    for quantity, key in UNIT_KEYS.items():
        file_unit = stated.get(key)
        if file_unit is None:
            continue
        wanted = result.get(quantity)
        if wanted is not None and _factor(quantity, file_unit) != _factor(quantity, wanted):
            raise UnitsError(
                f"{where} states {quantity} in {file_unit!r} but the reader was told {wanted!r}: "
                "fix the file's metadata or the units passed to the reader"
            )
        result[quantity] = str(file_unit)
    return result


def _factor(quantity: str, unit: str) -> float:
    try:
        return factor_to_internal(quantity, str(unit))
    except ValueError as err:
        raise UnitsError(str(err)) from err


def _from_atoms(atoms: ase.Atoms, units: dict[str, str], source: str, info: dict | None = None) -> Structure:
    units = {**ASE_UNITS, **units}
    length = _factor("length", units["length"])
    energy = _factor("energy", units["energy"])
    results = dict(atoms.calc.results) if atoms.calc is not None else {}
    info = atoms.info if info is None else info
    stress = _stress(results, info, atoms, source)
    if stress is not None:
        stress = stress * energy / length**3
    total_charge = next((info[key] for key in CHARGE_KEYS if key in info), 0.0)
    return Structure(
        numbers=atoms.numbers,
        positions=atoms.positions * length,
        cell=np.asarray(atoms.cell) * length if atoms.pbc.any() else None,
        pbc=tuple(atoms.pbc),
        total_charge=total_charge,
        energy=results["energy"] * energy if "energy" in results else None,
        forces=results["forces"] * (energy / length) if "forces" in results else None,
        stress=stress,
        charges=results.get("charges"),
        dipole=np.asarray(results["dipole"]) * length if "dipole" in results else None,
        interaction_energy=info["interaction_energy"] * energy if "interaction_energy" in info else None,
        fragments=atoms.arrays.get("fragments"),
        fragment_charges=info.get("fragment_charges"),
        group=str(info["group"]) if "group" in info else None,
        source=source,
    )


def _stress(results: dict, info: dict, atoms: ase.Atoms, source: str) -> np.ndarray | None:
    """Stress [3, 3] in file units (energy / length^3) from the calculator's ``stress`` (Voigt or 3x3)
    or, failing that, from a ``virial`` (energy units; virial = -stress * volume) in the info."""
    if "stress" in results:
        stress = np.asarray(results["stress"], float)
        return voigt_6_to_full_3x3_stress(stress) if stress.shape == (6,) else stress.reshape(3, 3)
    if "virial" not in info:
        return None
    if not atoms.pbc.all():
        raise LabelError(f"{source} has a virial but is not periodic: a stress needs the cell volume")
    virial = np.asarray(info["virial"], float)
    virial = voigt_6_to_full_3x3_stress(virial) if virial.shape == (6,) else virial.reshape(3, 3)
    return -virial / atoms.get_volume()
