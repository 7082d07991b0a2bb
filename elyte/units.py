"""Units: the only place physical constants and conversion factors live.

Internal units of every torch model and energy term: Angstrom, kcal/mol, elementary charge (e),
atomic mass unit (amu), femtosecond (fs); temperature in K, pressure in bar at the boundaries.
Boundaries convert once, here: OpenMM (nm, kJ/mol, ps), ASE (Angstrom, eV), QM outputs (Bohr,
Hartree), GROMACS files (nm, kJ/mol). Constants are CODATA 2018 unless stated.

Factors are named ``<FROM>_TO_<TO>``: multiply a value in FROM to get it in TO.
"""

from __future__ import annotations

# --- exact SI definitions (CODATA 2018) ---
AVOGADRO = 6.02214076e23  # 1/mol
BOLTZMANN_J_K = 1.380649e-23  # J/K
ELEMENTARY_CHARGE_C = 1.602176634e-19  # C
CALORIE_J = 4.184  # thermochemical calorie

# --- length ---
NM_TO_ANGSTROM = 10.0
ANGSTROM_TO_NM = 0.1
BOHR_TO_ANGSTROM = 0.529177210903
ANGSTROM_TO_BOHR = 1.0 / BOHR_TO_ANGSTROM

# --- energy ---
KJ_TO_KCAL = 1.0 / CALORIE_J
KCAL_TO_KJ = CALORIE_J
HARTREE_TO_KCAL = 627.5094740631  # Hartree -> kcal/mol
KCAL_TO_HARTREE = 1.0 / HARTREE_TO_KCAL
EV_TO_KCAL = ELEMENTARY_CHARGE_C * AVOGADRO / (1000.0 * CALORIE_J)  # eV -> kcal/mol, 23.0605...
KCAL_TO_EV = 1.0 / EV_TO_KCAL
BOLTZMANN_KCAL = BOLTZMANN_J_K * AVOGADRO / (1000.0 * CALORIE_J)  # kcal/(mol K)

# --- time ---
PS_TO_FS = 1000.0
FS_TO_PS = 1.0e-3

# --- electrostatics ---
# e^2 / (4 pi eps0) in kcal/mol * Angstrom, as used by the published ByteFF-Pol code (agrees with
# OpenMM's 138.935456 kJ nm/mol to 1.5e-8 relative).
COULOMB_KCAL_ANGSTROM = 332.0637141491396
# --- derived force / energy-density units ---
KJ_PER_NM_TO_KCAL_PER_ANGSTROM = KJ_TO_KCAL / NM_TO_ANGSTROM  # OpenMM force -> internal
KCAL_PER_ANGSTROM_TO_KJ_PER_NM = 1.0 / KJ_PER_NM_TO_KCAL_PER_ANGSTROM
EV_PER_ANGSTROM_TO_KCAL_PER_ANGSTROM = EV_TO_KCAL  # ASE force -> internal
HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM = HARTREE_TO_KCAL / BOHR_TO_ANGSTROM  # QM gradient -> internal
# pressure: 1 kcal/mol/A^3 in bar
KCAL_PER_MOL_ANGSTROM3_TO_BAR = CALORIE_J * 1000.0 / AVOGADRO / 1.0e-30 / 1.0e5
BAR_TO_KCAL_PER_MOL_ANGSTROM3 = 1.0 / KCAL_PER_MOL_ANGSTROM3_TO_BAR
# kinetic energy: 1 amu * (A/fs)^2 in kcal/mol
AMU_ANGSTROM2_PER_FS2_TO_KCAL = 1.66053906660e-27 * 1.0e-20 / 1.0e-30 * AVOGADRO / (1000.0 * CALORIE_J)
# density: amu / A^3 -> g/cm^3
AMU_PER_ANGSTROM3_TO_G_PER_CM3 = 1.0e24 / AVOGADRO

# Named units a dataset file or config may state, as factors to the internal unit of that
# quantity. Readers call :func:`to_internal` with the unit string found in the file's metadata.
LENGTH_UNITS = {"angstrom": 1.0, "a": 1.0, "nm": NM_TO_ANGSTROM, "bohr": BOHR_TO_ANGSTROM}
ENERGY_UNITS = {
    "kcal/mol": 1.0,
    "kj/mol": KJ_TO_KCAL,
    "ev": EV_TO_KCAL,
    "hartree": HARTREE_TO_KCAL,
}
FORCE_UNITS = {
    "kcal/mol/angstrom": 1.0,
    "kj/mol/nm": KJ_PER_NM_TO_KCAL_PER_ANGSTROM,
    "ev/angstrom": EV_PER_ANGSTROM_TO_KCAL_PER_ANGSTROM,
    "hartree/bohr": HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM,
}
_QUANTITIES = {"length": LENGTH_UNITS, "energy": ENERGY_UNITS, "force": FORCE_UNITS}


_ALIASES = {"a": "angstrom", "\u00e5": "angstrom", "ang": "angstrom", "ha": "hartree", "au": "hartree"}


def _normalize(unit: str) -> str:
    tokens = unit.strip().lower().replace(" ", "").split("/")
    return "/".join(_ALIASES.get(t, t) for t in tokens)


def factor_to_internal(quantity: str, unit: str) -> float:
    """Factor that converts a value of ``quantity`` ('length', 'energy', 'force') given in ``unit``
    (e.g. 'nm', 'Hartree', 'eV/Angstrom') to the internal unit (Angstrom, kcal/mol, kcal/mol/A).

    Raises ``ValueError`` naming the accepted spellings when the unit is unknown or missing.
    """
    if quantity not in _QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; expected one of {sorted(_QUANTITIES)}")
    table = _QUANTITIES[quantity]
    if not unit:
        raise ValueError(f"no {quantity} unit given; state one of {sorted(table)} in the file's metadata")
    key = _normalize(unit)
    if key not in table:
        raise ValueError(f"unknown {quantity} unit {unit!r}; expected one of {sorted(table)}")
    return table[key]


def kt_kcal(temperature_k: float) -> float:
    """Thermal energy k_B T in kcal/mol at ``temperature_k`` (K)."""
    return BOLTZMANN_KCAL * temperature_k


# --- SI bases for transport properties (analysis) ---
AMU_KG = 1.66053906660e-27  # kg (CODATA 2018)
ANGSTROM_TO_M = 1.0e-10
FS_TO_S = 1.0e-15
BAR_TO_PA = 1.0e5
# diffusion: 1 A^2/fs in the reported unit 1e-9 m^2/s (= 1e-5 cm^2/s = 1 um^2/ms)
ANGSTROM2_PER_FS_TO_1E9_M2_PER_S = ANGSTROM_TO_M**2 / FS_TO_S / 1.0e-9
# viscosity: 1 Pa s = 1e3 mPa s (= cP); 1 amu/(A fs) in mPa s
PA_S_TO_MPA_S = 1.0e3
AMU_PER_ANGSTROM_FS_TO_MPA_S = AMU_KG / (ANGSTROM_TO_M * FS_TO_S) * PA_S_TO_MPA_S
# acceleration: OpenMM's nm/ps^2 in A/fs^2
NM_PER_PS2_TO_ANGSTROM_PER_FS2 = NM_TO_ANGSTROM / PS_TO_FS**2

# --- QM response properties (labels) ---
BOHR3_TO_ANGSTROM3 = BOHR_TO_ANGSTROM**3  # polarizability: atomic units (Bohr^3) -> A^3
HARTREE_BOHR6_TO_KCAL_ANGSTROM6 = HARTREE_TO_KCAL * BOHR_TO_ANGSTROM**6  # C6 dispersion coefficients
