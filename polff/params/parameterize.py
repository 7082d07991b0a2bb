"""From SMILES (or a :class:`polff.molecule.Molecule`) to :class:`polff.parameters.MoleculeParameters`
with a :class:`polff.params.model.Parameterizer`, and the differentiable path a trainer uses:
batch -> model outputs -> :class:`polff.system.PolSystem` whose parameters carry gradients."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch
from rdkit import Chem

from elyte import elements
from polff.molecule import Molecule, from_rdkit, from_smiles
from polff.parameters import NONBONDED_FIELDS, MoleculeParameters, Torsions
from polff.params.graph import GraphBatch, MoleculeGraph
from polff.params.model import N_FOURIER, Parameterizer
from polff.system import PolSystem

PROPER_PERIODICITY = np.arange(1, N_FOURIER + 1)
PROPER_PHASE = np.where(PROPER_PERIODICITY % 2 == 1, 0.0, math.pi)  # 0, 180, 0, 180 degrees (ByteFF-Pol)
IMPROPER_PERIODICITY, IMPROPER_PHASE = 2, math.pi
IMPROPER_ROTATIONS = ((0, 1, 2, 3), (0, 2, 3, 1), (0, 3, 1, 2))  # centre first, neighbours rotated


def as_molecule(item: str | Molecule | Chem.Mol) -> Molecule:
    """A :class:`Molecule` from SMILES (plain or atom-mapped), an RDKit molecule (hydrogens added
    if missing, its atom order kept) or as given."""
    if isinstance(item, Molecule):
        return item
    if isinstance(item, str):
        return from_smiles(item)
    if isinstance(item, Chem.Mol):
        return from_rdkit(Chem.AddHs(item, addCoords=item.GetNumConformers() > 0), Chem.MolToSmiles(item))
    raise TypeError(f"expected a SMILES string, a polff Molecule or an RDKit Mol, got {type(item).__name__}")


def make_batch(molecules: Sequence[str | Molecule | Chem.Mol],
               positions: Sequence[np.ndarray | None] | None = None) -> GraphBatch:
    """Batch of molecules; ``positions`` (Angstrom, one array or None per molecule) are only needed
    for six-coordinate centres of molecules without a conformer (e.g. PF6- from SMILES)."""
    mols = [as_molecule(m) for m in molecules]
    positions = positions if positions is not None else [None] * len(mols)
    if len(positions) != len(mols):
        raise ValueError(f"{len(positions)} position arrays for {len(mols)} molecules")
    return GraphBatch.from_graphs([MoleculeGraph.from_molecule(m, p) for m, p in zip(mols, positions)])


def _split(values: torch.Tensor, counts: list[int]) -> list[np.ndarray]:
    return [v.numpy() for v in torch.split(values.detach().to(torch.float64).cpu(), counts)]


def _proper_rows(quads: np.ndarray, k: np.ndarray) -> Torsions:
    """One row per (quadruplet, n), quadruplet-major as in the ByteFF-Pol files."""
    t = len(quads)
    return Torsions(np.repeat(quads, N_FOURIER, axis=0).reshape(-1, 4), k.reshape(-1),
                    np.tile(PROPER_PERIODICITY, t), np.tile(PROPER_PHASE, t))


def _improper_rows(impropers: np.ndarray, k: np.ndarray) -> Torsions:
    """Three rows per improper centre (its neighbours rotated), each with the same k."""
    atoms = impropers[:, IMPROPER_ROTATIONS].reshape(-1, 4)
    n = len(atoms)
    return Torsions(atoms, np.repeat(k, 3), np.full(n, IMPROPER_PERIODICITY), np.full(n, IMPROPER_PHASE))


def to_parameters(batch: GraphBatch, outputs: dict[str, torch.Tensor]) -> list[MoleculeParameters]:
    """Model outputs as one :class:`MoleculeParameters` per molecule (float64 numpy, detached)."""
    c = batch.counts
    per_atom = {k: _split(outputs[k], c["atoms"]) for k in NONBONDED_FIELDS}
    per_term = {k: _split(outputs[k], c[kind]) for k, kind in (
        ("bond_k", "bonds"), ("bond_length", "bonds"), ("angle_k", "angles"), ("angle_theta", "angles"),
        ("proper_k", "propers"), ("improper_k", "impropers"))}
    result = []
    for m, graph in enumerate(batch.graphs):
        mol, terms = graph.molecule, graph.terms
        result.append(MoleculeParameters(
            name=mol.name,
            atom_names=[f"{e}{i + 1}" for i, e in enumerate(mol.elements)],
            atom_types=[f"{e}_{c}" for e, c in zip(mol.elements, graph.classes["atoms"])],
            elements=list(mol.elements),
            masses=elements.masses(mol.elements),
            bonds=terms["bonds"].copy(), bond_k=per_term["bond_k"][m], bond_length=per_term["bond_length"][m],
            angles=terms["angles"].copy(), angle_k=per_term["angle_k"][m], angle_theta=per_term["angle_theta"][m],
            propers=_proper_rows(terms["propers"], per_term["proper_k"][m]),
            impropers=_improper_rows(terms["impropers"], per_term["improper_k"][m]),
            **{k: v[m] for k, v in per_atom.items()},
        ))
    return result


def _on_device(system: PolSystem, device: torch.device) -> PolSystem:
    def move(value):
        if isinstance(value, torch.Tensor):
            return value.to(device)
        return {k: move(v) for k, v in value.items()} if isinstance(value, dict) else value

    return dataclasses.replace(system, **{f.name: move(getattr(system, f.name)) for f in dataclasses.fields(system)})


def differentiable_system(batch: GraphBatch, outputs: dict[str, torch.Tensor],
                          dtype: torch.dtype = torch.float64) -> PolSystem:
    """A :class:`PolSystem` of the batch's molecules (in order) whose parameter tensors are the
    model outputs themselves, so energies computed from it backpropagate into the model."""
    system = _on_device(PolSystem.from_molecules(to_parameters(batch, outputs), dtype=dtype), outputs["charge"].device)
    o = {k: v.to(dtype) for k, v in outputs.items()}
    torsions = {
        "propers": system.torsions["propers"] | {"k": o["proper_k"].reshape(-1)},
        "impropers": system.torsions["impropers"] | {"k": o["improper_k"].repeat_interleave(3)},
    }
    return dataclasses.replace(
        system, params={k: o[k] for k in NONBONDED_FIELDS}, bond_k=o["bond_k"], bond_length=o["bond_length"],
        angle_k=o["angle_k"], angle_theta=o["angle_theta"], torsions=torsions,
    )


def parameterize_batch(molecules: Sequence[str | Molecule | Chem.Mol], model: Parameterizer,
                       positions: Sequence[np.ndarray | None] | None = None) -> list[MoleculeParameters]:
    """Parameters of several molecules in one pass of ``model`` (evaluation mode, no gradients)."""
    batch = make_batch(molecules, positions)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            outputs = model(batch)
    finally:
        model.train(was_training)
    return to_parameters(batch, outputs)


def parameterize(molecule: str | Molecule | Chem.Mol, model: Parameterizer,
                 positions: np.ndarray | None = None) -> MoleculeParameters:
    """Parameters of one molecule given as SMILES (plain or atom-mapped) or a :class:`Molecule`;
    the atom order is the molecule's (see :func:`polff.molecule.from_smiles`)."""
    return parameterize_batch([molecule], model, [positions])[0]


__all__ = ["as_molecule", "make_batch", "to_parameters", "differentiable_system", "parameterize",
           "parameterize_batch"]
