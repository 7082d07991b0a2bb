"""Statistics of correlated series on AR(1) processes, whose answers are known in closed form.

AR(1) x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t has unit variance, C(t) = phi^t, statistical
inefficiency g = (1 + phi) / (1 - phi) and, for N samples, var(mean) = (1/N)[1 + 2 sum_{t<N}
(1 - t/N) phi^t].
"""

import numpy as np
import pytest
from scipy.signal import lfilter

from elyte.analysis.statistics import (
    Estimate,
    autocorrelation,
    block_average,
    block_slices,
    detect_equilibration,
    mean_with_error,
    ratio,
    standard_error,
    statistical_inefficiency,
)


def ar1(phi: float, n: int, rng: np.random.Generator, replicas: int | None = None) -> np.ndarray:
    shape = (n,) if replicas is None else (replicas, n)
    noise = rng.normal(size=shape) * np.sqrt(1 - phi**2)
    start = rng.normal(size=shape[:-1] + (1,))  # stationary start
    x = lfilter([1.0], [1.0, -phi], noise, axis=-1)
    return x + start * phi ** np.arange(1, n + 1)


def exact_var_of_mean(phi: float, n: int) -> float:
    t = np.arange(1, n)
    return (1 + 2 * np.sum((1 - t / n) * phi**t)) / n


def test_autocorrelation_of_ar1_is_geometric():
    x = ar1(0.8, 200_000, np.random.default_rng(0))
    c = autocorrelation(x)
    # each C(t) has a standard error of about sqrt(g / N) = 0.007
    np.testing.assert_allclose(c[:10], 0.8 ** np.arange(10), atol=0.03)


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_statistical_inefficiency_of_ar1(phi):
    """N = 1e6: the relative error of g is about sqrt(2 (2M + 1) / N) <= 2% (M ~ 5 tau); allow 5 sigma."""
    g = statistical_inefficiency(ar1(phi, 1_000_000, np.random.default_rng(1)))
    assert g == pytest.approx((1 + phi) / (1 - phi), rel=0.1)


def test_error_of_mean_matches_the_spread_of_means_over_replicas():
    phi, n, reps = 0.9, 20_000, 300
    x = ar1(phi, n, np.random.default_rng(2), replicas=reps)
    exact = np.sqrt(exact_var_of_mean(phi, n))
    # the spread of 300 means estimates the true error to sqrt(1/(2*299)) = 4%: 4 sigma
    assert x.mean(axis=1).std(ddof=1) == pytest.approx(exact, rel=0.16)
    errors = np.array([mean_with_error(row).error for row in x[:50]])
    # each error estimate scatters by ~ half the relative error of g (~10%); their mean by ~1.5%
    assert errors.mean() == pytest.approx(exact, rel=0.08)
    assert mean_with_error(x[0], g=1.0).error == pytest.approx(x[0].std(ddof=1) / np.sqrt(n))


def test_block_average_plateau_matches_the_exact_error():
    phi, n = 0.9, 2**17
    result = block_average(ar1(phi, n, np.random.default_rng(3)), unit="kcal/mol")
    exact = np.sqrt(exact_var_of_mean(phi, n))
    assert result.plateau_block_size >= 32  # several correlation times (tau ~ 10)
    assert abs(result.plateau.value - exact) < 3 * result.plateau.error + 0.03 * exact
    assert result.standard_errors[0] == pytest.approx(exact / np.sqrt(19), rel=0.1)  # naive SE, g ignored
    assert result.plateau.unit == "kcal/mol"


def test_equilibration_detection_skips_the_transient():
    rng = np.random.default_rng(4)
    n, relax = 20_000, 200.0
    t = np.arange(n)
    x = ar1(0.5, n, rng) + 10.0 * np.exp(-t / relax)
    eq = detect_equilibration(x)
    # the offset falls below 0.1 (the error of the mean is ~0.013) at t = 200 ln 100 = 920
    assert 400 <= eq.t0 <= 4000
    assert eq.g == pytest.approx(3.0, rel=0.25)
    assert abs(mean_with_error(x[eq.t0 :]).value) < 0.1
    assert detect_equilibration(ar1(0.5, n, rng)).t0 < 2000  # stationary: little or nothing dropped


def test_constant_series_and_bad_input():
    assert statistical_inefficiency(np.ones(100)) == 1.0
    assert mean_with_error(np.full(100, 2.0)).error == 0.0
    with pytest.raises(ValueError, match="1D"):
        mean_with_error(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        mean_with_error(np.array([1.0, np.nan, 2.0]))
    with pytest.warns(UserWarning, match="run longer"):  # a drift over the whole series
        statistical_inefficiency(np.arange(1000.0))
    with pytest.warns(UserWarning, match="no plateau"):  # a random walk has no finite error of its mean
        block_average(np.cumsum(np.random.default_rng(6).normal(size=10_000)))


def test_block_helpers():
    assert block_slices(10, 3) == [slice(0, 3), slice(3, 6), slice(6, 9)]
    with pytest.raises(ValueError, match="fewer blocks"):
        block_slices(5, 4)
    assert standard_error(np.array([1.0, 2.0, 3.0])) == pytest.approx(1.0 / np.sqrt(3))


def test_ratio_and_estimate():
    r = ratio(Estimate(2.0, 0.2, "S/m"), Estimate(4.0, 0.2, "S/m"))
    assert r.value == 0.5
    assert r.error == pytest.approx(0.5 * np.hypot(0.1, 0.05))  # relative errors in quadrature
    assert Estimate(1.23456, 0.012, "g/cm^3").as_dict() == {"value": 1.23456, "error": 0.012, "unit": "g/cm^3"}
    assert str(Estimate(1.23456, 0.012, "g/cm^3")) == "1.2346 +/- 0.012 g/cm^3"
    with pytest.raises(ValueError, match="zero denominator"):
        ratio(Estimate(1.0, 0.1), Estimate(0.0, 0.1))
