"""Viscosity estimators on synthetic data with a known answer.

Green-Kubo: five independent Ornstein-Uhlenbeck shear components with variance s^2 and correlation
time tau have int_0^inf <P(0) P(t)> dt = s^2 tau, so eta = V s^2 tau / (k_B T). Sampled every dt and
integrated by the trapezoid rule the integral is s^2 dt (1 + a) / (2 (1 - a)), a = exp(-dt / tau),
which differs from s^2 tau by (dt / tau)^2 / 12 = 0.08% here.
"""

import numpy as np
import pytest
from scipy.signal import lfilter

from elyte.analysis.statistics import Estimate
from elyte.analysis.viscosity import (
    cosine_velocity_amplitude,
    cosine_viscosity,
    green_kubo_viscosity,
    shear_components,
)

K_B = 1.380649e-23


def ou(n: int, tau_steps: float, sigma: float, rng, columns: int) -> np.ndarray:
    a = np.exp(-1.0 / tau_steps)
    noise = rng.normal(size=(n, columns)) * sigma * np.sqrt(1 - a**2)
    start = rng.normal(size=(1, columns)) * sigma
    return lfilter([1.0], [1.0, -a], noise, axis=0) + start * a ** np.arange(1, n + 1)[:, None]


def tensor_from_shear(shear: np.ndarray, rng) -> np.ndarray:
    """[T, 3, 3] with xy, xz, yz = shear[:, :3] and (xx - yy)/2, (yy - zz)/2 = shear[:, 3:], on top
    of a fluctuating isotropic pressure (which must not matter)."""
    n = len(shear)
    p = np.zeros((n, 3, 3))
    iso = 1.0 + 500.0 * rng.normal(size=n)
    p[:, 0, 0] = iso + 2 * shear[:, 3]
    p[:, 1, 1] = iso
    p[:, 2, 2] = iso - 2 * shear[:, 4]
    for k, (i, j) in enumerate([(0, 1), (0, 2), (1, 2)]):
        p[:, i, j] = p[:, j, i] = shear[:, k]
    return p


def test_shear_components_layouts():
    rng = np.random.default_rng(0)
    shear = rng.normal(size=(7, 5))
    p = tensor_from_shear(shear, rng)
    np.testing.assert_allclose(shear_components(p), shear, atol=1e-9)
    six = np.stack([p[:, 0, 0], p[:, 1, 1], p[:, 2, 2], p[:, 0, 1], p[:, 0, 2], p[:, 1, 2]], axis=1)
    np.testing.assert_allclose(shear_components(six), shear, atol=1e-9)
    with pytest.raises(ValueError, match=r"\[T, 3, 3\] or \[T, 6\]"):
        shear_components(np.zeros((5, 4)))


def test_green_kubo_on_an_ornstein_uhlenbeck_pressure_tensor():
    rng = np.random.default_rng(1)
    dt, tau, s = 10.0, 100.0, 300.0  # fs, fs, bar
    volume, temperature = 40.0**3, 300.0
    p = tensor_from_shear(ou(1_000_000, tau / dt, s, rng, 5), rng)  # 10 ns of 10 fs samples
    gk = green_kubo_viscosity(p, volume, temperature, dt, n_bootstrap=50)
    expected = volume * 1e-30 * (s * 1e5) ** 2 * tau * 1e-15 / (K_B * temperature) * 1e3  # 1.39 mPa s
    assert gk.viscosity.unit == "mPa s"
    # 10 ns at tau = 100 fs: a few percent; the value must agree within the stated error
    assert gk.viscosity.error < 0.05 * expected
    assert abs(gk.viscosity.value - expected) < 4 * gk.viscosity.error
    assert gk.cutoff_fs > 5 * tau  # the fit reaches the plateau
    # at t = 10 tau the exact integral is within e^-10 of its limit; noise there ~ sqrt(2 t / T / 5) = 0.6%
    assert gk.running_integral[100] == pytest.approx(expected, rel=0.03)


