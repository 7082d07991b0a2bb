"""Mean squared displacements and Einstein-relation slopes, shared by diffusion, conductivity and
transference.

Inputs are unwrapped positions [T, N, 3] in Angstrom at a fixed frame spacing ``timestep_fs`` (fs);
a collective coordinate (e.g. the translational dipole sum_i q_i r_i) is passed as [T, 1, 3].

- :func:`msd`: MSD(m) = < |r(t + m) - r(t)|^2 > averaged over all T - m time origins and the N
  particles, in O(N T log T) by FFT: MSD(m) = S1(m) - 2 S2(m), where S1 is a running sum of |r|^2
  and S2(m) = <r(t) . r(t + m)> a zero-padded FFT autocorrelation.
- :func:`local_slope`: beta(t) = d ln MSD / d ln t on a logarithmic time grid (1 ballistic, 1
  diffusive, < 1 caged).
- :func:`select_window`: the fit window, the longest stretch (in ln t) where |beta - 1| <= tolerance,
  up to ``max_lag_fs``: this skips the ballistic/caged start and stops before the noisy tail.
- :func:`einstein_fit`: the slope d MSD / dt (A^2/fs) from a least-squares line over the window
  (intercept free), on the whole run, and on ``n_blocks`` contiguous time blocks whose spread gives
  the standard error. The window must fit in a block, so by default it is chosen below
  ``max_fraction`` of the block length. A short run may reach the diffusive regime only beyond a
  block (molecular liquids take several ps); with ``particle_groups`` the window is then chosen below
  ``max_fraction`` of the whole run and the error comes from ``n_blocks`` disjoint groups of particles,
  each fitted over the whole run (self-diffusion of many particles; it neglects the weak correlation
  between particles of one box). A collective coordinate (one "particle") has only time blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elyte.analysis.statistics import Estimate, block_slices, standard_error

_CHUNK = 256  # particles per FFT batch: bounds memory at ~ 2 T x 256 x 3 complex numbers


def _check(positions: np.ndarray) -> np.ndarray:
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must be unwrapped [T frames, N particles, 3] (Angstrom), got {positions.shape}")
    if positions.shape[0] < 4:
        raise ValueError(f"an MSD needs at least 4 frames, got {positions.shape[0]}")
    return positions


def msd(positions: np.ndarray) -> np.ndarray:
    """MSD (A^2) at lags 0..T-1 frames, averaged over time origins and particles."""
    positions = _check(positions)
    n_frames, n_particles, _ = positions.shape
    origins = np.arange(n_frames, 0, -1)
    total = np.zeros(n_frames)
    for start in range(0, n_particles, _CHUNK):
        x = positions[:, start : start + _CHUNK]
        x = x - x.mean(axis=0)  # MSD is shift invariant; centring avoids cancellation in S1 - 2 S2
        sq = np.einsum("tnk,tnk->t", x, x)
        cum = np.concatenate([[0.0], np.cumsum(sq)])
        s1 = (cum[n_frames - np.arange(n_frames)] + (cum[-1] - cum[np.arange(n_frames)])) / origins
        f = np.fft.rfft(x, 2 * n_frames, axis=0)
        s2 = np.fft.irfft(np.einsum("fnk,fnk->f", f, np.conj(f)), 2 * n_frames)[:n_frames] / origins
        total += s1 - 2.0 * s2
    result = total / n_particles
    result[0] = 0.0
    return np.maximum(result, 0.0)


def local_slope(msd_a2: np.ndarray, timestep_fs: float, points_per_decade: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Times t (fs) on a logarithmic grid from one frame to the last lag, and beta(t) = d ln MSD /
    d ln t there (central differences of ln MSD interpolated in ln t)."""
    lag = np.arange(1, len(msd_a2)) * timestep_fs
    values = np.asarray(msd_a2, dtype=float)[1:]
    if np.any(values <= 0):
        raise ValueError("the MSD is zero at some lag: the particles do not move (are positions unwrapped?)")
    n_grid = max(3, int(points_per_decade * np.log10(lag[-1] / lag[0])) + 1)
    log_t = np.linspace(np.log(lag[0]), np.log(lag[-1]), n_grid)
    log_msd = np.interp(log_t, np.log(lag), np.log(values))
    return np.exp(log_t), np.gradient(log_msd, log_t)


def select_window(
    msd_a2: np.ndarray,
    timestep_fs: float,
    tolerance: float = 0.1,
    max_lag_fs: float | None = None,
    min_ratio: float = 2.0,
) -> tuple[float, float]:
    """Fit window (start, end) in fs: the longest run of grid times (up to ``max_lag_fs``, default
    half the run) with |beta - 1| <= ``tolerance``. Raises ``ValueError`` if that run spans less
    than a factor ``min_ratio`` in time (no diffusive regime reached)."""
    if max_lag_fs is None:
        max_lag_fs = 0.5 * (len(msd_a2) - 1) * timestep_fs
    last = min(len(msd_a2) - 1, int(max_lag_fs / timestep_fs + 1e-9))
    if last < 2:
        raise ValueError(f"max_lag_fs = {max_lag_fs} fs is shorter than two frames of {timestep_fs} fs")
    times, beta = local_slope(msd_a2[: last + 1], timestep_fs)
    good = np.abs(beta - 1.0) <= tolerance
    best, best_ratio, k = (0, 0), 1.0, 0
    while k < len(good):
        if not good[k]:
            k += 1
            continue
        end = k
        while end + 1 < len(good) and good[end + 1]:
            end += 1
        if times[end] / times[k] > best_ratio:
            best, best_ratio = (k, end), times[end] / times[k]
        k = end + 1
    if best_ratio < min_ratio:
        span = f"{beta.min():.2f}-{beta.max():.2f}" if len(beta) else "undefined"
        raise ValueError(
            f"no diffusive regime: the local slope d ln MSD / d ln t (range {span} up to {max_lag_fs:.0f} fs) "
            f"is not within 1 +/- {tolerance} over a factor {min_ratio} in time; run longer, use fewer "
            "blocks, raise the tolerance or pass window_fs explicitly"
        )
    return float(times[best[0]]), float(times[best[1]])


