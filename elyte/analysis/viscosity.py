"""Shear viscosity (mPa s = cP): Green-Kubo from equilibrium pressure-tensor fluctuations, and the
cosine-perturbation (periodic perturbation) non-equilibrium method.

Green-Kubo
----------
>>> gk = green_kubo_viscosity(pressure_bar, volume_a3, 298.15, timestep_fs=10.0)
>>> gk.viscosity                        # Estimate in mPa s

eta = V / (k_B T) int_0^inf <P_ab(0) P_ab(t)> dt, averaged over the five independent traceless shear
components of an isotropic fluid: P_xy, P_xz, P_yz, (P_xx - P_yy)/2, (P_yy - P_zz)/2 (each has the
same autocorrelation). Pressure tensors come in bar as [T, 3, 3] or [T, 6] (xx, yy, zz, xy, xz, yz).
The autocorrelation of each component (mean not removed: it is zero) is computed by FFT over all time origins
within each of ``n_blocks`` contiguous time blocks, and integrated (trapezoid) to a running integral
eta_k(t) per block. The plateau follows the time decomposition method of Zhang, Otani and Maginn
(JCTC 2015), with the blocks playing the independent runs:

1. the mean <eta(t)> and standard deviation s(t) over blocks; s(t) is fitted by A t^b;
2. the cutoff t_c is the first time where s(t) exceeds ``std_fraction`` of <eta(t)> (or the longest
   lag, ``max_lag_fraction`` of a block). Zhang et al. use 0.4 over independent runs; the default
   here is 0.2, because on Ornstein-Uhlenbeck data split into 10 blocks 0.4 let noisy tails into the
   fit and the bootstrap error then understated the spread over replicas by 2x (0.2: within 20%);
3. <eta(t)> on (0, t_c] (at most 300 evenly strided points) is fitted, with weights 1/t^b, by the
   double exponential
   A alpha tau1 (1 - exp(-t/tau1)) + A (1 - alpha) tau2 (1 - exp(-t/tau2)) (variable projection:
   non-negative linear coefficients, decay times searched), whose t -> inf limit
   A alpha tau1 + A (1 - alpha) tau2 is the viscosity (tau1, tau2 <= t_c / 3: a decay must be
   95% complete within the fitted range, else its limit extrapolates the noisy tail);
4. the error is half the central 68% interval of that limit over ``n_bootstrap`` bootstrap
   resamples of the blocks (cutoff and weights kept), robust to the odd runaway fit.

Cosine perturbation
-------------------
>>> v = cosine_velocity_amplitude(velocities_a_fs, positions_a, masses_amu, box_z_a)   # [T] A/fs
>>> cosine_viscosity(acceleration_a_fs2, v, density_g_cm3, box_z_a)                   # mPa s

An external acceleration a_x(z) = A cos(k z), k = 2 pi / L_z, drives a steady velocity profile
v_x(z) = V cos(k z) with eta = A rho / (V k^2) (Hess, J. Chem. Phys. 2002). V per frame is the
mass-weighted least-squares amplitude V = sum m v_x cos(kz) / sum m cos^2(kz). Accelerations are in
A/fs^2 (OpenMM's nm/ps^2 times ``elyte.units.NM_PER_PS2_TO_ANGSTROM_PER_FS2``). The V series starts
with a transient (the profile builds up over ~ rho / (eta k^2)), which :func:`detect_equilibration`
removes; the error of <V> uses the statistical inefficiency and is propagated to eta with the
density's. At finite k the method probes eta(k); choose L_z large or check two box lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from elyte.analysis.statistics import Estimate, block_slices, detect_equilibration, mean_with_error
from elyte.units import (
    AMU_PER_ANGSTROM3_TO_G_PER_CM3,
    AMU_PER_ANGSTROM_FS_TO_MPA_S,
    ANGSTROM_TO_M,
    BAR_TO_PA,
    BOLTZMANN_J_K,
    FS_TO_S,
    PA_S_TO_MPA_S,
)

MPA_S = "mPa s"
_TAU_RESOLVED = 3.0  # fitted decay times are at most t_c / 3
_MAX_FIT_POINTS = 300  # the running integral is smooth: a uniform stride keeps fits fast


@dataclass(frozen=True)
class GreenKubo:
    """Green-Kubo viscosity (mPa s) and the curves behind it: lag times (fs), the block-mean running
    integral and its standard deviation over blocks (mPa s), the cutoff (fs) and the fitted
    double-exponential parameters (A in mPa s/fs, alpha, tau1 and tau2 in fs)."""

    viscosity: Estimate
    time_fs: np.ndarray
    running_integral: np.ndarray
    running_std: np.ndarray
    cutoff_fs: float
    fit_parameters: tuple[float, float, float, float]


def shear_components(pressure_bar: np.ndarray) -> np.ndarray:
    """The five independent traceless shear components [T, 5] (bar) from a pressure tensor series
    [T, 3, 3] or [T, 6] (xx, yy, zz, xy, xz, yz)."""
    p = np.asarray(pressure_bar, dtype=float)
    if p.ndim == 3 and p.shape[1:] == (3, 3):
        xx, yy, zz, xy, xz, yz = p[:, 0, 0], p[:, 1, 1], p[:, 2, 2], p[:, 0, 1], p[:, 0, 2], p[:, 1, 2]
    elif p.ndim == 2 and p.shape[1] == 6:
        xx, yy, zz, xy, xz, yz = p.T
    else:
        raise ValueError(f"pressure tensor must be [T, 3, 3] or [T, 6] (xx, yy, zz, xy, xz, yz) in bar, got {p.shape}")
    return np.stack([xy, xz, yz, 0.5 * (xx - yy), 0.5 * (yy - zz)], axis=1)


def _mean_acf(components: np.ndarray, n_lags: int) -> np.ndarray:
    """Autocorrelation <P(0) P(t)> (bar^2) at lags 0..n_lags-1 averaged over components [T, C] and all
    origins. The mean is not removed: equilibrium shear stresses average to zero, while removing a
    finite block's mean lowers every lag by ~ var tau / T_block, which the integral accumulates."""
    n = len(components)
    f = np.fft.rfft(components, 2 * n, axis=0)
    acov = np.fft.irfft((f * np.conj(f)).real.sum(axis=1), 2 * n)[:n_lags]
    return acov / (np.arange(n, n - n_lags, -1) * components.shape[1])