@pytest.mark.slow
def test_green_kubo_error_matches_the_spread_over_replicas():
    """12 independent short runs: the bootstrap error should match the spread of their values
    (each a ~20% estimate of it; 3 sigma on the ratio of means)."""
    rng = np.random.default_rng(2)
    dt, tau, s = 10.0, 100.0, 300.0
    tensors = [tensor_from_shear(ou(100_000, tau / dt, s, rng, 5), rng) for _ in range(12)]
    runs = [green_kubo_viscosity(p, 40.0**3, 300.0, dt, n_bootstrap=50) for p in tensors]
    values = np.array([r.viscosity.value for r in runs])
    errors = np.array([r.viscosity.error for r in runs])
    assert 0.5 < errors.mean() / values.std(ddof=1) < 2.0


def test_cosine_amplitude_from_noisy_profiles():
    rng = np.random.default_rng(3)
    frames, n, lz, v_true = 200, 3000, 50.0, 2e-4  # A/fs
    masses = rng.choice([1.008, 12.011, 15.999], size=n)
    z = rng.uniform(-lz, 2 * lz, (frames, n))  # unwrapped z: the cosine is periodic
    thermal = rng.normal(size=(frames, n, 3)) * np.sqrt(300 * 8.314e-7 / masses)[None, :, None]  # ~kT/m, A/fs
    v = thermal.copy()
    v[:, :, 0] += v_true * np.cos(2 * np.pi * z / lz)
    pos = np.stack([rng.uniform(0, 50, (frames, n)), rng.uniform(0, 50, (frames, n)), z], axis=2)
    amplitude = cosine_velocity_amplitude(v, pos, masses, lz)
    # least squares per frame: error ~ sqrt(2 <kT/m>_m-weighted / N); mean of 200 frames
    err = amplitude.std(ddof=1) / np.sqrt(frames)
    assert abs(amplitude.mean() - v_true) < 4 * err
    assert err < 0.1 * v_true
    np.testing.assert_allclose(cosine_velocity_amplitude(v - thermal, pos, masses, lz), v_true, rtol=1e-12)


def test_cosine_viscosity_by_hand():
    # A = 1 nm/ps^2 = 1e-5 A/fs^2 = 1e15 m/s^2, rho = 1200 kg/m^3, L = 5 nm, V = 1e-4 A/fs = 10 m/s
    a, rho, lz, v = 1e-5, 1.2, 50.0, 1e-4
    k = 2 * np.pi / 5e-9
    expected = 1e15 * 1200 / (10 * k**2) * 1e3  # mPa s
    series = v + 1e-6 * np.random.default_rng(4).normal(size=2000)
    eta = cosine_viscosity(a, series, Estimate(rho, 0.012), lz)
    assert eta.value == pytest.approx(expected, rel=4 * 1e-6 / np.sqrt(2000) / v + 1e-9)
    assert eta.error == pytest.approx(expected * np.hypot(0.01, 1e-6 / np.sqrt(2000) / v), rel=0.05)
    assert cosine_viscosity(a, series, rho, lz, discard_transient=False).error < eta.error
    with pytest.raises(ValueError, match="not positive"):
        cosine_viscosity(a, -series, rho, lz)



def test_plateau_fit_recovers_a_known_double_exponential():
    from elyte.analysis.viscosity import _limit, _PlateauFit

    t = np.linspace(10.0, 3000.0, 300)
    a, alpha, tau1, tau2 = 0.02, 0.7, 30.0, 400.0
    curve = a * alpha * tau1 * (1 - np.exp(-t / tau1)) + a * (1 - alpha) * tau2 * (1 - np.exp(-t / tau2))
    params = _PlateauFit(t, np.sqrt(t), tau_min=1.0)(curve)
    np.testing.assert_allclose(params, [a, alpha, tau1, tau2], rtol=1e-3)
    assert _limit(params) == pytest.approx(a * (alpha * tau1 + (1 - alpha) * tau2), rel=1e-4)
