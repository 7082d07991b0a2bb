"""Speed of the property analysis on a synthetic 1 ns, 4,000-atom LiPF6 / EC / DMC trajectory
(1,000 frames of 1 ps) with the pipeline's molecule assignment.

    .venv/bin/python benchmarks/analysis.py [--threads 2] [--frames 1000]

Molecules: 50 Li+ (1 atom), 50 PF6- (7), 180 EC (10), 150 DMC (12) = 4,000 atoms in a ~36 A box
with a slightly fluctuating (NPT-like) cell. Each molecule is a rigid set of atom offsets around a
Brownian centre of mass (D = 0.3, 0.5, 1.0, 1.2 x 1e-9 m^2/s), atoms jittered by 0.1 A, positions
wrapped per atom as a DCD would hold them. Pressure tensor: 100,000 samples (10 fs, OU shear
components). Prints each analysis's wall time and the total, and the recovered D as a sanity check.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.signal import lfilter

from elyte.analysis.conductivity import einstein_helfand, nernst_einstein
from elyte.analysis.density import density
from elyte.analysis.diffusion import self_diffusion_by_species
from elyte.analysis.rdf import radial_distribution
from elyte.analysis.solvation import first_shells
from elyte.analysis.statistics import block_average, detect_equilibration, mean_with_error
from elyte.analysis.trajectory import cell_volumes, molecule_centers, remove_com_drift, unwrap
from elyte.analysis.transference import onsager_conductivities, transference_nernst_einstein, transference_onsager
from elyte.analysis.viscosity import green_kubo_viscosity
from elyte.elements import masses as atomic_masses
from elyte.units import AMU_PER_ANGSTROM3_TO_G_PER_CM3

DT_FS = 1000.0
TEMPERATURE_K = 298.15
# species: (count, atom symbols, D in 1e-9 m^2/s)
SPECIES = {
    "Li+": (50, ["Li"], 0.3),
    "PF6-": (50, ["P"] + ["F"] * 6, 0.5),
    "EC": (180, ["C"] * 3 + ["O"] * 3 + ["H"] * 4, 1.0),
    "DMC": (150, ["C"] * 3 + ["O"] * 3 + ["H"] * 6, 1.2),
}
ION_CHARGES = {"Li+": 1.0, "PF6-": -1.0}
COORDINATING = {"PF6-": [1, 2, 3, 4, 5, 6], "EC": [3], "DMC": [3]}  # F of PF6-, carbonyl O


def build_system(frames: int, rng: np.random.Generator) -> dict:
    """Wrapped positions [T, N, 3] (A), cells [T, 3, 3], masses, molecule ids and species, Li and
    ligand atom indices."""
    symbols, mol_index, mol_species, ligand = [], [], [], []
    for name, (count, atoms, _) in SPECIES.items():
        for _ in range(count):
            ligand += [len(symbols) + k for k in COORDINATING.get(name, [])]
            symbols += atoms
            mol_index += [len(mol_species)] * len(atoms)
            mol_species.append(name)
    masses = atomic_masses(symbols)
    mol_index = np.array(mol_index)
    n_mol = len(mol_species)
    length = (masses.sum() * AMU_PER_ANGSTROM3_TO_G_PER_CM3 / 1.3) ** (1 / 3)  # ~1.3 g/cm^3
    cells = length * (1 + 0.002 * rng.normal(size=frames))[:, None, None] * np.eye(3)
    d = np.array([SPECIES[s][2] for s in mol_species])
    steps = rng.normal(size=(frames, n_mol, 3)) * np.sqrt(0.2 * d)[None, :, None]  # per-axis var 2 D dt
    com = np.cumsum(steps, axis=0) + rng.uniform(0, length, (n_mol, 3))
    offsets = rng.normal(scale=1.0, size=(len(symbols), 3))
    positions = com[:, mol_index] + offsets + rng.normal(scale=0.1, size=(frames, len(symbols), 3))
    wrapped = positions - np.floor(positions @ np.linalg.inv(cells)) @ cells
    return {
        "wrapped": wrapped,
        "cells": cells,
        "masses": masses,
        "mol_index": mol_index,
        "mol_species": np.array(mol_species),
        "li": np.nonzero(np.array(symbols) == "Li")[0],
        "ligand": np.array(ligand),
    }


def thermo_series(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 100,000-sample potential energy (kcal/mol, AR(1) with a start-up transient) and pressure
    tensor (bar, [T, 6]; OU shear components with tau = 100 fs at 10 fs sampling)."""
    n, a = 100_000, np.exp(-0.1)
    energy = -5000 + 20 * lfilter([1.0], [1.0, -0.99], rng.normal(size=n) * np.sqrt(1 - 0.99**2))
    energy += 200 * np.exp(-np.arange(n) / 2000)
    pressure = np.zeros((n, 6))
    pressure[:, :3] = rng.normal(scale=300.0, size=(n, 3))
    pressure[:, 3:] = lfilter([1.0], [1.0, -a], rng.normal(scale=300.0 * np.sqrt(1 - a**2), size=(n, 3)), axis=0)
    return energy, pressure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    system = build_system(args.frames, rng)
    n_atoms = len(system["masses"])
    print(f"{n_atoms} atoms, {args.frames} frames of {DT_FS / 1000:.0f} ps, {args.threads} threads")
    times: dict[str, float] = {}

    def timed(label: str, fn):
        start = time.perf_counter()
        out = fn()
        times[label] = time.perf_counter() - start
        return out

    def prepare():
        u = unwrap(system["wrapped"], system["cells"], system["mol_index"])
        u = remove_com_drift(u, system["masses"])
        return molecule_centers(u, system["masses"], system["mol_index"])

    com = timed("unwrap + COM + drift removal", prepare)
    species = system["mol_species"]
    diff = timed("MSD + D, 4 species (molecule COM)", lambda: self_diffusion_by_species(com, species, DT_FS))
    ions = np.isin(species, list(ION_CHARGES))
    q_ion = np.array([ION_CHARGES[s] for s in species[ions]])
    volume = float(cell_volumes(system["cells"]).mean())
    eh = timed(
        "Einstein-Helfand conductivity", lambda: einstein_helfand(com[:, ions], q_ion, volume, TEMPERATURE_K, DT_FS)
    )
    counts = {s: int(np.sum(species == s)) for s in ION_CHARGES}

    def transference():
        d = {s: diff[s].coefficient for s in counts}
        ne = nernst_einstein(d, counts, ION_CHARGES, volume, TEMPERATURE_K)
        on = onsager_conductivities(com[:, ions], species[ions], volume, TEMPERATURE_K, DT_FS)
        t_ne = transference_nernst_einstein(d, counts, ION_CHARGES, "Li+")
        return ne, t_ne, transference_onsager(on, ION_CHARGES, "Li+")

    ne, t_ne, t_on = timed("Nernst-Einstein + transference (NE, Onsager)", transference)
    frames, cells, li, ligand = system["wrapped"], system["cells"], system["li"], system["ligand"]
    subset = list(frames[:, np.concatenate([li, ligand])])  # as shell_cutoff_from_rdf does
    n_li, n_lig = len(li), len(ligand)
    rdf = timed(
        "RDF Li-O/F (8 A, 1000 frames)",
        lambda: radial_distribution(subset, cells[0], np.arange(n_li), np.arange(n_li, n_li + n_lig), r_max=8.0),
    )

    def shells():
        result = first_shells(frames, cells, li, ligand, system["mol_index"], species, cutoff_a=2.8)
        return result.coordination_numbers(), result.composition_fractions()

    timed("solvation shells (2.8 A)", shells)
    energy, pressure = thermo_series(rng)

    def statistics():
        rho = density(cell_volumes(cells), system["masses"].sum())
        eq = detect_equilibration(energy)
        return rho, eq, mean_with_error(energy[eq.t0 :]), block_average(energy[eq.t0 :])

    rho, eq, energy_mean, _ = timed("density + statistics (1e5-sample energy: t0, g, blocks)", statistics)
    gk = timed(
        "Green-Kubo viscosity (1e5 tensors, 200 bootstraps)",
        lambda: green_kubo_viscosity(pressure, volume, TEMPERATURE_K, 10.0),
    )

    print("\n| analysis | wall s |\n|---|---|")
    for label, seconds in times.items():
        print(f"| {label} | {seconds:.2f} |")
    print(f"| total | {sum(times.values()):.2f} |\n")
    for s, res in diff.items():
        print(f"D({s}) = {res.coefficient} (set {SPECIES[s][2]}), window {np.round(res.fit.window_fs)} fs")
    print(f"sigma_EH = {eh.conductivity}, sigma_NE = {ne}; t+ NE = {t_ne}, Onsager = {t_on}")
    print(f"density = {rho}, energy t0 = {eq.t0}, <E> = {energy_mean}, g(Li-O/F) at 6-8 A {rdf.g[150:].mean():.3f}")
    print(f"eta_GK = {gk.viscosity} (OU in 3 of 5 components: expected about 0.6)")


if __name__ == "__main__":
    main()
