"""Build a periodic box for a composition: RDKit conformers packed by packmol at the estimated
density, with a reproducible seed. Positions in Angstrom; molecules stay whole."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ase
import ase.io
import numpy as np
from rdkit import RDLogger
from rdkit.Chem import AllChem

from elyte.errors import InputError
from elyte.formulation import Composition, Species

PACKMOL_TOLERANCE = 2.0  # Angstrom, minimum distance between atoms of different molecules


class BoxError(InputError):
    """packmol or conformer generation failed."""


@dataclass
class Box:
    atoms: ase.Atoms  # periodic, cubic
    molecules: list[Species]  # one entry per molecule, in the order of the atoms


def conformer(species: Species, seed: int = 0) -> ase.Atoms:
    """One relaxed 3D conformer (ETKDG, then MMFF where it has parameters)."""
    RDLogger.DisableLog("rdApp.*")  # RDKit's typing warnings for ions; failures raise below
    try:
        return _conformer(species, seed)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _conformer(species: Species, seed: int) -> ase.Atoms:
    mol = species.rdkit()
    if mol.GetNumAtoms() > 1:
        if AllChem.EmbedMolecule(mol, randomSeed=seed) != 0:
            raise BoxError(f"{species.name}: RDKit cannot embed {species.smiles!r}")
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol)
        positions = _octahedral_centres(mol, mol.GetConformer().GetPositions())
    else:
        positions = np.zeros((1, 3))
    return ase.Atoms([a.GetSymbol() for a in mol.GetAtoms()], positions=positions)


def _octahedral_centres(mol, positions: np.ndarray) -> np.ndarray:
    """Place the six terminal ligands of a hexacoordinate centre (PF6-, AsF6-, SF6) octahedrally.

    Neither ETKDG nor the RDKit force fields know octahedral geometry (angles come out from 30 to
    145 degrees), which would start a simulation from a badly distorted anion. Bond lengths are kept.
    """
    positions = positions.copy()
    axes = np.concatenate([np.eye(3), -np.eye(3)])  # ligands k and k+3 are trans
    for atom in mol.GetAtoms():
        ligands = [n.GetIdx() for n in atom.GetNeighbors()]
        if len(ligands) != 6 or any(mol.GetAtomWithIdx(i).GetDegree() != 1 for i in ligands):
            continue
        centre = positions[atom.GetIdx()]
        length = np.linalg.norm(positions[ligands] - centre, axis=1).mean()
        positions[ligands] = centre + length * axes
    return positions


def build_box(composition: Composition, seed: int = 1, density_scale: float = 0.9, max_loops: int = 200,
              workdir: str | Path | None = None) -> Box:
    """Pack ``composition`` into a cubic box of the estimated volume / ``density_scale`` (packing at a
    slightly lower density than estimated lets packmol converge; NPT then finds the density).
    ``max_loops`` bounds packmol's optimization (its ``nloop``)."""
    # the PyPI package puts the binary beside the interpreter, which need not be on PATH
    beside = Path(sys.executable).parent / "packmol"
    packmol = str(beside) if beside.is_file() else shutil.which("packmol")
    if packmol is None:
        raise BoxError("packmol not found: install it with `pip install packmol` (scripts/setup.sh does)")
    length = (composition.volume / density_scale) ** (1.0 / 3.0)
    margin = PACKMOL_TOLERANCE / 2.0  # images across the faces stay a tolerance apart
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        lines = [f"tolerance {PACKMOL_TOLERANCE}", "filetype xyz", "output box.xyz", f"seed {seed}",
                 f"nloop {max_loops}", ""]
        for k, (species, count) in enumerate(composition.counts):
            if count == 0:
                continue
            ase.io.write(tmp / f"species{k}.xyz", conformer(species, seed))
            lines += [f"structure species{k}.xyz", f"  number {count}",
                      f"  inside cube {margin:.3f} {margin:.3f} {margin:.3f} {length - 2 * margin:.3f}", "end structure", ""]
        (tmp / "pack.inp").write_text("\n".join(lines))
        with open(tmp / "pack.inp") as stdin:
            result = subprocess.run([packmol], stdin=stdin, cwd=tmp, capture_output=True, text=True, timeout=3600)
        if result.returncode != 0 or not (tmp / "box.xyz").is_file():
            tail = "\n".join(result.stdout.splitlines()[-15:])
            raise BoxError(
                f"packmol could not pack the molecules (exit {result.returncode}) into a {length:.1f} A box; "
                f"lower density_scale or raise max_loops. packmol said:\n{tail}"
            )
        atoms = ase.io.read(tmp / "box.xyz")
    atoms.cell = np.eye(3) * length
    atoms.pbc = True
    molecules = [species for species, count in composition.counts for _ in range(count)]
    return Box(atoms, molecules)
