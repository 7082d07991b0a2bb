"""Einstein-Helfand and Nernst-Einstein conductivity on ions with a known collective motion.

In the ion-pair system (conftest) 40 free cations (D = 1.0), 40 free anions (0.6) and 60 contact
pairs (0.3, in 1e-9 m^2/s): pairs carry no current, so sigma_EH = e^2/(V k T) * 40 (1.0 + 0.6), while
Nernst-Einstein counts every ion: e^2/(V k T) * (40 (1.0 + 0.6) + 2 * 60 * 0.3). Ionicity 64/100.
"""

import numpy as np
import pytest

from elyte.analysis.conductivity import einstein_helfand, haven_ratio, ionicity, nernst_einstein
from elyte.analysis.diffusion import self_diffusion_by_species
from elyte.analysis.statistics import Estimate

E_C, K_B = 1.602176634e-19, 1.380649e-23


def sigma_ideal(sum_n_d: float, volume_a3: float, temperature_k: float) -> float:
    """e^2 sum N D / (V k T) in S/m with D in 1e-9 m^2/s, written out in SI."""
    return E_C**2 * sum_n_d * 1e-9 / (volume_a3 * 1e-30 * K_B * temperature_k)


def test_einstein_helfand_sees_only_free_ions(ion_pairs):
    s = ion_pairs
    charges = np.array([1.0 if x == "Li+" else -1.0 for x in s.species])
    expected = sigma_ideal(s.n_free * (s.d_cation + s.d_anion), s.volume_a3, s.temperature_k)
    # a short window (1-20 ps) of the collective MSD: ~5% precision from 10 ns
    eh = einstein_helfand(s.positions, charges, s.volume_a3, s.temperature_k, s.timestep_fs, window_fs=(1e3, 2e4))
    assert eh.conductivity.unit == "S/m"
    assert eh.conductivity.error < 0.1 * expected
    assert abs(eh.conductivity.value - expected) < 4 * eh.conductivity.error
    # the default window (the ions' self-diffusive window, up to half a block) agrees within its error
    default = einstein_helfand(s.positions, charges, s.volume_a3, s.temperature_k, s.timestep_fs)
    assert default.fit.window_fs[1] > 2e5
    assert abs(default.conductivity.value - expected) < 4 * default.conductivity.error


def test_ionicity_of_paired_ions(ion_pairs):
    s = ion_pairs
    charges = {"Li+": 1.0, "PF6-": -1.0}
    n_ions = s.n_free + s.n_pairs
    d = {k: v.coefficient for k, v in self_diffusion_by_species(s.positions, s.species, s.timestep_fs).items()}
    ne = nernst_einstein(d, {"Li+": n_ions, "PF6-": n_ions}, charges, s.volume_a3, s.temperature_k)
    sum_n_d = s.n_free * (s.d_cation + s.d_anion) + 2 * s.n_pairs * s.d_pair
    expected_ne = sigma_ideal(sum_n_d, s.volume_a3, s.temperature_k)
    assert abs(ne.value - expected_ne) < 4 * ne.error
    q = np.array([charges[x] for x in s.species])
    eh = einstein_helfand(s.positions, q, s.volume_a3, s.temperature_k, s.timestep_fs, window_fs=(1e3, 2e4))
    ratio = ionicity(eh.conductivity, ne)
    assert abs(ratio.value - 0.64) < 4 * ratio.error
    assert ratio.error < 0.1
    assert haven_ratio(eh.conductivity, ne).value == pytest.approx(1 / ratio.value)


def test_nernst_einstein_by_hand_and_errors():
    # 50 Li+ (D 0.2) and 50 PF6- (D 0.4) in (35 A)^3 at 298.15 K
    d = {"Li+": Estimate(0.2, 0.02), "PF6-": Estimate(0.4, 0.03)}
    ne = nernst_einstein(d, {"Li+": 50, "PF6-": 50}, {"Li+": 1.0, "PF6-": -1.0}, 35.0**3, 298.15)
    unit = E_C**2 * 50 * 1e-9 / (35.0**3 * 1e-30 * K_B * 298.15)
    assert ne.value == pytest.approx(unit * 0.6, rel=1e-12)
    assert ne.error == pytest.approx(unit * np.hypot(0.02, 0.03), rel=1e-12)
    with pytest.raises(ValueError, match="count or a charge"):
        nernst_einstein(d, {"Li+": 50}, {"Li+": 1.0}, 35.0**3, 298.15)
