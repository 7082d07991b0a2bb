"""Structures to label from files (xyz / extxyz / sdf / anything ASE reads), label stores and SMILES.

Charge and multiplicity: an SDF's formal charges (RDKit); an (ext)xyz frame's ``charge`` and
``multiplicity`` info keys (extxyz comment line ``charge=-1 multiplicity=1``), default 0 and 1.
A label store gives back every structure it holds (labelled ones; failures too with
``include_failed``), with charge, spin, fragments and provenance, ready to relabel at another level.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import ase.io
import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors

from elyte.labels.sampling.molecules import SamplingError, embed
from elyte.labels.store import LabelStore, Record
from elyte.labels.structure import QMStructure
from elyte.molecules import symmetry_classes


def _read_sdf(path: Path) -> list[QMStructure]:
    out = []
    for k, mol in enumerate(Chem.SDMolSupplier(str(path), removeHs=False)):
        if mol is None:
            raise SamplingError(f"{path}: record {k} cannot be parsed by RDKit")
        out.append(QMStructure(
            numbers=[a.GetAtomicNum() for a in mol.GetAtoms()], positions=mol.GetConformer().GetPositions(),
            charge=Chem.GetFormalCharge(mol), multiplicity=Descriptors.NumRadicalElectrons(mol) + 1,
            symmetry=symmetry_classes(mol),
            provenance={"kind": "file", "source": str(path), "frame": k, "name": mol.GetProp("_Name") or path.stem}))
    return out


def read_file(path: str | Path) -> list[QMStructure]:
    """Every frame of ``path`` as a structure to label."""
    path = Path(path)
    if not path.is_file():
        raise SamplingError(f"input file {path} does not exist")
    if path.suffix.lower() == ".sdf":
        return _read_sdf(path)
    try:
        frames = ase.io.read(path, index=":")
    except Exception as err:  # ASE raises many types
        raise SamplingError(f"cannot read {path}: {err}") from err
    out = []
    for k, atoms in enumerate(frames):
        cell = np.asarray(atoms.cell[:]) if atoms.pbc.all() else None
        out.append(QMStructure(
            numbers=atoms.numbers, positions=atoms.positions, charge=int(atoms.info.get("charge", 0)),
            multiplicity=int(atoms.info.get("multiplicity", 1)), cell=cell,
            provenance={"kind": "file", "source": str(path), "frame": k, "name": path.stem}))
    return out


def structure_from_record(record: Record) -> QMStructure:
    """The structure behind a stored record (fragments restored from its provenance)."""
    provenance = dict(record.provenance)
    fragments = provenance.pop("fragments", None)
    return QMStructure(
        numbers=record.numbers, positions=record.positions, charge=record.total_charge,
        multiplicity=record.multiplicity, cell=record.cell, fragments=fragments,
        fragment_charges=provenance.pop("fragment_charges", None),
        fragment_multiplicities=provenance.pop("fragment_multiplicities", None),
        provenance={**{k: v for k, v in provenance.items() if k != "seconds"}, "relabelled_from": record.method})


def read_store(path: str | Path, include_failed: bool = False,
               kinds: Collection[str] | None = None) -> list[QMStructure]:
    """The structures of a label store (``.h5`` or ``.h5.gz``), with their labels' provenance; with
    ``kinds``, only records whose provenance ``kind`` is one of them (e.g. ``["conformer"]``)."""
    with LabelStore(path, "r") as store:
        records = list(store) + (list(store.failed_records()) if include_failed else [])
    if kinds is not None:
        records = [r for r in records if r.provenance.get("kind") in set(kinds)]
    return [structure_from_record(r) for r in records]


def from_smiles(smiles: Mapping[str, str], seed: int = 0) -> list[QMStructure]:
    """One RDKit conformer per named SMILES."""
    out = []
    for name, smi in smiles.items():
        s = embed(smi, 1, seed)[0]
        s.provenance.update(kind="smiles", name=name)
        out.append(s)
    return out
