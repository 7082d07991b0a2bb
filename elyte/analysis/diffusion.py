"""Self-diffusion coefficients from unwrapped trajectories (Einstein relation) and the Yeh-Hummer
finite-size correction. D is reported in 1e-9 m^2/s (= 1e-5 cm^2/s).

>>> com = molecule_centers(unwrap(wrapped, cells, mol), masses, mol)       # elyte.analysis.trajectory
>>> results = self_diffusion_by_species(com, species_of_molecule, timestep_fs=1000.0)
>>> d_inf = yeh_hummer_corrected(results["Li+"].coefficient, 298.15, viscosity, box_length_a)

D = lim MSD(t) / (6 t): the slope of the MSD over the diffusive window chosen from the data
(:func:`elyte.analysis.msd.select_window`), fitted on the whole run; its error is the standard error
of the same fit on contiguous time blocks or, when the diffusive regime starts beyond the reach of a
block (short runs), on disjoint groups of the particles (:func:`elyte.analysis.msd.einstein_fit`). Pass molecular
centres of mass for molecules (one "particle" per molecule) or atom positions for atomic ions.

In a periodic box of edge L, hydrodynamic self-interaction slows diffusion (Yeh and Hummer, J. Phys.
Chem. B 2004): D_inf = D_pbc + k_B T xi / (6 pi eta L), xi = 2.837297 for a cubic lattice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from elyte.analysis.msd import EinsteinFit, einstein_fit
from elyte.analysis.statistics import Estimate
from elyte.units import ANGSTROM2_PER_FS_TO_1E9_M2_PER_S, ANGSTROM_TO_M, BOLTZMANN_J_K, PA_S_TO_MPA_S

YEH_HUMMER_XI = 2.837297  # Madelung-like constant of the cubic lattice (Yeh & Hummer 2004)
D_UNIT = "1e-9 m^2/s"


@dataclass(frozen=True)
class Diffusion:
    """Self-diffusion coefficient ``coefficient`` (1e-9 m^2/s) and the MSD fit behind it."""

    coefficient: Estimate
    fit: EinsteinFit


def self_diffusion(positions_a: np.ndarray, timestep_fs: float, **fit_options) -> Diffusion:
    """D (1e-9 m^2/s) of the particles in ``positions_a`` [T, N, 3] (unwrapped, A) at frame
    spacing ``timestep_fs`` (fs). ``fit_options`` go to :func:`elyte.analysis.msd.einstein_fit`
    (n_blocks, window_fs, tolerance, max_fraction, particle_groups: on by default)."""
    fit = einstein_fit(positions_a, timestep_fs, **({"particle_groups": True} | fit_options))
    scale = ANGSTROM2_PER_FS_TO_1E9_M2_PER_S / 6.0
    return Diffusion(Estimate(fit.slope.value * scale, fit.slope.error * scale, D_UNIT), fit)


def self_diffusion_by_species(
    positions_a: np.ndarray, species: Sequence[str], timestep_fs: float, failures: dict[str, str] | None = None,
    **fit_options
) -> dict[str, Diffusion]:
    """:func:`self_diffusion` for each species label in ``species`` ([N], one label per particle of
    ``positions_a`` [T, N, 3]), in order of first appearance. With a ``failures`` dict, a species
    whose fit fails (no diffusive regime) is left out and the reason stored there under its label;
    without one, the first failure raises."""
    species = np.asarray(species)
    if species.shape != (np.shape(positions_a)[1],):
        raise ValueError(f"species must hold one label per particle ({np.shape(positions_a)[1]}), got {species.shape}")
    results = {}
    for label in dict.fromkeys(species.tolist()):
        try:
            results[label] = self_diffusion(np.asarray(positions_a)[:, species == label], timestep_fs, **fit_options)
        except ValueError as err:
            if failures is None:
                raise
            failures[label] = str(err)
    return results


def yeh_hummer_correction(temperature_k: float, viscosity_mpa_s: float, box_length_a: float) -> float:
    """k_B T xi / (6 pi eta L) in 1e-9 m^2/s for T (K), shear viscosity eta (mPa s) and cubic box
    edge L (A); for a non-cubic box use the cube root of the volume (approximate)."""
    if temperature_k <= 0 or viscosity_mpa_s <= 0 or box_length_a <= 0:
        raise ValueError("temperature (K), viscosity (mPa s) and box length (A) must all be positive")
    eta_pa_s = viscosity_mpa_s / PA_S_TO_MPA_S
    d_si = BOLTZMANN_J_K * temperature_k * YEH_HUMMER_XI / (6.0 * np.pi * eta_pa_s * box_length_a * ANGSTROM_TO_M)
    return float(d_si / 1.0e-9)


def yeh_hummer_corrected(
    diffusion: Estimate, temperature_k: float, viscosity_mpa_s: Estimate, box_length_a: float
) -> Estimate:
    """D_inf = D_pbc + correction (1e-9 m^2/s); the correction's error follows from eta's relative
    error (it scales as 1/eta) and adds in quadrature to D's."""
    correction = yeh_hummer_correction(temperature_k, viscosity_mpa_s.value, box_length_a)
    correction_error = correction * viscosity_mpa_s.error / viscosity_mpa_s.value
    return Estimate(diffusion.value + correction, float(np.hypot(diffusion.error, correction_error)), D_UNIT)
