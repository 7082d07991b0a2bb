"""Closest contacts of a neat liquid simulated with polff, against GFN2-xTB: the check that a
parameter set does not collapse the liquid (the failure of the first shipped GNN, see
docs/polff_validation.md).

Packs --molecules molecules of one liquid at its estimated density, runs NPT (298.15 K, 1 bar,
Langevin 1 fs, CPU platform) with the parameters for --ps picoseconds, then takes the two closest
neighbours of --centres random molecules of the last frame and compares each dimer's interaction
energy (model: the whole force field, induction included; QM: GFN2-xTB, tblite) with the
closest atom-atom distance. Prints the density per picosecond and the dimer statistics (kcal/mol).

    .venv/bin/python benchmarks/polff_liquid_contacts.py --liquid DMC --ps 3
    .venv/bin/python benchmarks/polff_liquid_contacts.py --liquid DMC --model path/to/ensemble_dir
"""

from __future__ import annotations

import argparse

import numpy as np
import openmm
import openmm.unit as u
import torch

from elyte import units
from elyte.box import build_box
from elyte.errors import InputError
from elyte.formulation import Composition, Species
from elyte.labels.compute import label_structure
from elyte.labels.engines import make_backend
from elyte.labels.structure import QMStructure
from liquid_md import TEMPERATURE, minimized_context
from elyte.pipeline.reference import smiles_of
from polff.energy import interaction_energy
from polff.forcefield import GNNParameters, PolffForceField
from polff.params import default_model_dir



def simulate(species: Species, count: int, forcefield: PolffForceField, picoseconds: int, threads: int, seed: int):
    """Positions (A) and box (A) of the last frame, and the density (g/cm^3) after each picosecond."""
    box = build_box(Composition([(species, count)], count * species.volume, {}), seed=seed)
    cell = np.asarray(box.atoms.cell)
    system = forcefield.system(box.molecules, cell)
    system.addForce(openmm.MonteCarloBarostat(1 * u.bar, TEMPERATURE, 10))
    context = minimized_context(system, box.atoms.positions, cell, threads, seed)
    integrator = context.getIntegrator()
    densities = []
    for _ in range(picoseconds):
        integrator.step(1000)
        state = context.getState(getPositions=True)
        cell = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.angstrom)
        densities.append(count * species.mass / units.AVOGADRO / np.linalg.det(cell) * 1e24)
    return state.getPositions(asNumpy=True).value_in_unit(u.angstrom), cell, densities


def closest_dimers(positions: np.ndarray, cell: np.ndarray, n_atoms: int, centres: int, seed: int):
    """(closest distance, positions of the dimer) for the two closest neighbours of random molecules
    (orthorhombic box: the pipeline's boxes are cubic)."""
    molecules = positions.reshape(-1, n_atoms, 3)
    lengths = np.diag(cell)
    out = []
    for i in np.random.default_rng(seed).choice(len(molecules), size=centres, replace=False):
        found = []
        for j in range(len(molecules)):
            if j == i:
                continue
            shift = np.round((molecules[j].mean(0) - molecules[i].mean(0)) / lengths) * lengths
            other = molecules[j] - shift
            found.append((float(np.linalg.norm(molecules[i][:, None] - other[None], axis=-1).min()), j, other))
        for distance, _, other in sorted(found, key=lambda f: f[0])[:2]:
            out.append((distance, np.concatenate([molecules[i], other])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--liquid", default="DMC", help="a name or abbreviation of the reference table, or a SMILES")
    parser.add_argument("--model", default=str(default_model_dir()), help="GNN model file or ensemble directory")
    parser.add_argument("--molecules", type=int, default=100, help="enough that a collapsing box stays above twice the cutoff")
    parser.add_argument("--ps", type=int, default=3, help="NPT picoseconds")
    parser.add_argument("--centres", type=int, default=8, help="molecules whose two closest neighbours are taken")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        smiles = smiles_of(args.liquid)
    except InputError:  # not a name of the table: a SMILES
        smiles = args.liquid
    species = Species.from_smiles(args.liquid, smiles)
    source = GNNParameters(args.model)
    positions, cell, densities = simulate(species, args.molecules, PolffForceField(source), args.ps, args.threads,
                                          args.seed)
    print(f"{args.liquid} ({smiles}), {args.molecules} molecules, model {args.model}")
    print("density (g/cm^3) after each ps: " + ", ".join(f"{d:.3f}" for d in densities))
    backend = make_backend({"name": "xtb"})
    params = source(species)
    rows = []
    for distance, xyz in closest_dimers(positions, cell, species.n_atoms, args.centres, args.seed):
        numbers = np.tile([a.GetAtomicNum() for a in species.rdkit().GetAtoms()], 2)
        dimer = QMStructure(numbers, xyz, fragments=np.repeat([0, 1], species.n_atoms))
        qm = float(label_structure(backend, dimer, ["energy", "interaction_energy"])["interaction_energy"])
        rows.append((distance, qm, interaction_energy([params, params], torch.tensor(xyz))))
    rows = np.array(rows)
    error = rows[:, 2] - rows[:, 1]
    print(f"\n{len(rows)} closest-neighbour dimers of the last frame (closest atom-atom distance "
          f"{rows[:, 0].min():.2f}-{rows[:, 0].max():.2f} A)\n")
    print("| | GFN2-xTB | model | model - GFN2-xTB |\n|---|---|---|---|")
    print(f"| mean E_int (kcal/mol) | {rows[:, 1].mean():+.2f} | {rows[:, 2].mean():+.2f} | {error.mean():+.2f} |")
    print(f"| MAE (kcal/mol) | | | {np.abs(error).mean():.2f} |")


if __name__ == "__main__":
    main()
