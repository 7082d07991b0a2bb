"""Synthetic electrolytes shared by the conductivity and transference tests."""

from dataclasses import dataclass

import numpy as np
import pytest


@dataclass
class IonPairSystem:
    """Free cations (D_c), free anions (D_a) and contact pairs moving as one unit (D_p), D in
    1e-9 m^2/s, 1 ps frames. Each paired anion sits at its cation plus an independent 1 A jitter,
    so the pair carries no current at long times."""

    positions: np.ndarray  # [T, N, 3] A, cations first
    species: list
    n_free: int
    n_pairs: int
    d_cation: float
    d_anion: float
    d_pair: float
    volume_a3: float = 40.0**3
    temperature_k: float = 300.0
    timestep_fs: float = 1000.0


@pytest.fixture(scope="session")
def ion_pairs() -> IonPairSystem:
    rng = np.random.default_rng(42)
    frames, n_free, n_pairs = 10_000, 40, 60
    d_c, d_a, d_p = 1.0, 0.6, 0.3

    def walk(d, n):  # per-axis step variance 2 D dt, D = d * 1e-4 A^2/fs, dt = 1000 fs
        return np.cumsum(rng.normal(scale=np.sqrt(0.2 * d), size=(frames, n, 3)), axis=0)

    pairs = walk(d_p, n_pairs)
    cations = np.concatenate([walk(d_c, n_free), pairs], axis=1)
    anions = np.concatenate([walk(d_a, n_free), pairs + rng.normal(size=(frames, n_pairs, 3))], axis=1)
    n = n_free + n_pairs
    return IonPairSystem(
        positions=np.concatenate([cations, anions], axis=1),
        species=["Li+"] * n + ["PF6-"] * n,
        n_free=n_free,
        n_pairs=n_pairs,
        d_cation=d_c,
        d_anion=d_a,
        d_pair=d_p,
    )