def fit_slope(msd_a2: np.ndarray, timestep_fs: float, window_fs: tuple[float, float]) -> float:
    """Slope d MSD / dt (A^2/fs) of a least-squares line through the MSD at all lags in the window."""
    lag = np.arange(len(msd_a2)) * timestep_fs
    inside = (lag >= window_fs[0] * (1 - 1e-9)) & (lag <= window_fs[1] * (1 + 1e-9))
    if inside.sum() < 2:
        raise ValueError(
            f"fit window {window_fs} fs holds {inside.sum()} lags of the {len(msd_a2)}-frame MSD "
            f"(frame spacing {timestep_fs} fs); widen it or use fewer blocks"
        )
    return float(np.polyfit(lag[inside], np.asarray(msd_a2)[inside], 1)[0])


@dataclass(frozen=True)
class EinsteinFit:
    """Slope of an MSD-like curve: ``slope`` (A^2/fs) with its standard error, the slopes of the time
    blocks or particle groups behind the error (``error_from``: "time blocks" or "particle groups"),
    the window (fs) and the whole-run curve (``lag_fs``, ``msd_a2``) for plots."""

    slope: Estimate
    block_slopes: np.ndarray
    window_fs: tuple[float, float]
    lag_fs: np.ndarray
    msd_a2: np.ndarray
    error_from: str = "time blocks"


def _choose_window(curve: np.ndarray, timestep_fs: float, tolerance: float, max_fraction: float, block_lag_fs: float,
                   groups_allowed: bool) -> tuple[float, float]:
    """The diffusive window below ``max_fraction`` of a block; failing that, and if particle groups
    may give the error, below ``max_fraction`` of the whole run."""
    try:
        return select_window(curve, timestep_fs, tolerance, max_fraction * block_lag_fs)
    except ValueError:
        if not groups_allowed:
            raise
    return select_window(curve, timestep_fs, tolerance, max_fraction * (len(curve) - 1) * timestep_fs)


def einstein_fit(
    positions: np.ndarray,
    timestep_fs: float,
    n_blocks: int = 5,
    window_fs: tuple[float, float] | None = None,
    tolerance: float = 0.1,
    max_fraction: float = 0.5,
    particle_groups: bool = False,
) -> EinsteinFit:
    """Slope of the MSD of ``positions`` [T, N, 3] (A) with its standard error.

    The window is ``window_fs`` if given, else :func:`select_window` on the whole-run MSD up to
    ``max_fraction`` of a block's length. The same window is fitted on the whole run (the value)
    and on each of ``n_blocks`` contiguous blocks (standard error of the block slopes = the error).
    With ``particle_groups`` and at least ``n_blocks`` particles, a window that only a longer lag
    reaches (up to ``max_fraction`` of the run) is fitted on ``n_blocks`` disjoint particle groups
    over the whole run instead of time blocks.
    """
    if timestep_fs <= 0:
        raise ValueError(f"timestep_fs (frame spacing) must be positive, got {timestep_fs}")
    positions = _check(positions)
    blocks = block_slices(positions.shape[0], n_blocks)
    block_lag = (blocks[0].stop - blocks[0].start - 1) * timestep_fs
    groups_allowed = particle_groups and positions.shape[1] >= n_blocks
    curve = msd(positions)
    if window_fs is None:
        window_fs = _choose_window(curve, timestep_fs, tolerance, max_fraction, block_lag, groups_allowed)
    if window_fs[1] <= block_lag * (1 + 1e-9):
        error_from = "time blocks"
        slopes = np.array([fit_slope(msd(positions[b]), timestep_fs, window_fs) for b in blocks])
    elif groups_allowed:
        error_from = "particle groups"
        groups = np.array_split(np.arange(positions.shape[1]), n_blocks)
        slopes = np.array([fit_slope(msd(positions[:, g]), timestep_fs, window_fs) for g in groups])
    else:
        raise ValueError(
            f"fit window ends at {window_fs[1]} fs, beyond a block of {blocks[0].stop - blocks[0].start} frames; "
            "use fewer blocks" + ("" if particle_groups else " or particle groups (self-diffusion)")
        )
    value = fit_slope(curve, timestep_fs, window_fs)
    return EinsteinFit(
        slope=Estimate(value, standard_error(slopes), "A^2/fs"),
        block_slopes=slopes,
        window_fs=(float(window_fs[0]), float(window_fs[1])),
        lag_fs=np.arange(len(curve)) * timestep_fs,
        msd_a2=curve,
        error_from=error_from,
    )
