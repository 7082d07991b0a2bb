"""Uncertainty of averages over correlated time series (thermo output, per-frame observables).

Every property in the pipeline is reported as an :class:`Estimate` (value, one standard error, unit).
The tools here turn a correlated series into such an estimate:

- :func:`autocorrelation`: normalized autocorrelation function by FFT (all time origins).
- :func:`statistical_inefficiency`: g = 1 + 2 sum_t (1 - t/N) C(t) = 2 tau_int, with the sum
  truncated by Sokal's self-consistent window (smallest M with M >= c tau_int(M)); the variance of
  the mean of N correlated samples is var(x) g / N.
- :func:`detect_equilibration`: the start t0 that maximizes the number of effectively independent
  samples (N - t0) / g(t0) of the remainder (Chodera, JCTC 2016).
- :func:`block_average`: Flyvbjerg-Petersen blocking: the standard error of the mean for block
  lengths 1, 2, 4, ... and the plateau value, a check independent of the ACF.
- :func:`mean_with_error`: the mean and its standard error sqrt(var g / N).
- :func:`ratio`: a quotient of two independent estimates with its propagated error.
- :func:`block_slices`, :func:`standard_error`: contiguous time blocks and the standard error of
  per-block estimates, as the transport modules use for their errors.

All functions take plain 1D arrays in any unit; the unit is carried by :class:`Estimate` only.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A number with its one-sigma standard error, in ``unit``."""

    value: float
    error: float
    unit: str = ""

    def as_dict(self) -> dict[str, float | str]:
        """JSON-ready ``{"value", "error", "unit"}``."""
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.value:.5g} +/- {self.error:.2g} {self.unit}".rstrip()


@dataclass(frozen=True)
class Equilibration:
    """Start index ``t0`` of the equilibrated part, its statistical inefficiency ``g`` and the
    number of effectively independent samples ``n_effective`` = (N - t0) / g."""

    t0: int
    g: float
    n_effective: float


@dataclass(frozen=True)
class BlockAverage:
    """Standard error of the mean against block length (samples) and the plateau estimate."""

    block_sizes: np.ndarray
    standard_errors: np.ndarray
    errors_of_errors: np.ndarray  # SE / sqrt(2 (n_blocks - 1)), the spread of each SE estimate
    plateau: Estimate  # standard error of the mean at the plateau and its uncertainty
    plateau_block_size: int


