"""Transference numbers on the ion-pair system (conftest), whose Onsager coefficients are known.

With N_f free ions of each sign (D_c, D_a) and N_p pairs (D_p), in units of e^2/(V k T):
sigma_++ = N_f D_c + N_p D_p, sigma_-- = N_f D_a + N_p D_p, sigma_+- = N_p D_p, so
t_+ = (sigma_++ - sigma_+-) / (sigma_++ + sigma_-- - 2 sigma_+-) = D_c / (D_c + D_a) = 0.625 (the pairs
carry no current), while Nernst-Einstein gives (N_f D_c + N_p D_p) / (N_f (D_c + D_a) + 2 N_p D_p) = 0.58.
"""

import numpy as np
import pytest

from elyte.analysis.conductivity import einstein_helfand
from elyte.analysis.diffusion import self_diffusion_by_species
from elyte.analysis.statistics import Estimate
from elyte.analysis.transference import (
    onsager_conductivities,
    onsager_total_conductivity,
    transference_nernst_einstein,
    transference_onsager,
)

CHARGES = {"Li+": 1.0, "PF6-": -1.0}
WINDOW = (1e3, 2e4)  # 1-20 ps: the collective MSDs are linear from the first frame


def test_onsager_matrix_and_transference(ion_pairs):
    s = ion_pairs
    on = onsager_conductivities(s.positions, s.species, s.volume_a3, s.temperature_k, s.timestep_fs, window_fs=WINDOW)
    assert on.species == ["Li+", "PF6-"]
    unit = (1.602176634e-19) ** 2 * 1e-9 / (s.volume_a3 * 1e-30 * 1.380649e-23 * s.temperature_k)
    expected = unit * np.array(
        [
            [s.n_free * s.d_cation + s.n_pairs * s.d_pair, s.n_pairs * s.d_pair],
            [s.n_pairs * s.d_pair, s.n_free * s.d_anion + s.n_pairs * s.d_pair],
        ]
    )
    assert np.all(np.abs(on.matrix - expected) < 4 * on.errors)
    assert np.allclose(on.matrix, on.matrix.T)
    t = transference_onsager(on, CHARGES, "Li+")
    assert abs(t.value - 0.625) < 4 * t.error
    assert t.error < 0.05
    assert transference_onsager(on, CHARGES, "PF6-").value == pytest.approx(1 - t.value)
    # sum_ij z_i z_j sigma_ij is the Einstein-Helfand conductivity of the same ions, block by block
    q = np.array([CHARGES[x] for x in s.species])
    eh = einstein_helfand(s.positions, q, s.volume_a3, s.temperature_k, s.timestep_fs, window_fs=WINDOW)
    total = onsager_total_conductivity(on, CHARGES)
    assert total.value == pytest.approx(eh.conductivity.value, rel=1e-9)
    assert total.error == pytest.approx(eh.conductivity.error, rel=1e-9)


def test_nernst_einstein_transference(ion_pairs):
    s = ion_pairs
    n = s.n_free + s.n_pairs
    d = {k: v.coefficient for k, v in self_diffusion_by_species(s.positions, s.species, s.timestep_fs).items()}
    t = transference_nernst_einstein(d, {"Li+": n, "PF6-": n}, CHARGES, "Li+")
    assert abs(t.value - 0.58) < 4 * t.error
    assert t.error < 0.03


def test_nernst_einstein_transference_by_hand():
    # LiPF6-like 1:1 and a 2:1 salt: t = N z^2 D / sum
    d = {"Li+": Estimate(0.2, 0.02), "PF6-": Estimate(0.3, 0.0)}
    t = transference_nernst_einstein(d, {"Li+": 10, "PF6-": 10}, CHARGES, "Li+")
    assert t.value == pytest.approx(0.4)
    assert t.error == pytest.approx(0.3 / 0.5**2 * 0.02)  # dt/dD+ = D- / (D+ + D-)^2
    d_mg = {"Mg2+": Estimate(0.1, 0.0), "TFSI-": Estimate(0.4, 0.0)}
    mg = transference_nernst_einstein(d_mg, {"Mg2+": 10, "TFSI-": 20}, {"Mg2+": 2, "TFSI-": -1}, "Mg2+")
    assert mg.value == pytest.approx(40 * 0.1 / (40 * 0.1 + 20 * 0.4))
    with pytest.raises(ValueError, match="not among"):
        transference_nernst_einstein(d, {"Li+": 1, "PF6-": 1}, CHARGES, "Na+")
