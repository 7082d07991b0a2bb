"""Clusters cut from periodic MD boxes: whole molecules around a centre atom (its first solvation shell).

A molecule joins the cluster when any of its atoms lies within ``radius`` (A) of the centre under
the minimum-image convention; molecules are unwrapped whole around the centre. Molecule identities
come from the box's ``mol-id`` array (LAMMPS data, or extxyz ``mol-id`` / ``molecule``) and each
molecule's charge is its summed per-atom charge rounded to an integer (``initial_charges`` of a
LAMMPS data file), or zero when the box has no charges.

Boxes can also be frames of an MD trajectory (``trajectory_boxes``: DCD/XTC and the PDB topology that
polff-simulate and mlff-simulate write), so clusters sample the liquid a force field actually visits.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence

import ase
import mdtraj
import numpy as np

from elyte.analysis.trajectory import arrays_from_mdtraj, minimum_image
from elyte.labels.sampling.molecules import SamplingError
from elyte.labels.structure import QMStructure

MOLECULE_ARRAYS = ("mol-id", "molecule", "mol_id")


def molecule_ids(atoms: ase.Atoms) -> np.ndarray:
    for name in MOLECULE_ARRAYS:
        if name in atoms.arrays:
            return np.asarray(atoms.arrays[name], np.int64)
    raise SamplingError(f"the box has no molecule ids (one of {MOLECULE_ARRAYS}); write it with molecule indices")


def cluster(atoms: ase.Atoms, center: int, radius: float, max_molecules: int | None = None) -> QMStructure:
    """The molecules around atom ``center`` (index), whole, centred on it, one fragment per molecule."""
    if not atoms.pbc.all():
        raise SamplingError("clusters are cut from periodic boxes; this structure has no full periodic cell")
    cell = np.asarray(atoms.cell[:])
    mol = molecule_ids(atoms)
    charges = atoms.arrays.get("initial_charges", np.zeros(len(atoms)))
    rel = minimum_image(atoms.positions - atoms.positions[center], cell)
    dist = np.linalg.norm(rel, axis=1)
    near = {int(m): float(dist[mol == m].min()) for m in np.unique(mol[dist < radius])}
    near[int(mol[center])] = 0.0
    chosen = sorted(near, key=near.get)[:max_molecules]
    numbers, positions, fragments, frag_charges = [], [], [], []
    for k, m in enumerate(chosen):
        idx = np.nonzero(mol == m)[0]
        anchor = rel[idx[0]]
        whole = anchor + minimum_image(rel[idx] - anchor, cell)
        numbers.append(atoms.numbers[idx])
        positions.append(whole)
        fragments.append(np.full(len(idx), k))
        frag_charges.append(int(round(float(charges[idx].sum()))))
    return QMStructure(
        numbers=np.concatenate(numbers), positions=np.concatenate(positions), charge=sum(frag_charges),
        fragments=np.concatenate(fragments), fragment_charges=frag_charges,
        provenance={"kind": "cluster", "center": int(center), "radius": float(radius),
                    "center_element": atoms.get_chemical_symbols()[center], "n_molecules": len(chosen)},
    )


def clusters(atoms: ase.Atoms, element: str, radius: float, n: int, rng: np.random.Generator,
             max_molecules: int | None = None) -> list[QMStructure]:
    """Up to ``n`` clusters around randomly chosen atoms of ``element``."""
    candidates = np.nonzero(np.array(atoms.get_chemical_symbols()) == element)[0]
    if len(candidates) == 0:
        raise SamplingError(f"the box has no {element} atom to centre a cluster on")
    picks = rng.choice(candidates, size=min(n, len(candidates)), replace=False)
    return [cluster(atoms, int(c), radius, max_molecules) for c in picks]


def trajectory_boxes(topology: str, files: Sequence[str], frames: int, charges: Mapping[str, int]
                     ) -> list[ase.Atoms]:
    """``frames`` evenly spaced frames (first and last included) of the trajectory ``files`` (glob
    patterns, read in sorted order and joined) as periodic boxes with ``mol-id`` and, on each
    molecule's first atom, its charge in ``initial_charges``. ``charges`` maps the topology's residue
    names (one residue per molecule) to molecule charges (e)."""
    paths = sorted({p for pattern in files for p in glob.glob(str(pattern))})
    if not paths:
        raise SamplingError(f"no trajectory file matches {list(files)}")
    traj = mdtraj.load(paths, top=str(topology))
    unknown = sorted({r.name for r in traj.topology.residues} - set(charges))
    if unknown:
        raise SamplingError(f"residues {unknown} of {topology} are not recipe species (known: {sorted(charges)}); "
                            "add them under species:")
    positions, cells, _, molecule_index = arrays_from_mdtraj(traj)
    first_atoms = np.unique(molecule_index, return_index=True)[1]
    atom_charges = np.zeros(traj.n_atoms)
    atom_charges[first_atoms] = [charges[traj.topology.atom(int(a)).residue.name] for a in first_atoms]
    numbers = [a.element.atomic_number for a in traj.topology.atoms]
    boxes = []
    for k in np.unique(np.linspace(0, traj.n_frames - 1, frames).round().astype(int)):
        box = ase.Atoms(numbers=numbers, positions=positions[k], cell=cells[k], pbc=True)
        box.arrays["mol-id"] = molecule_index.copy()
        box.arrays["initial_charges"] = atom_charges.copy()
        boxes.append(box)
    return boxes
