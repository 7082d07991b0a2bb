"""Ionic conductivity (S/m): Einstein-Helfand from the collective translational dipole, and the
Nernst-Einstein estimate from self-diffusion; their ratio is the ionicity (inverse Haven ratio).

>>> eh = einstein_helfand(unwrapped_a, charges_e, volume_a3, 298.15, timestep_fs=1000.0)
>>> ne = nernst_einstein({"Li+": d_li, "PF6-": d_pf6}, {"Li+": 50, "PF6-": 50},
...                      {"Li+": 1.0, "PF6-": -1.0}, volume_a3, 298.15)
>>> ionicity(eh.conductivity, ne)      # sigma_EH / sigma_NE, dimensionless

Einstein-Helfand: sigma = lim d/dt <|M(t) - M(0)|^2> / (6 V k_B T), M = sum_i q_i r_i over unwrapped
positions (A) with charges (e) in the barycentric frame (remove the system's centre-of-mass drift
first, :func:`elyte.analysis.trajectory.remove_com_drift`). The slope comes from
:func:`elyte.analysis.msd.einstein_fit` (whole-run value, time-block error). The collective MSD is a
single vector and too noisy for its own window choice, so by default the window is the diffusive
window of the charged particles' self-MSD (same rule as for D), up to ``max_fraction`` of a block.

Nernst-Einstein: sigma_NE = e^2 / (V k_B T) sum_s N_s z_s^2 D_s (uncorrelated ions), with the D errors
propagated in quadrature. The ratio EH / NE measures ion correlations (ion pairs moving together
carry no current); the two share a trajectory, so treating their errors as independent is an
approximation (conservative when both are driven by the same ion motion).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from elyte.analysis.msd import EinsteinFit, einstein_fit, msd, select_window
from elyte.analysis.statistics import Estimate, block_slices, ratio
from elyte.units import ANGSTROM2_PER_FS_TO_1E9_M2_PER_S, ANGSTROM_TO_M, BOLTZMANN_J_K, ELEMENTARY_CHARGE_C, FS_TO_S

S_PER_M = "S/m"


@dataclass(frozen=True)
class Conductivity:
    """Einstein-Helfand conductivity (S/m) and the collective-MSD fit behind it (MSD in e^2 A^2)."""

    conductivity: Estimate
    fit: EinsteinFit


def collective_slope_to_s_per_m(volume_a3: float, temperature_k: float) -> float:
    """Factor turning d<|sum q r|^2>/dt in e^2 A^2/fs into a conductivity in S/m: 1 / (6 V k_B T)."""
    if volume_a3 <= 0 or temperature_k <= 0:
        raise ValueError("volume (A^3) and temperature (K) must be positive")
    slope_si = ELEMENTARY_CHARGE_C**2 * ANGSTROM_TO_M**2 / FS_TO_S
    return slope_si / (6.0 * volume_a3 * ANGSTROM_TO_M**3 * BOLTZMANN_J_K * temperature_k)


def translational_dipole(positions_a: np.ndarray, charges_e: np.ndarray) -> np.ndarray:
    """M(t) = sum_i q_i r_i(t) as [T, 1, 3] (e A) from unwrapped positions [T, N, 3] and charges [N]."""
    positions_a = np.asarray(positions_a, dtype=float)
    charges_e = np.asarray(charges_e, dtype=float)
    if positions_a.ndim != 3 or charges_e.shape != (positions_a.shape[1],):
        raise ValueError(
            "need unwrapped positions [T, N, 3] and one charge per particle; "
            f"got {positions_a.shape} and {charges_e.shape}"
        )
    return np.einsum("tnk,n->tk", positions_a, charges_e)[:, None, :]


def self_window(
    positions_a: np.ndarray, timestep_fs: float, n_blocks: int, tolerance: float = 0.1, max_fraction: float = 0.5
) -> tuple[float, float]:
    """Diffusive window (fs) of the self-MSD of ``positions_a`` [T, N, 3], limited to ``max_fraction``
    of a block: the default window for collective (Einstein-Helfand, Onsager) fits."""
    block = block_slices(np.shape(positions_a)[0], n_blocks)[0]
    max_lag = max_fraction * (block.stop - block.start - 1) * timestep_fs
    return select_window(msd(positions_a), timestep_fs, tolerance, max_lag)


def einstein_helfand(
    positions_a: np.ndarray,
    charges_e: np.ndarray,
    volume_a3: float,
    temperature_k: float,
    timestep_fs: float,
    n_blocks: int = 5,
    window_fs: tuple[float, float] | None = None,
    tolerance: float = 0.1,
    max_fraction: float = 0.5,
) -> Conductivity:
    """sigma_EH (S/m) from unwrapped positions [T, N, 3] (A; atoms or ion centres), charges [N] (e),
    the (NVT) volume (A^3), T (K) and the frame spacing (fs)."""
    charges_e = np.asarray(charges_e, dtype=float)
    if window_fs is None:
        charged = np.asarray(positions_a)[:, charges_e != 0]
        if charged.shape[1] == 0:
            raise ValueError("no charged particles: every charge is zero")
        window_fs = self_window(charged, timestep_fs, n_blocks, tolerance, max_fraction)
    fit = einstein_fit(translational_dipole(positions_a, charges_e), timestep_fs, n_blocks, window_fs)
    factor = collective_slope_to_s_per_m(volume_a3, temperature_k)
    return Conductivity(Estimate(fit.slope.value * factor, fit.slope.error * factor, S_PER_M), fit)


def nernst_einstein(
    diffusion: Mapping[str, Estimate],
    counts: Mapping[str, int],
    charges_e: Mapping[str, float],
    volume_a3: float,
    temperature_k: float,
) -> Estimate:
    """sigma_NE (S/m) = e^2 / (V k_B T) sum_s N_s z_s^2 D_s, for self-diffusion coefficients D_s
    (1e-9 m^2/s), ion counts N_s and charges z_s (e) keyed by species, volume (A^3) and T (K)."""
    missing = [s for s in diffusion if s not in counts or s not in charges_e]
    if missing:
        raise ValueError(f"species {missing} lack a count or a charge; give both for every species in diffusion")
    # uncorrelated ions: d<|M|^2>/dt = 6 sum N z^2 D, with D converted to A^2/fs
    factor = 6.0 * collective_slope_to_s_per_m(volume_a3, temperature_k) / ANGSTROM2_PER_FS_TO_1E9_M2_PER_S
    terms = {s: counts[s] * charges_e[s] ** 2 * factor for s in diffusion}
    value = sum(terms[s] * diffusion[s].value for s in diffusion)
    error = np.sqrt(sum((terms[s] * diffusion[s].error) ** 2 for s in diffusion))
    return Estimate(float(value), float(error), S_PER_M)


def ionicity(einstein_helfand_s_per_m: Estimate, nernst_einstein_s_per_m: Estimate) -> Estimate:
    """sigma_EH / sigma_NE (dimensionless; 1 for uncorrelated ions, < 1 when ion pairs move together)."""
    return ratio(einstein_helfand_s_per_m, nernst_einstein_s_per_m)


def haven_ratio(einstein_helfand_s_per_m: Estimate, nernst_einstein_s_per_m: Estimate) -> Estimate:
    """Haven ratio sigma_NE / sigma_EH = 1 / ionicity (dimensionless)."""
    return ratio(nernst_einstein_s_per_m, einstein_helfand_s_per_m)
