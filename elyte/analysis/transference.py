"""Cation transference number from self-diffusion (Nernst-Einstein) and from the Onsager transport
coefficients (collective cross-correlations), each with an error.

>>> t_ne = transference_nernst_einstein(d, {"Li+": 50, "PF6-": 50}, {"Li+": 1, "PF6-": -1}, "Li+")
>>> onsager = onsager_conductivities(ion_com_a, ion_species, volume_a3, 298.15, timestep_fs=1000.0)
>>> t_on = transference_onsager(onsager, {"Li+": 1.0, "PF6-": -1.0}, "Li+")

Nernst-Einstein (ideal, uncorrelated ions): t_+ = N_+ z_+^2 D_+ / sum_s N_s z_s^2 D_s; the D errors are
propagated to first order (independent species).

Onsager (Fong, Self, McCloskey and Persson, Macromolecules 2020 / Wheeler and Newman 2004):
sigma_ij = e^2 / (6 V k_B T) lim d/dt <dR_i(t) . dR_j(t)>, R_i = sum of the unwrapped positions of
the ions of species i, in the barycentric frame (remove the system centre-of-mass drift first). The
conductivity is sigma = sum_ij z_i z_j sigma_ij and the transference number of species a is
t_a = z_a sum_j z_j sigma_aj / sigma. Cross terms come from collective MSDs,
<dR_i . dR_j> = (MSD(R_i + R_j) - MSD(R_i) - MSD(R_j)) / 2, each fitted over the same window
(default: the diffusive window of the ions' self-MSD) on the whole run and on time blocks; t_a's
error is the standard error of its per-block values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from elyte.analysis.conductivity import collective_slope_to_s_per_m, self_window
from elyte.analysis.msd import einstein_fit
from elyte.analysis.statistics import Estimate, standard_error


@dataclass(frozen=True)
class OnsagerConductivities:
    """sigma_ij (S/m) for ``species`` (matrix [S, S]), its block standard errors, the per-block
    matrices [n_blocks, S, S] and the fit window (fs)."""

    species: list[str]
    matrix: np.ndarray
    errors: np.ndarray
    block_matrices: np.ndarray
    window_fs: tuple[float, float]


def transference_nernst_einstein(
    diffusion: Mapping[str, Estimate], counts: Mapping[str, int], charges_e: Mapping[str, float], species: str
) -> Estimate:
    """t (dimensionless) of ``species`` from self-diffusion coefficients (any common unit), ion
    counts and charges (e) of every ionic species."""
    if species not in diffusion:
        raise ValueError(f"{species!r} is not among the diffusing species {sorted(diffusion)}")
    weights = {s: counts[s] * charges_e[s] ** 2 for s in diffusion}
    total = sum(weights[s] * diffusion[s].value for s in diffusion)
    t = weights[species] * diffusion[species].value / total
    # dt/dD_s = w_s (delta_s,a - t) / total
    grad = {s: weights[s] * ((s == species) - t) / total for s in diffusion}
    error = np.sqrt(sum((grad[s] * diffusion[s].error) ** 2 for s in diffusion))
    return Estimate(float(t), float(error))


def onsager_conductivities(
    positions_a: np.ndarray,
    species: Sequence[str],
    volume_a3: float,
    temperature_k: float,
    timestep_fs: float,
    n_blocks: int = 5,
    window_fs: tuple[float, float] | None = None,
    tolerance: float = 0.1,
    max_fraction: float = 0.5,
) -> OnsagerConductivities:
    """sigma_ij (S/m, without charges) from unwrapped ion positions [T, N, 3] (A; ion centres of mass),
    one species label per ion, the volume (A^3), T (K) and the frame spacing (fs)."""
    positions_a = np.asarray(positions_a, dtype=float)
    labels = np.asarray(species)
    if positions_a.ndim != 3 or labels.shape != (positions_a.shape[1],):
        raise ValueError(
            f"need positions [T, N, 3] and one species label per ion; got {positions_a.shape}, {labels.shape}"
        )
    names = list(dict.fromkeys(labels.tolist()))
    if window_fs is None:
        window_fs = self_window(positions_a, timestep_fs, n_blocks, tolerance, max_fraction)
    sums = [positions_a[:, labels == s].sum(axis=1, keepdims=True) for s in names]

    def slopes(r: np.ndarray) -> np.ndarray:  # whole-run value first, then one per block
        fit = einstein_fit(r, timestep_fs, n_blocks, window_fs)
        return np.concatenate([[fit.slope.value], fit.block_slopes])

    diag = [slopes(r) for r in sums]
    n = len(names)
    out = np.empty((n_blocks + 1, n, n))
    for i in range(n):
        out[:, i, i] = diag[i]
        for j in range(i + 1, n):
            out[:, i, j] = out[:, j, i] = 0.5 * (slopes(sums[i] + sums[j]) - diag[i] - diag[j])
    out *= collective_slope_to_s_per_m(volume_a3, temperature_k)
    errors = np.apply_along_axis(standard_error, 0, out[1:])
    return OnsagerConductivities(names, out[0], errors, out[1:], (float(window_fs[0]), float(window_fs[1])))


def _transference(matrix: np.ndarray, z: np.ndarray, index: int) -> float:
    return float(z[index] * (matrix[index] @ z) / (z @ matrix @ z))


def onsager_total_conductivity(onsager: OnsagerConductivities, charges_e: Mapping[str, float]) -> Estimate:
    """sigma = sum_ij z_i z_j sigma_ij (S/m), with the block standard error; equals the
    Einstein-Helfand conductivity of the same ions."""
    z = np.array([charges_e[s] for s in onsager.species], dtype=float)
    blocks = [z @ m @ z for m in onsager.block_matrices]
    return Estimate(float(z @ onsager.matrix @ z), standard_error(np.array(blocks)), "S/m")


def transference_onsager(onsager: OnsagerConductivities, charges_e: Mapping[str, float], species: str) -> Estimate:
    """t_a = z_a sum_j z_j sigma_aj / sum_ij z_i z_j sigma_ij (dimensionless) for ``species`` a."""
    if species not in onsager.species:
        raise ValueError(f"{species!r} is not among the Onsager species {onsager.species}")
    z = np.array([charges_e[s] for s in onsager.species], dtype=float)
    a = onsager.species.index(species)
    blocks = np.array([_transference(m, z, a) for m in onsager.block_matrices])
    return Estimate(_transference(onsager.matrix, z, a), standard_error(blocks))
