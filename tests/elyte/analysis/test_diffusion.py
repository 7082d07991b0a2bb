"""MSD and self-diffusion on Brownian and Langevin particles with known D (1e-9 m^2/s)."""

import numpy as np
import pytest

from elyte.analysis.diffusion import (
    self_diffusion,
    self_diffusion_by_species,
    yeh_hummer_correction,
    yeh_hummer_corrected,
)
from elyte.analysis.msd import einstein_fit, msd, select_window
from elyte.analysis.statistics import Estimate

DT_FS = 1000.0  # 1 ps frames


def brownian(d_1e9: float, frames: int, particles: int, rng) -> np.ndarray:
    """Positions (A) with D in 1e-9 m^2/s: per-axis step variance 2 D dt, D = d_1e9 * 1e-4 A^2/fs."""
    sigma = np.sqrt(2 * d_1e9 * 1e-4 * DT_FS)
    return np.cumsum(rng.normal(scale=sigma, size=(frames, particles, 3)), axis=0) + rng.uniform(0, 40, (particles, 3))


def test_fft_msd_equals_the_direct_double_loop():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(80, 300, 3)), axis=0) + 1e3  # 300 particles: two FFT chunks, far from 0
    direct = np.array([np.mean(np.sum((x[m:] - x[: len(x) - m]) ** 2, axis=2)) for m in range(len(x))])
    np.testing.assert_allclose(msd(x), direct, rtol=1e-9, atol=1e-9)


def test_brownian_diffusion_coefficient():
    rng = np.random.default_rng(1)
    result = self_diffusion(brownian(1.5, 2000, 200, rng), DT_FS)
    assert result.coefficient.unit == "1e-9 m^2/s"
    assert abs(result.coefficient.value - 1.5) < 4 * result.coefficient.error
    assert result.coefficient.error < 0.05 * 1.5  # 200 particles x 2 ns: a few percent
    assert result.fit.window_fs[0] == pytest.approx(DT_FS)  # no ballistic part: the window starts at one frame


def test_block_error_matches_the_spread_over_replicas():
    """40 independent systems: the spread of their D is the true error. Its estimate has a relative
    uncertainty of 1/sqrt(78) = 11%, the mean of 40 block errors (4 degrees of freedom each) 6%:
    3 combined sigma is 38%."""
    rng = np.random.default_rng(2)
    runs = [self_diffusion(brownian(1.0, 1000, 40, rng), DT_FS).coefficient for _ in range(40)]
    values, errors = np.array([r.value for r in runs]), np.array([r.error for r in runs])
    assert values.mean() == pytest.approx(1.0, abs=3 * values.std() / np.sqrt(40))
    assert 0.62 < errors.mean() / values.std(ddof=1) < 1.6


def langevin(frames: int, n: int, tau: float, s: float, rng) -> tuple[np.ndarray, float]:
    """Positions (A) of particles with Ornstein-Uhlenbeck velocities (per-axis spread s in A/fs,
    correlation time tau in frames) and their exact D (1e-9 m^2/s). MSD ~ 6 D (t - tau) at long times,
    ballistic below tau. For the discrete sum of velocities D = s^2 dt (1 + a) / (2 (1 - a)),
    a = exp(-dt / tau)."""
    a = np.exp(-1 / tau)
    noise = rng.normal(size=(frames, n, 3)) * s * np.sqrt(1 - a**2)
    v = np.empty_like(noise)
    v[0] = rng.normal(size=(n, 3)) * s
    for k in range(1, frames):
        v[k] = a * v[k - 1] + noise[k]
    return np.cumsum(v * DT_FS, axis=0), s**2 * DT_FS * (1 + a) / (2 * (1 - a)) * 1e4


def test_window_skips_the_ballistic_regime_of_langevin_particles():
    tau = 10.0
    x, d_exact = langevin(4000, 100, tau, 0.004, np.random.default_rng(3))
    result = self_diffusion(x, DT_FS)
    assert result.fit.window_fs[0] > 5 * tau * DT_FS  # t / (t - tau) < 1.1 only beyond 11 tau
    assert result.fit.error_from == "time blocks"
    assert abs(result.coefficient.value - d_exact) < 4 * result.coefficient.error