def _limit(params: np.ndarray) -> float:
    """t -> inf limit of the double exponential with params (A, alpha, tau1, tau2)."""
    a, alpha, tau1, tau2 = params
    return float(a * (alpha * tau1 + (1 - alpha) * tau2))


class _PlateauFit:
    """Weighted least squares of A alpha tau1 (1 - exp(-t/tau1)) + A (1 - alpha) tau2 (1 - exp(-t/tau2))
    to a running integral, by variable projection: for given decay times the model is linear in
    c1 = A alpha >= 0 and c2 = A (1 - alpha) >= 0 (two-term non-negative least squares), so only
    (ln tau1, ln tau2) are searched (grid, then Nelder-Mead). Decay times lie in [tau_min, t_end / 3]: a
    decay must complete (95%) within the fitted range, or its limit extrapolates the noisy tail."""

    def __init__(self, t: np.ndarray, sigma: np.ndarray, tau_min: float):
        self.t, self.w = t, 1.0 / sigma
        self.log_bounds = np.log([tau_min, t[-1] / _TAU_RESOLVED])

    def _solve(self, log_tau: np.ndarray, curve: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Relative weighted residual, non-negative (c1, c2) and the decay times for ``log_tau``."""
        tau = np.exp(np.clip(log_tau, *self.log_bounds))
        m = tau[:, None] * (1 - np.exp(-self.t[None, :] / tau[:, None])) * self.w
        y = curve * self.w
        gram, h, yy = m @ m.T, m @ y, y @ y
        single = np.maximum(h, 0.0) / np.diag(gram)  # one term alone, the other coefficient zero
        candidates = [np.array([single[0], 0.0]), np.array([0.0, single[1]])]
        if np.linalg.det(gram) > 1e-12 * gram[0, 0] * gram[1, 1]:
            joint = np.linalg.solve(gram, h)
            if np.all(joint >= 0):
                candidates.append(joint)
        residuals = [yy - 2 * c @ h + c @ gram @ c for c in candidates]
        k = int(np.argmin(residuals))
        return residuals[k] / yy, candidates[k], tau

    def __call__(self, curve: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """(A, alpha, tau1, tau2); ``start`` = (ln tau1, ln tau2) skips the grid search."""
        if start is None:
            grid = np.linspace(*self.log_bounds, 16)
            pairs = [np.array([x, y]) for k, x in enumerate(grid) for y in grid[k:]]
            start = min(pairs, key=lambda p: self._solve(p, curve)[0])
        options = {"xatol": 1e-3, "fatol": 1e-12}  # decay times to 0.1%; residual is relative
        best = minimize(lambda p: self._solve(p, curve)[0], start, method="Nelder-Mead", options=options)
        _, coef, tau = self._solve(best.x, curve)
        total = coef.sum()
        return np.array([total, coef[0] / total if total > 0 else 0.5, tau[0], tau[1]])


def _running_integrals(
    components: np.ndarray, n_blocks: int, max_lag_fraction: float, timestep_fs: float
) -> np.ndarray:
    """Trapezoid running integrals [n_blocks, n_lags] (bar^2 fs) of each block's mean shear ACF."""
    blocks = block_slices(len(components), n_blocks)
    n_lags = int(max_lag_fraction * (blocks[0].stop - blocks[0].start))
    if n_lags < 10:
        raise ValueError(f"blocks of {blocks[0].stop - blocks[0].start} samples are too short; use fewer blocks")
    acfs = np.stack([_mean_acf(components[b], n_lags) for b in blocks])
    steps = 0.5 * (acfs[:, 1:] + acfs[:, :-1]) * timestep_fs
    return np.concatenate([np.zeros((n_blocks, 1)), np.cumsum(steps, axis=1)], axis=1)


def green_kubo_viscosity(
    pressure_bar: np.ndarray,
    volume_a3: float,
    temperature_k: float,
    timestep_fs: float,
    n_blocks: int = 10,
    max_lag_fraction: float = 0.5,
    std_fraction: float = 0.2,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> GreenKubo:
    """Green-Kubo shear viscosity (mPa s) from a pressure tensor series (bar) sampled every
    ``timestep_fs`` (fs) at volume (A^3) and temperature (K); see the module docstring."""
    if volume_a3 <= 0 or temperature_k <= 0 or timestep_fs <= 0:
        raise ValueError("volume (A^3), temperature (K) and timestep_fs (fs) must be positive")
    if n_bootstrap < 2:
        raise ValueError(f"n_bootstrap must be >= 2 to give an error, got {n_bootstrap}")
    # V / (k_B T) * bar^2 * fs -> Pa s -> mPa s
    factor = volume_a3 * ANGSTROM_TO_M**3 * BAR_TO_PA**2 * FS_TO_S / (BOLTZMANN_J_K * temperature_k) * PA_S_TO_MPA_S
    running = factor * _running_integrals(shear_components(pressure_bar), n_blocks, max_lag_fraction, timestep_fs)
    t = np.arange(running.shape[1]) * timestep_fs
    mean, std = running.mean(axis=0), running.std(axis=0, ddof=1)

    positive = (t > 0) & (std > 0)
    b_exp = np.polyfit(np.log(t[positive]), np.log(std[positive]), 1)[0]
    above = np.nonzero((t > 0) & (std > std_fraction * np.abs(mean)))[0]
    cut = int(above[0]) if len(above) else len(t) - 1
    if cut < 4:
        raise ValueError(
            "the running integral's spread exceeds its value from the start: too little data or a "
            "drifting pressure tensor; run longer"
        )
    window = slice(1, cut + 1, max(1, cut // _MAX_FIT_POINTS))
    fit = _PlateauFit(t[window], t[window] ** b_exp, tau_min=0.1 * timestep_fs)
    params = fit(mean[window])
    start = np.log(params[2:])
    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(n_bootstrap):
        curve = running[rng.integers(0, n_blocks, n_blocks)].mean(axis=0)
        resampled.append(_limit(fit(curve[window], start)))
    # half the central 68% interval: a standard error that a few runaway fits cannot inflate
    error = float(np.diff(np.percentile(resampled, [15.865, 84.135]))[0] / 2)
    fitted = tuple(float(p) for p in params)
    return GreenKubo(Estimate(_limit(params), error, MPA_S), t, mean, std, float(t[cut]), fitted)


def cosine_velocity_amplitude(
    velocities_a_fs: np.ndarray, positions_a: np.ndarray, masses_amu: np.ndarray, box_z_a: float | np.ndarray
) -> np.ndarray:
    """Amplitude V (A/fs) per frame of v_x(z) = V cos(2 pi z / L_z): the mass-weighted least-squares
    fit to velocities [T, N, 3] (A/fs) at positions [T, N, 3] (A, only z is used, wrapped or not),
    for masses [N] (amu) and box length L_z (A; a number or one per frame)."""
    v = np.asarray(velocities_a_fs, dtype=float)
    z = np.asarray(positions_a, dtype=float)
    m = np.asarray(masses_amu, dtype=float)
    if v.ndim != 3 or v.shape != z.shape or m.shape != (v.shape[1],):
        raise ValueError(
            f"need velocities and positions [T, N, 3] and masses [N]; got {v.shape}, {z.shape}, {m.shape}"
        )
    k = 2.0 * np.pi / np.broadcast_to(np.asarray(box_z_a, dtype=float), (v.shape[0],))
    c = np.cos(k[:, None] * z[:, :, 2])
    return np.einsum("n,tn,tn->t", m, v[:, :, 0], c) / np.einsum("n,tn->t", m, c * c)


def cosine_viscosity(
    acceleration_a_fs2: float,
    velocity_amplitude_a_fs: np.ndarray,
    density_g_cm3: Estimate | float,
    box_z_a: float,
    discard_transient: bool = True,
) -> Estimate:
    """eta = A rho / (<V> k^2) (mPa s) from the applied acceleration amplitude A (A/fs^2), the
    velocity amplitude series V (A/fs), the density (g/cm^3; an Estimate carries its error along)
    and the box length L_z (A), k = 2 pi / L_z."""
    if acceleration_a_fs2 <= 0 or box_z_a <= 0:
        raise ValueError("acceleration amplitude (A/fs^2) and box length (A) must be positive")
    series = np.asarray(velocity_amplitude_a_fs, dtype=float)
    if discard_transient:
        series = series[detect_equilibration(series).t0 :]
    v = mean_with_error(series)
    if v.value <= 0:
        raise ValueError(
            f"mean velocity amplitude {v.value:.3g} A/fs is not positive: the perturbation is too weak "
            "for the run length, or the acceleration's sign/phase does not match cos(2 pi z / L_z)"
        )
    rho = density_g_cm3 if isinstance(density_g_cm3, Estimate) else Estimate(float(density_g_cm3), 0.0)
    k = 2.0 * np.pi / box_z_a
    rho_amu_a3 = rho.value / AMU_PER_ANGSTROM3_TO_G_PER_CM3
    value = acceleration_a_fs2 * rho_amu_a3 / (v.value * k**2) * AMU_PER_ANGSTROM_FS_TO_MPA_S
    error = value * np.hypot(v.error / v.value, rho.error / rho.value)
    return Estimate(float(value), float(error), MPA_S)
