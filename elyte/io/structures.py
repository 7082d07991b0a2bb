"""Read a structure file (extxyz, xyz, pdb, cif, LAMMPS data, anything ASE reads) into ASE Atoms.

Positions and cell come back in Angstrom. LAMMPS data files (``.data``, ``.lmp``, optionally compressed) are read with
``atom_style full`` and ``units real`` (Angstrom); elements are assigned from the masses.
"""

from __future__ import annotations

from pathlib import Path

import ase
import ase.io
import numpy as np

from elyte.errors import InputError

LAMMPS_SUFFIXES = {".data", ".lmp", ".lammps"}
COMPRESSION_SUFFIXES = {".gz", ".bz2", ".xz"}


class StructureError(InputError):
    """A structure file that cannot be read or holds an invalid structure."""


def read_structure(path: str | Path, index: int = -1) -> ase.Atoms:
    """Read frame ``index`` of ``path``; raise StructureError with the reason on failure."""
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"structure file {path} does not exist")
    try:
        suffixes = [x.lower() for x in path.suffixes if x.lower() not in COMPRESSION_SUFFIXES]
        if suffixes and suffixes[-1] in LAMMPS_SUFFIXES:
            atoms = ase.io.read(path, format="lammps-data", atom_style="full", units="real")
        else:
            atoms = ase.io.read(path, index=index)
    except Exception as err:  # ASE raises many types; name the file and the reason
        raise StructureError(f"cannot read {path}: {err}. Is it a structure file ASE can read?") from err
    if len(atoms) == 0:
        raise StructureError(f"{path} holds no atoms")
    if not np.isfinite(atoms.positions).all():
        raise StructureError(f"{path} has NaN or infinite coordinates")
    return atoms
