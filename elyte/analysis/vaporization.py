"""Heat of vaporization of a neat liquid from liquid-box and single-molecule gas simulations.

>>> dh = heat_of_vaporization(e_liquid_kcal, n_molecules, e_gas_kcal, temperature_k)  # kcal/mol

dH_vap = <E_pot,gas> / molecule - <E_pot,liquid> / N + RT (ideal gas, the liquid's p dV
neglected: p V_liq / N ~ 1e-3 kcal/mol at 1 bar). The energies are potential energies in kcal/mol
(total of the box for the liquid, of one molecule for the gas). Each mean carries the standard error
from its own statistical inefficiency; the two runs are independent, so the errors add in quadrature:
err^2 = err_gas^2 + (err_liquid / N)^2.
"""

from __future__ import annotations

import numpy as np

from elyte.analysis.statistics import Estimate, mean_with_error
from elyte.units import kt_kcal


def heat_of_vaporization(
    liquid_energy_kcal: np.ndarray,
    n_molecules: int,
    gas_energy_kcal: np.ndarray,
    temperature_k: float,
) -> Estimate:
    """dH_vap (kcal/mol) from the liquid box's potential energy series (kcal/mol, whole box of
    ``n_molecules``), a single gas molecule's potential energy series (kcal/mol) and T (K)."""
    if n_molecules < 1:
        raise ValueError(f"n_molecules must be >= 1, got {n_molecules}")
    if temperature_k <= 0:
        raise ValueError(f"temperature must be positive (K), got {temperature_k}")
    liquid = mean_with_error(np.asarray(liquid_energy_kcal, dtype=float) / n_molecules)
    gas = mean_with_error(gas_energy_kcal)
    value = gas.value - liquid.value + kt_kcal(temperature_k)
    return Estimate(value, float(np.hypot(gas.error, liquid.error)), "kcal/mol")
