"""Mass density of a periodic box from its volume series.

>>> rho = density(volumes_a3, total_mass_amu)      # Estimate in g/cm^3

The per-frame density rho_t = M / V_t (amu/A^3 -> g/cm^3 via ``elyte.units``) is averaged, which is
the NPT ensemble average <rho> (not M / <V>; they differ at second order in the volume
fluctuations, ~1e-5 relative for a liquid of a few thousand atoms). The error is the standard error
of that mean with the statistical inefficiency of the series (:func:`mean_with_error`).
"""

from __future__ import annotations

import numpy as np

from elyte.analysis.statistics import Estimate, mean_with_error
from elyte.units import AMU_PER_ANGSTROM3_TO_G_PER_CM3


def density_series(volumes_a3: np.ndarray, total_mass_amu: float) -> np.ndarray:
    """Per-frame density (g/cm^3) from box volumes (A^3) and the total mass (amu)."""
    volumes_a3 = np.asarray(volumes_a3, dtype=float)
    if total_mass_amu <= 0:
        raise ValueError(f"total mass must be positive (amu), got {total_mass_amu}")
    if np.any(volumes_a3 <= 0):
        raise ValueError("box volumes must be positive (A^3); check the volume column and its unit")
    return total_mass_amu / volumes_a3 * AMU_PER_ANGSTROM3_TO_G_PER_CM3


def density(volumes_a3: np.ndarray, total_mass_amu: float) -> Estimate:
    """Mean density (g/cm^3) with its standard error from a volume series (A^3) of an NPT run."""
    return mean_with_error(density_series(volumes_a3, total_mass_amu), unit="g/cm^3")