def test_short_runs_take_the_error_from_particle_groups():
    """2000 frames, tau = 25 frames: the diffusive regime (beyond 11 tau) starts past half a block of
    400 frames, so the window reaches into the whole run and the error comes from 5 groups of
    particles. Over 24 independent systems the spread of D is the true error: the mean of the
    group errors (4 degrees of freedom each) matches it within 3 combined sigma (~50 %). A window
    chosen from the data ends where the noisy tail first bends up, which biases D low by 2-4 % here
    (half the error of one run): the mean is held to 5 %."""
    rng = np.random.default_rng(5)
    runs = []
    for _ in range(24):
        x, d_exact = langevin(2000, 200, 25.0, 0.004, rng)
        result = self_diffusion(x, DT_FS)
        assert result.fit.error_from == "particle groups" and result.fit.window_fs[1] > 200 * DT_FS
        runs.append(result.coefficient)
    values, errors = np.array([r.value for r in runs]), np.array([r.error for r in runs])
    assert values.mean() == pytest.approx(d_exact, rel=0.05)
    assert 0.55 < errors.mean() / values.std(ddof=1) < 1.7
    with pytest.raises(ValueError, match="no diffusive regime"):  # time blocks only: the window is out of reach
        self_diffusion(x, DT_FS, particle_groups=False)
    with pytest.raises(ValueError, match="no diffusive regime"):  # fewer particles than groups
        self_diffusion(x[:, :4], DT_FS)


def test_by_species_and_no_diffusive_regime():
    rng = np.random.default_rng(4)
    x = np.concatenate([brownian(2.0, 1000, 60, rng), brownian(0.5, 1000, 60, rng)], axis=1)
    result = self_diffusion_by_species(x, ["EC"] * 60 + ["Li+"] * 60, DT_FS)
    assert list(result) == ["EC", "Li+"]
    for name, d in {"EC": 2.0, "Li+": 0.5}.items():
        assert abs(result[name].coefficient.value - d) < 4 * result[name].coefficient.error
    trapped = rng.normal(size=(1000, 50, 3))  # particles in harmonic wells: the MSD plateaus
    with pytest.raises(ValueError, match="no diffusive regime"):
        self_diffusion(trapped, DT_FS)
    failures = {}
    mixed = self_diffusion_by_species(np.concatenate([x, trapped[:, :10]], axis=1), ["EC"] * 120 + ["PF6-"] * 10,
                                      DT_FS, failures)
    assert list(mixed) == ["EC"] and list(failures) == ["PF6-"] and "no diffusive regime" in failures["PF6-"]
    with pytest.raises(ValueError, match="fewer blocks"):
        einstein_fit(x, DT_FS, n_blocks=5, window_fs=(1000.0, 400_000.0))
    with pytest.raises(ValueError, match="one label per particle"):
        self_diffusion_by_species(x, ["EC"] * 3, DT_FS)


def test_select_window_on_an_exact_power_law_crossover():
    # MSD = t^2 below 100 frames, linear above (continuous at t = 100 frames)
    t = np.arange(4001.0)
    curve = np.where(t < 100, t**2, 100 * (2 * t - 100))
    start, end = select_window(curve, 1.0)
    assert 200 < start < 800  # beta = 2t / (2t - 100) <= 1.1 from t = 550
    assert end == pytest.approx(2000.0, rel=0.05)  # half the run


def test_yeh_hummer_correction_by_hand():
    # k_B T xi / (6 pi eta L) = 1.380649e-23 * 298.15 * 2.837297 / (6 pi 1e-3 Pa s * 5e-9 m)
    assert yeh_hummer_correction(298.15, 1.0, 50.0) == pytest.approx(0.12392296, rel=1e-6)
    corrected = yeh_hummer_corrected(Estimate(1.0, 0.03), 298.15, Estimate(2.0, 0.2), 50.0)
    assert corrected.value == pytest.approx(1.0 + 0.12392296 / 2, rel=1e-6)
    assert corrected.error == pytest.approx(np.hypot(0.03, 0.1 * 0.12392296 / 2), rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        yeh_hummer_correction(298.15, 0.0, 50.0)
