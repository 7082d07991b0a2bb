"""Relaxed torsion scans: the rotatable dihedrals of a molecule, each set in turn to a grid of angles
with the rest of the molecule relaxed under that constraint (ASE FixInternals + BFGS on any
backend's energy and forces). Angles in degrees, positions in Angstrom."""

from __future__ import annotations

from collections.abc import Sequence

import ase
import numpy as np
from ase.constraints import FixInternals
from ase.optimize import BFGS
from rdkit import Chem
from rdkit.Chem import rdMolTransforms

from elyte.labels.engines.base import Backend
from elyte.labels.sampling.relax import BackendCalculator
from elyte.labels.structure import QMStructure
from elyte.units import KCAL_TO_EV

Dihedral = tuple[int, int, int, int]


def rotatable_dihedrals(mol: Chem.Mol, limit: int | None = None) -> list[Dihedral]:
    """Heavy-atom dihedrals a-b-c-d around each single, non-ring bond b-c whose atoms both have
    another heavy neighbour (a and d: their first such neighbours), in bond order."""
    out = []
    for bond in mol.GetBonds():
        if bond.GetBondType() != Chem.BondType.SINGLE or bond.IsInRing():
            continue
        b, c = bond.GetBeginAtom(), bond.GetEndAtom()
        ends = [[n.GetIdx() for n in x.GetNeighbors() if n.GetAtomicNum() > 1 and n.GetIdx() != y.GetIdx()]
                for x, y in ((b, c), (c, b))]
        if ends[0] and ends[1]:
            out.append((ends[0][0], b.GetIdx(), c.GetIdx(), ends[1][0]))
    return out if limit is None else out[:limit]


def torsion_scan(backend: Backend, mol: Chem.Mol, start: QMStructure, dihedral: Dihedral, angles: Sequence[float],
                 fmax: float = 1.0, steps: int = 150) -> list[QMStructure]:
    """One constrained relaxation per angle, each starting from the previous point (``start`` for
    the first) with the dihedral rotated to the new angle; ``mol`` gives the bonds (its atom order
    is ``start``'s). Relaxed until every free force is below ``fmax`` (kcal/mol/A) or ``steps``."""
    if mol.GetNumAtoms() != len(start.numbers):
        raise ValueError(f"the molecule has {mol.GetNumAtoms()} atoms but the start structure {len(start.numbers)}")
    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    conformer = Chem.Conformer(work.GetNumAtoms())
    work.AddConformer(conformer, assignId=True)
    conformer = work.GetConformer()
    positions, out = start.positions, []
    for angle in angles:
        for k, xyz in enumerate(positions):
            conformer.SetAtomPosition(k, xyz.tolist())
        rdMolTransforms.SetDihedralDeg(conformer, *dihedral, float(angle))
        atoms = ase.Atoms(numbers=start.numbers, positions=conformer.GetPositions())
        atoms.set_constraint(FixInternals(dihedrals_deg=[[float(angle), list(dihedral)]]))
        atoms.calc = BackendCalculator(backend, start.charge, start.multiplicity)
        optimizer = BFGS(atoms, maxstep=0.1, logfile=None)
        optimizer.run(fmax=fmax * KCAL_TO_EV, steps=steps)
        positions = np.array(atoms.positions)
        out.append(QMStructure(start.numbers, positions, start.charge, start.multiplicity, symmetry=start.symmetry,
                               provenance={**start.provenance, "kind": "torsion_scan", "dihedral": list(dihedral),
                                           "angle": float(angle), "relaxed_steps": int(optimizer.nsteps)}))
    return out

