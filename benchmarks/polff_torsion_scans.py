"""Torsion profiles: polff (the shipped GNN, and the published ByteFF-Pol files where they cover the
molecule) against relaxed GFN2-xTB scans.

For each molecule, each rotatable heavy-atom dihedral (a single, non-ring bond between two atoms
that both have another heavy neighbour; at most ``--dihedrals`` per molecule) is scanned in steps of
``--step`` degrees from the relaxed conformer: the dihedral is set, the rest of the molecule relaxed with
GFN2-xTB under that constraint (elyte.labels.sampling.torsions), each point starting from the previous one. The force field's
energy is evaluated at the QM-relaxed geometries (single points, no MM relaxation), so the errors
include the bonded terms' strain. Both profiles are compared after removing the offset that best
aligns them (least squares); the table lists the QM and force-field barriers (max - min) and the
RMS and largest deviation, kcal/mol.

    .venv/bin/python benchmarks/polff_torsion_scans.py [--molecules DMC DME ...] [--step 30]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from rdkit import Chem
from rdkit.Chem import AllChem

from elyte.formulation import Species
from elyte.labels.engines import make_backend
from elyte.labels.sampling.relax import relax
from elyte.labels.sampling.torsions import rotatable_dihedrals, torsion_scan
from elyte.labels.structure import QMStructure
from elyte.paths import data_dir
from polff.energy import PolarizableEnergy
from polff.forcefield import GNNParameters, ParameterFiles
from polff.params import default_model_dir
from polff.system import PolSystem

MOLECULES = {  # name: (SMILES, in the GNN's training data?)
    "DMC": ("COC(=O)OC", "yes"), "EMC": ("CCOC(=O)OC", "yes"), "ethyl acetate": ("CCOC(C)=O", "yes"),
    "DME": ("COCCOC", "held out"), "diethyl ether": ("CCOCC", "no"), "MEK": ("CCC(C)=O", "no"),
    "methyl acetate": ("COC(C)=O", "no"), "1-propanol": ("CCCO", "no"),
}
BYTEFF = {"DMC": "DMC"}  # molecules with a published ByteFF-Pol file in data/forcefields/byteff_pol


def profile_error(reference: np.ndarray, model: np.ndarray) -> tuple[float, float]:
    """RMS and largest deviation after the best constant offset."""
    d = (model - model.mean()) - (reference - reference.mean())
    return float(np.sqrt(np.mean(d**2))), float(np.abs(d).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--molecules", nargs="*", default=list(MOLECULES), help=f"of {list(MOLECULES)}")
    parser.add_argument("--step", type=float, default=30.0, help="degrees between scan points")
    parser.add_argument("--dihedrals", type=int, default=2, help="at most this many per molecule")
    parser.add_argument("--fmax", type=float, default=0.5, help="kcal/mol/A, constrained relaxation")
    parser.add_argument("--model", default=str(default_model_dir()), help="GNN model file or ensemble directory")
    args = parser.parse_args()

    backend = make_backend({"name": "xtb"})
    gnn = GNNParameters(args.model)
    byteff = ParameterFiles({name: data_dir() / "forcefields" / "byteff_pol" / f"{code}.itp"
                             for name, code in BYTEFF.items()})
    angles = np.arange(-180.0, 180.0, args.step)
    print(f"relaxed GFN2-xTB scans, {args.step:g} degree steps; force-field single points at the QM geometries; "
          f"model {args.model}\n")
    print("| molecule | in training? | dihedral | QM barrier | force field | FF barrier | RMS error | max error |")
    print("|---|---|---|---|---|---|---|---|")
    errors = []
    for name in args.molecules:
        smiles, seen = MOLECULES[name]
        species = Species.from_smiles(name, smiles)
        mol = Chem.Mol(species.rdkit())
        if mol.GetNumConformers() == 0:
            AllChem.EmbedMolecule(mol, randomSeed=1)
        AllChem.MMFFOptimizeMolecule(mol)
        start = relax(backend, QMStructure([a.GetAtomicNum() for a in mol.GetAtoms()], mol.GetConformer().GetPositions(),
                                           Chem.GetFormalCharge(mol)), args.fmax)
        sources = [("GNN", gnn)] + ([("ByteFF-Pol", byteff)] if name in BYTEFF else [])
        for dihedral in rotatable_dihedrals(mol, args.dihedrals):
            frames = torsion_scan(backend, mol, start, dihedral, angles, args.fmax, steps=300)
            qm = np.array([float(backend.compute(f, ["energy"])["energy"]) for f in frames])
            label = "-".join(f"{mol.GetAtomWithIdx(a).GetSymbol()}{a}" for a in dihedral)
            for source_name, source in sources:
                model = PolarizableEnergy(PolSystem.from_molecules([source(species)]), solver="direct")
                with torch.no_grad():
                    mm = np.array([float(model(torch.tensor(f.positions))["total"]) for f in frames])
                rms, worst = profile_error(qm, mm)
                if source_name == "GNN":
                    errors.append(rms)
                print(f"| {name} | {seen} | {label} | {np.ptp(qm):.2f} | {source_name} | {np.ptp(mm):.2f} | "
                      f"{rms:.2f} | {worst:.2f} |", flush=True)
    print(f"\nGNN: mean RMS error {np.mean(errors):.2f} kcal/mol over {len(errors)} profiles")


if __name__ == "__main__":
    main()
