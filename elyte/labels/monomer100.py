"""Import ``../shared/data/qm_monomer_100`` (ByteFF2 / ByteFF-Pol test labels, Apache-2.0) into a
:class:`LabelStore`: coordinates in Angstrom, energies in kcal/mol (absolute), forces in kcal/mol/A.

Element order comes from the atom-mapped SMILES (map number = 1-based atom index). The level of
theory is not stated with the data, so records carry method ``byteff-monomer-100 (unstated)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
from rdkit import Chem

from elyte.labels.store import LabelStore, Record

METHOD = "byteff-monomer-100 (unstated)"


def _numbers_and_charge(smiles: str) -> tuple[np.ndarray, int]:
    params = Chem.SmilesParserParams()
    params.removeHs = False
    mol = Chem.MolFromSmiles(smiles, params)
    if mol is None:
        raise ValueError(f"cannot parse {smiles!r}")
    order = sorted(mol.GetAtoms(), key=lambda a: a.GetAtomMapNum())
    return np.array([a.GetAtomicNum() for a in order]), Chem.GetFormalCharge(mol)


def import_monomer_100(directory: str | Path, store: LabelStore) -> int:
    """Add every conformer of every molecule; return how many records were new."""
    directory = Path(directory)
    smiles = json.loads((directory / "monomer_100.json").read_text())
    added = 0
    with h5py.File(directory / "monomer_100.h5", "r") as data:
        for name, mapped in smiles.items():
            numbers, charge = _numbers_and_charge(mapped)
            group = data[name]
            for conf in range(group["coords"].shape[0]):
                record = Record(
                    numbers=numbers,
                    positions=group["coords"][conf],
                    method=METHOD,
                    labels={"energy": np.asarray(group["energy"][conf]), "forces": group["forces"][conf]},
                    total_charge=charge,
                    provenance={"source": "qm_monomer_100", "name": name, "conformer": conf, "smiles": mapped},
                )
                added += store.add(record)
    return added
