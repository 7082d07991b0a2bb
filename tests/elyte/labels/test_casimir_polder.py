"""Dynamic polarizabilities and Casimir-Polder C6 from response matrices, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from elyte.labels.casimir_polder import SPIN, casimir_polder_c6, polarizability_at, response_spectrum


def test_one_oscillator_gives_the_london_formula():
    """alpha(iu) = alpha0 w^2 / (w^2 + u^2) gives C6 = 3/4 alpha0^2 w (London)."""
    alpha0, w = 1.7, 0.9
    omega, strengths = np.array([w]), np.array([alpha0 * w**2])
    assert polarizability_at(omega, strengths, 0.0) == pytest.approx(alpha0)
    assert casimir_polder_c6(omega, strengths) == pytest.approx(0.75 * alpha0**2 * w)


def test_c6_is_the_casimir_polder_integral_of_two_spectra():
    rng = np.random.default_rng(3)
    wa, sa = rng.uniform(0.3, 3.0, 5), rng.uniform(0.1, 1.0, 5)
    wb, sb = rng.uniform(0.3, 3.0, 4), rng.uniform(0.1, 1.0, 4)
    integral = quad(lambda u: polarizability_at(wa, sa, u) * polarizability_at(wb, sb, u), 0, np.inf)[0]
    assert casimir_polder_c6(wa, sa, wb, sb) == pytest.approx(3 / np.pi * integral, rel=1e-8)
    assert casimir_polder_c6(wa, sa, wb, sb) == pytest.approx(casimir_polder_c6(wb, sb, wa, sa))


def test_spectrum_reproduces_the_response_at_imaginary_frequency():
    """Sum over states equals SPIN * d (A + B + u^2 (A - B)^-1)^-1 d, the linear-response solution."""
    rng = np.random.default_rng(0)
    k = 12
    diag = np.diag(rng.uniform(0.5, 2.0, k))
    coupling = rng.normal(size=(k, k)) * 0.05
    a, b = diag + coupling @ coupling.T, 0.3 * (coupling + coupling.T) / 2
    dipoles = rng.normal(size=(3, k))
    omega, strengths = response_spectrum(a, b, dipoles)
    for u in (0.0, 0.4, 2.5):
        direct = SPIN * np.einsum("xk,kl,xl->x", dipoles, np.linalg.inv(a + b + u**2 * np.linalg.inv(a - b)),
                                  dipoles).mean()
        assert polarizability_at(omega, strengths, u) == pytest.approx(direct, rel=1e-10)


def test_an_unstable_reference_is_refused():
    a = np.diag([1.0, -0.2])
    with pytest.raises(ValueError, match="unstable"):
        response_spectrum(a, np.zeros((2, 2)), np.ones((3, 2)))
