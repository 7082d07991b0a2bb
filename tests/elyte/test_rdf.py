"""RDF and coordination numbers on structures with a known answer."""

import numpy as np
import pytest

from elyte.analysis.rdf import radial_distribution


def test_ideal_gas_has_flat_rdf():
    rng = np.random.default_rng(0)
    cell = np.diag([30.0, 30.0, 30.0])
    frames = [rng.uniform(0, 30, (2000, 3)) for _ in range(5)]
    a, b = np.arange(0, 600), np.arange(600, 2000)
    rdf = radial_distribution(frames, cell, a, b, r_max=12.0, n_bins=24)
    assert np.mean(rdf.g[6:]) == pytest.approx(1.0, abs=0.02)
    # coordination = density * sphere volume for an ideal gas
    assert rdf.coordination[-1] == pytest.approx(1400 / 27000 * 4 / 3 * np.pi * 12.0**3, rel=0.03)
    same = radial_distribution(frames, cell, np.arange(2000), np.arange(2000), r_max=12.0, n_bins=24)
    assert np.mean(same.g[6:]) == pytest.approx(1.0, abs=0.02)


def test_simple_cubic_lattice_shells():
    """Simple cubic, spacing a: 6 neighbours at a, 12 at a*sqrt(2), 8 at a*sqrt(3)."""
    a, n = 3.0, 8
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3) * a
    cell = np.eye(3) * a * n
    idx = np.arange(len(grid))
    rdf = radial_distribution([grid + 0.1], cell, idx, idx, r_max=11.0, n_bins=1100)
    cn = lambda r: rdf.coordination[np.searchsorted(rdf.r, r)]  # noqa: E731
    assert cn(a * 1.05) == pytest.approx(6)
    assert cn(a * np.sqrt(2) * 1.02) == pytest.approx(18)
    assert cn(a * np.sqrt(3) * 1.02) == pytest.approx(26)


def test_first_shell_of_a_thermal_fcc_crystal():
    """FCC with cubic cell a: 12 nearest neighbours at a/sqrt(2), found despite thermal noise."""
    a, n = 4.0, 6
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 1, 3)
    sites = ((cells + base[None]) * a).reshape(-1, 3)
    rng = np.random.default_rng(1)
    frames = [sites + rng.normal(scale=0.1, size=sites.shape) for _ in range(3)]
    idx = np.arange(len(sites))
    shell = radial_distribution(frames, np.eye(3) * a * n, idx, idx, r_max=10.0, n_bins=200).first_shell()
    assert shell["peak_r"] == pytest.approx(a / np.sqrt(2), abs=0.1)
    assert shell["cn"] == pytest.approx(12, abs=0.05)