def _as_series(x: np.ndarray, name: str = "series", min_length: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1D (one value per sample), got shape {x.shape}")
    if len(x) < min_length:
        raise ValueError(f"{name} has {len(x)} samples; at least {min_length} are needed")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf; drop those samples first")
    return x


def autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalized autocorrelation C(t) = <dx(s) dx(s+t)> / <dx^2>, averaged over all N - t origins.

    Computed by zero-padded FFT in O(N log N). C(0) = 1; a constant series gives C = 1 at t = 0 and
    0 elsewhere.
    """
    x = _as_series(x)
    n = len(x)
    dx = x - x.mean()
    f = np.fft.rfft(dx, 2 * n)
    acov = np.fft.irfft(f * np.conj(f), 2 * n)[:n] / np.arange(n, 0, -1)
    if acov[0] <= 0.0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    return acov / acov[0]


def statistical_inefficiency(x: np.ndarray, window_factor: float = 5.0) -> float:
    """g = 1 + 2 sum_{t=1}^{M} (1 - t/N) C(t) >= 1 (samples per independent sample).

    The window M is Sokal's: the smallest M with M >= ``window_factor`` * tau_int(M), where
    tau_int(M) = g(M) / 2. This cuts the noisy tail of C(t) at a few correlation times, where the
    truncation bias (~exp(-M / tau)) is well below the statistical error of g. If no such M exists
    in the first half of the series, the series is too short to estimate g reliably: a warning is
    issued and g at M = N/2 is returned.
    """
    x = _as_series(x)
    n = len(x)
    c = autocorrelation(x)
    t = np.arange(1, n // 2 + 1)
    g = 1.0 + 2.0 * np.cumsum((1.0 - t / n) * c[t])
    ok = t >= window_factor * g / 2.0
    if not np.any(ok):
        warnings.warn(
            f"series of {n} samples is shorter than {window_factor} correlation times; the statistical "
            "inefficiency (and every error bar built on it) is underestimated: run longer",
            stacklevel=2,
        )
        return float(max(1.0, g[-1]))
    return float(max(1.0, g[np.argmax(ok)]))


def mean_with_error(x: np.ndarray, unit: str = "", g: float | None = None) -> Estimate:
    """Mean of ``x`` with standard error sqrt(var(x) g / N); g from :func:`statistical_inefficiency`
    unless given (pass g = 1 for independent samples)."""
    x = _as_series(x)
    if g is None:
        g = statistical_inefficiency(x)
    return Estimate(float(x.mean()), float(np.sqrt(x.var(ddof=1) * g / len(x))), unit)


def detect_equilibration(x: np.ndarray, n_candidates: int = 100, max_fraction: float = 0.5) -> Equilibration:
    """Start of the production part: the t0 that maximizes (N - t0) / g(x[t0:]).

    Candidates are ``n_candidates`` evenly spaced t0 in [0, ``max_fraction`` N). Discarding a
    transient lowers g (the drift looks like a long correlation) faster than it lowers N - t0, so
    the maximum sits where the transient has decayed into the noise.
    """
    x = _as_series(x, min_length=8)
    n = len(x)
    candidates = np.unique(np.linspace(0, int(max_fraction * n), n_candidates, endpoint=False).astype(int))
    best = Equilibration(0, 1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # early candidates with a transient are expected to look too short
        for t0 in candidates:
            g = statistical_inefficiency(x[t0:])
            n_eff = (n - t0) / g
            if n_eff > best.n_effective:
                best = Equilibration(int(t0), g, n_eff)
    return best


def block_average(x: np.ndarray, min_blocks: int = 16, unit: str = "") -> BlockAverage:
    """Standard error of the mean from non-overlapping blocks of 1, 2, 4, ... samples.

    For block length b with n_b = N // b blocks, SE(b) = std(block means) / sqrt(n_b), whose own
    uncertainty is SE / sqrt(2 (n_b - 1)). SE(b) rises with b until blocks are longer than the
    correlation time, then stays flat. The plateau block length is the smallest b with
    b^3 > 2 N (SE(b) / SE(1))^4 (Lee et al., Phys. Rev. E 83, 066706, 2011): blocks long compared
    with (N tau^2)^(1/3), balancing the bias of short blocks against the noise of few blocks. If no
    length with at least ``min_blocks`` blocks qualifies, the series is too short (or not
    stationary): the longest is used and a warning is issued.
    """
    x = _as_series(x, min_length=2 * min_blocks)
    sizes, ses = [], []
    b = 1
    while len(x) // b >= min_blocks:
        nb = len(x) // b
        means = x[: nb * b].reshape(nb, b).mean(axis=1)
        sizes.append(b)
        ses.append(means.std(ddof=1) / np.sqrt(nb))
        b *= 2
    sizes_a, ses_a = np.array(sizes), np.array(ses)
    errs = ses_a / np.sqrt(2.0 * (len(x) // sizes_a - 1))
    qualifies = sizes_a.astype(float) ** 3 > 2.0 * len(x) * (ses_a / ses_a[0]) ** 4 if ses_a[0] > 0 else sizes_a > 0
    if np.any(qualifies):
        plateau = int(np.argmax(qualifies))
    else:
        plateau = len(sizes) - 1
        warnings.warn("block standard error has no plateau: the series is too short; run longer", stacklevel=2)
    return BlockAverage(
        block_sizes=sizes_a,
        standard_errors=ses_a,
        errors_of_errors=errs,
        plateau=Estimate(float(ses_a[plateau]), float(errs[plateau]), unit),
        plateau_block_size=int(sizes_a[plateau]),
    )


def block_slices(n_samples: int, n_blocks: int) -> list[slice]:
    """``n_blocks`` contiguous, equal, non-overlapping slices of ``n_samples`` (the remainder at the
    end is dropped)."""
    if n_blocks < 2:
        raise ValueError(f"n_blocks must be >= 2 to estimate an error, got {n_blocks}")
    size = n_samples // n_blocks
    if size < 2:
        raise ValueError(f"{n_samples} samples cannot make {n_blocks} blocks of >= 2 samples; use fewer blocks")
    return [slice(k * size, (k + 1) * size) for k in range(n_blocks)]


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean of independent estimates (e.g. one per time block):
    std(ddof=1) / sqrt(n)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        raise ValueError("a standard error needs at least 2 independent estimates")
    return float(values.std(ddof=1) / np.sqrt(values.size))



def ratio(numerator: Estimate, denominator: Estimate, unit: str = "") -> Estimate:
    """a / b with first-order error propagation for independent a and b:
    err^2 = (err_a / b)^2 + (a err_b / b^2)^2."""
    a, b = numerator, denominator
    if b.value == 0:
        raise ValueError("ratio with a zero denominator")
    error = np.hypot(a.error / b.value, a.value * b.error / b.value**2)
    return Estimate(a.value / b.value, float(error), unit)
