"""Properties from the pipeline's runs, each with its error, method and plot.

Thin glue: reading stage outputs (thermo CSVs, DCD segments, cosine profiles) and calling the
estimators of ``elyte.analysis``. Reported units: g/cm^3, kJ/mol, mPa s, 1e-9 m^2/s, S/m.
"""

from __future__ import annotations

import json
from pathlib import Path

import mdtraj
import numpy as np
import pandas as pd

from elyte import units
from elyte.analysis.conductivity import einstein_helfand, ionicity, nernst_einstein
from elyte.analysis.density import density, density_series
from elyte.analysis.diffusion import self_diffusion_by_species, yeh_hummer_corrected
from elyte.analysis.msd import msd
from elyte.analysis.rdf import radial_distribution
from elyte.analysis.solvation import first_shells
from elyte.analysis.statistics import Estimate, detect_equilibration
from elyte.analysis.trajectory import molecule_centers, remove_com_drift
from elyte.analysis.transference import onsager_conductivities, transference_nernst_einstein, transference_onsager
from elyte.analysis.vaporization import heat_of_vaporization
from elyte.analysis.viscosity import cosine_viscosity
from elyte.md.stage import StageResult
from elyte.md.topology import molecule_index
from elyte.pipeline.report import PropertyResult, line_plot
from elyte.pipeline.simulate import GasRun, LiquidRun


def equilibrated(series: np.ndarray) -> np.ndarray:
    """The part of a series after the detected equilibration time (Chodera's method)."""
    return series[detect_equilibration(series).t0:]


def density_result(run: LiquidRun, plot_dir: Path) -> tuple[PropertyResult, str]:
    """Mean NPT-production density; plots the density over both NPT stages."""
    mass = float(run.masses.sum())
    production = run.stages["npt_production"].thermo()
    estimate = density(equilibrated(production.volume_A3.to_numpy()), mass)
    series = []
    for name in ("npt_equilibration", "npt_production"):
        if name in run.stages:
            t = run.stages[name].thermo()
            series.append((name, t.time_ps.tolist(), density_series(t.volume_A3.to_numpy(), mass).tolist()))
    offset = series[0][1][-1] if len(series) == 2 else 0.0
    if len(series) == 2:  # production continues after equilibration on the time axis
        series[1] = (series[1][0], [x + offset for x in series[1][1]], series[1][2])
    name = f"density_{run.temperature:.0f}K.png"
    line_plot(plot_dir / name, series, "time (ps)", "density (g/cm^3)", f"NPT at {run.temperature:.2f} K")
    return PropertyResult("density_g_cm3", estimate, "NPT mean, equilibration detected, s.e. from g"), name


def hvap_result(run: LiquidRun, gas: GasRun) -> PropertyResult:
    """Heat of vaporization of a neat liquid (kJ/mol): gas molecule vs liquid box, + RT."""
    liquid = equilibrated(run.stages["npt_production"].thermo().potential_kcal_mol.to_numpy())
    gas_energy = gas.stages["gas_production"].thermo().potential_kcal_mol.to_numpy()
    estimate = heat_of_vaporization(liquid, len(run.molecules), gas_energy, run.temperature)
    kj = Estimate(estimate.value * units.KCAL_TO_KJ, estimate.error * units.KCAL_TO_KJ, "kJ/mol")
    return PropertyResult("hvap_kJ_mol", kj, "E_gas - E_liquid/N + RT")


# --- transport and structure from the NVT trajectory --------------------------------------------

COORDINATING_ELEMENTS = ("O", "N", "F")  # atoms that can sit in a cation's first shell


def _stage_settings(result: StageResult) -> dict:
    return json.loads((result.directory / "stage.json").read_text())


