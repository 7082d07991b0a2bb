"""Monomers from SMILES: RDKit ETKDG conformers as QMStructures (charge, spin, symmetry classes set)."""

from __future__ import annotations

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, Descriptors

from elyte.labels.structure import QMStructure
from elyte.molecules import symmetry_classes


class SamplingError(ValueError):
    """A molecule or structure that cannot be sampled as asked."""


def molecule(smiles: str) -> Chem.Mol:
    """RDKit molecule with explicit hydrogens; raises SamplingError for an invalid SMILES."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise SamplingError(f"invalid SMILES {smiles!r}")
    return Chem.AddHs(mol)


def embed(smiles: str, n: int, seed: int = 0) -> list[QMStructure]:
    """``n`` ETKDG conformers of ``smiles`` (duplicates are removed after relaxation, by energy)."""
    mol = molecule(smiles)
    charge = Chem.GetFormalCharge(mol)
    multiplicity = Descriptors.NumRadicalElectrons(mol) + 1
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()])
    symmetry = symmetry_classes(mol)
    base = {"smiles": smiles}
    if mol.GetNumAtoms() == 1:
        return [QMStructure(numbers, np.zeros((1, 3)), charge, multiplicity, symmetry=symmetry, provenance=base)]
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed) + 1  # RDKit embeds every conformer identically with seed 0
    RDLogger.DisableLog("rdApp.*")
    try:
        ids = list(AllChem.EmbedMultipleConfs(mol, numConfs=n, params=params))
    finally:
        RDLogger.EnableLog("rdApp.*")
    if not ids:
        raise SamplingError(f"RDKit cannot embed {smiles!r} in 3D")
    return [QMStructure(numbers, mol.GetConformer(i).GetPositions(), charge, multiplicity, symmetry=symmetry,
                        provenance=dict(base)) for i in ids]


def covalent_components(numbers: np.ndarray, positions: np.ndarray, factor: float = 1.25) -> np.ndarray:
    """Connected components (one index per atom) of the bond graph: atoms closer than ``factor`` times the
    sum of covalent radii are bonded. Alkali cations never bond (they sit 1.8-2.2 A from oxygens)."""
    from scipy.sparse.csgraph import connected_components

    from elyte.elements import covalent_radius

    radii = np.array([covalent_radius(z) for z in numbers])
    dist = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    bonded = dist < factor * (radii[:, None] + radii[None])
    ionic = np.isin(numbers, (3, 11, 19))
    bonded[ionic, :] = bonded[:, ionic] = False
    np.fill_diagonal(bonded, True)
    return connected_components(bonded, directed=False)[1]
