"""OpenMM topologies for boxes of molecules: one residue per molecule, bonds from each species' graph.

Atom order within a molecule is the order of ``Species.rdkit()`` (SMILES atoms, then hydrogens), the
order every box built by ``elyte.box`` and every force-field backend uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openmm.app as app
from openmm import Vec3

from elyte import units
from elyte.formulation import Species


def residue_name(species: Species) -> str:
    """Up to four characters, as PDB and DCD readers expect."""
    return species.name[:4].upper()


def build_topology(molecules: Sequence[Species], cell: np.ndarray | None = None) -> app.Topology:
    """Topology of ``molecules`` in order; ``cell`` [3, 3] in Angstrom (rows) or None for no box."""
    topology = app.Topology()
    chains: dict[str, app.Chain] = {}
    graphs = {}
    for species in molecules:
        chain = chains.get(species.name) or chains.setdefault(species.name, topology.addChain(species.name))
        if species.name not in graphs:
            graphs[species.name] = species.rdkit()
        mol = graphs[species.name]
        residue = topology.addResidue(residue_name(species), chain)
        atoms = [
            topology.addAtom(f"{a.GetSymbol()}{a.GetIdx() + 1}", app.Element.getByAtomicNumber(a.GetAtomicNum()), residue)
            for a in mol.GetAtoms()
        ]
        for bond in mol.GetBonds():
            topology.addBond(atoms[bond.GetBeginAtomIdx()], atoms[bond.GetEndAtomIdx()])
    if cell is not None:
        topology.setPeriodicBoxVectors([Vec3(*row) * units.ANGSTROM_TO_NM for row in np.asarray(cell, float)])
    return topology


def molecule_index(molecules: Sequence[Species]) -> np.ndarray:
    """Per-atom molecule index [N]."""
    return np.repeat(np.arange(len(molecules)), [m.n_atoms for m in molecules])