def load_trajectory(run: LiquidRun, stage: str = "nvt_transport") -> tuple[np.ndarray, np.ndarray, float]:
    """Unwrapped positions [T, N, 3] (A, drift removed), cell [3, 3] (A) and frame spacing (fs)."""
    result = run.stages[stage]
    settings = _stage_settings(result)
    files = [str(p / "traj.dcd") for p in result.segments if (p / "traj.dcd").is_file()]
    if not files:
        raise ValueError(f"stage {stage} wrote no trajectory: set trajectory_every in the protocol")
    traj = mdtraj.load(files, top=mdtraj.Topology.from_openmm(run.topology))
    positions = traj.xyz.astype(float) * units.NM_TO_ANGSTROM  # OpenMM coordinates are never wrapped
    cell = traj.unitcell_vectors[0].astype(float) * units.NM_TO_ANGSTROM
    return remove_com_drift(positions, run.masses), cell, settings["trajectory_every"] * settings["timestep"]


def viscosity_result(run: LiquidRun, rho: Estimate) -> PropertyResult:
    """Shear viscosity (mPa s) from the cosine-perturbation NEMD stage.

    The Langevin friction gamma also damps the imposed flow: A = (eta k^2 / rho + gamma) V at steady
    state, so eta = rho A / (V k^2) - rho gamma / k^2.
    """
    result = run.stages["nemd"]
    settings = _stage_settings(result)
    amplitude = pd.concat([pd.read_csv(p / "cosine.csv") for p in result.segments], ignore_index=True)
    velocity = amplitude.velocity_amplitude_nm_ps.to_numpy() * units.NM_TO_ANGSTROM / units.PS_TO_FS
    acceleration = settings["cosine_acceleration"] * units.NM_PER_PS2_TO_ANGSTROM_PER_FS2
    box_z = float(result.final.box[2, 2])
    raw = cosine_viscosity(acceleration, velocity, rho, box_z)
    k = 2.0 * np.pi / box_z
    friction_per_fs = settings["friction"] / units.PS_TO_FS
    damping = rho.value / units.AMU_PER_ANGSTROM3_TO_G_PER_CM3 * friction_per_fs / k**2 * units.AMU_PER_ANGSTROM_FS_TO_MPA_S
    estimate = Estimate(raw.value - damping, raw.error, raw.unit)
    return PropertyResult("viscosity_mPa_s", estimate, "cosine NEMD, friction-corrected")


def _ions(run: LiquidRun) -> dict[str, float]:
    return {m.name: float(m.charge) for m in run.molecules if m.charge}


def transport_results(run: LiquidRun, plot_dir: Path, viscosity: Estimate | None) -> tuple[list[PropertyResult], list[str], list[tuple[str, str]]]:
    """Self-diffusion per species (Yeh-Hummer corrected when the viscosity is known), and for
    electrolytes the Einstein-Helfand and Nernst-Einstein conductivities, their ratio and the cation
    transference number (Nernst-Einstein and Onsager). A species or a quantity the run is too short
    for becomes a note; the MSDs are plotted either way. Returns properties, notes and plots."""
    positions, cell, dt = load_trajectory(run)
    index = molecule_index(run.molecules)
    names = np.array([m.name for m in run.molecules])
    centres = molecule_centers(positions, run.masses, index)
    volume, length = float(abs(np.linalg.det(cell))), float(abs(np.linalg.det(cell))) ** (1.0 / 3.0)
    failures: dict[str, str] = {}
    diffusion = self_diffusion_by_species(centres, names, dt, failures)
    props, plots = [], []
    notes = [f"D of {species} not computed: {reason}" for species, reason in failures.items()]
    for species, d in diffusion.items():
        value, method = d.coefficient, f"MSD of centres of mass (Einstein; error from {d.fit.error_from})"
        if viscosity is not None and viscosity.value > 0:
            value, method = yeh_hummer_corrected(value, run.temperature, viscosity, length), method + " + Yeh-Hummer"
        props.append(PropertyResult(f"D_{species}_1e-9_m2_s", value, method))
    if viscosity is None and diffusion:
        notes.append("Diffusion coefficients are not finite-size corrected (no viscosity: the protocol has no NEMD stage).")
    name = f"msd_{run.temperature:.0f}K.png"
    lag_ps = (np.arange(len(centres)) * dt / 1000.0).tolist()
    line_plot(plot_dir / name, [(s, lag_ps, msd(centres[:, names == s]).tolist()) for s in dict.fromkeys(names)],
              "lag (ps)", "MSD (A^2)", f"centre-of-mass MSD, {run.temperature:.2f} K")
    plots.append(("mean squared displacements", name))
    charges = _ions(run)
    if len(charges) >= 2:
        try:
            props += _ionic_transport(run, centres, names, charges, diffusion, volume, dt)
        except ValueError as err:
            notes.append(f"ionic conductivity and transference not computed: {err}")
    return props, notes, plots


