"""Density and heat of vaporization on synthetic series with known means and errors."""

import numpy as np
import pytest

from elyte.analysis.density import density, density_series
from elyte.analysis.vaporization import heat_of_vaporization


def test_unit_conversion_by_hand():
    # 1 amu = 1.66053906660e-24 g in 1 A^3 = 1e-24 cm^3
    assert density_series(np.array([1.0]), 1.0)[0] == pytest.approx(1.66053906660)
    # 1000 waters (18.015 amu) in a 31.04 A cube (29906.5 A^3): 29.914e-21 g / 29.9065e-21 cm^3
    assert density_series(np.array([31.04**3]), 18.015 * 1000)[0] == pytest.approx(1.00027, abs=1e-5)


def test_density_mean_and_error():
    rng = np.random.default_rng(0)
    n = 5000
    volumes = 30000.0 * (1 + 0.01 * rng.normal(size=n))  # independent samples
    rho = density(volumes, 18000.0)
    expected = 18000.0 / 30000.0 * 1.66053906660
    # relative spread 1% per sample -> error of the mean 0.014%; 4 sigma
    assert rho.value == pytest.approx(expected, rel=6e-4)
    assert rho.error == pytest.approx(0.01 * expected / np.sqrt(n), rel=0.1)
    assert rho.unit == "g/cm^3"
    with pytest.raises(ValueError, match="positive"):
        density(np.array([1.0, -1.0]), 10.0)


def test_heat_of_vaporization():
    rng = np.random.default_rng(1)
    n_mol, n = 200, 4000
    liquid = n_mol * (-12.0) + 30.0 * rng.normal(size=n)  # -12 kcal/mol per molecule, 0.15 per molecule noise
    gas = -2.0 + 1.0 * rng.normal(size=n)
    dh = heat_of_vaporization(liquid, n_mol, gas, 298.15)
    rt = 8.314462618 * 298.15 / 4184.0  # 0.5925 kcal/mol
    err = np.hypot(1.0, 30.0 / n_mol) / np.sqrt(n)
    assert dh.error == pytest.approx(err, rel=0.1)
    assert dh.value == pytest.approx(-2.0 + 12.0 + rt, abs=4 * err)
    assert dh.unit == "kcal/mol"