def _ionic_transport(run: LiquidRun, centres: np.ndarray, names: np.ndarray, charges: dict[str, float],
                     diffusion: dict, volume: float, dt: float) -> list[PropertyResult]:
    """Einstein-Helfand and Nernst-Einstein conductivities, their ratio, and the cation transference
    number from self-diffusion (Nernst-Einstein) and from Onsager coefficients."""
    missing = [s for s in charges if s not in diffusion]
    if missing:
        raise ValueError(f"no self-diffusion coefficient of {', '.join(missing)}")
    ion = np.isin(names, list(charges))
    z = np.array([charges[n] for n in names[ion]])
    eh = einstein_helfand(centres[:, ion], z, volume, run.temperature, dt)
    counts = {s: int((names == s).sum()) for s in charges}
    ion_d = {s: diffusion[s].coefficient for s in charges}
    ne = nernst_einstein(ion_d, counts, charges, volume, run.temperature)
    cation = max(charges, key=charges.get)
    onsager = onsager_conductivities(centres[:, ion], names[ion], volume, run.temperature, dt)
    return [PropertyResult("conductivity_EH_S_m", eh.conductivity, "Einstein-Helfand (collective)"),
            PropertyResult("conductivity_NE_S_m", ne, "Nernst-Einstein (self-diffusion)"),
            PropertyResult("ionicity_EH_over_NE", ionicity(eh.conductivity, ne), "sigma_EH / sigma_NE"),
            PropertyResult(f"transference_{cation}_NE", transference_nernst_einstein(ion_d, counts, charges, cation),
                           "Nernst-Einstein"),
            PropertyResult(f"transference_{cation}_Onsager", transference_onsager(onsager, charges, cation),
                           "Onsager coefficients (collective)")]


def solvation_result(run: LiquidRun, plot_dir: Path) -> tuple[list[PropertyResult], dict, list[tuple[str, str]]]:
    """First solvation shell of each single-atom cation (e.g. Li+): coordination numbers by species and
    the distribution of shell compositions; the cation-ligand RDF is plotted."""
    positions, cell, _ = load_trajectory(run)
    index = molecule_index(run.molecules)
    symbols = np.array([a.element.symbol for a in run.topology.atoms()])
    names = [m.name for m in run.molecules]
    props, details, plots = [], {}, []
    for cation in [m for m in dict.fromkeys(run.molecules) if m.charge > 0 and m.n_atoms == 1]:
        centres = np.nonzero(np.array(names)[index] == cation.name)[0]
        ligands = np.nonzero(np.isin(symbols, COORDINATING_ELEMENTS) & (np.array(names)[index] != cation.name))[0]
        shells = first_shells(positions, cell, centres, ligands, index, names)
        for species, cn in shells.coordination_numbers().items():
            props.append(PropertyResult(f"CN_{cation.name}_{species}", cn,
                                        f"molecules within {shells.cutoff_a:.2f} A (first RDF minimum)"))
        details[f"shell_composition_{cation.name}"] = {k: v.as_dict() for k, v in shells.composition_fractions().items()}
        rdf = radial_distribution([f for f in positions], cell, centres, ligands, r_max=min(8.0, 0.499 * float(cell[0, 0])))
        name = f"rdf_{cation.name}_{run.temperature:.0f}K.png"
        line_plot(plot_dir / name, [(f"{cation.name}-{'/'.join(COORDINATING_ELEMENTS)}", rdf.r.tolist(), rdf.g.tolist())],
                  "r (A)", "g(r)", f"{cation.name} first shell cut at {shells.cutoff_a:.2f} A")
        plots.append((f"{cation.name} RDF", name))
    return props, details, plots
