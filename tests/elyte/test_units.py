"""Unit conversions against independent definitions and round trips."""

import pytest

from elyte import units


def test_energy_conversions():
    assert units.KJ_TO_KCAL * units.KCAL_TO_KJ == pytest.approx(1.0)
    assert units.EV_TO_KCAL == pytest.approx(23.060548, rel=1e-7)  # CODATA 2018: 1 eV = 96.485332 kJ/mol
    assert units.HARTREE_TO_KCAL * units.KCAL_TO_HARTREE == pytest.approx(1.0)
    assert units.HARTREE_TO_KCAL / units.EV_TO_KCAL == pytest.approx(27.211386246, rel=1e-9)  # Hartree in eV


def test_boltzmann_and_kinetic_energy():
    assert units.kt_kcal(298.15) == pytest.approx(0.592483, rel=1e-5)  # RT at 25 C
    # 1 amu (A/fs)^2 = 1.66053906660e-27 kg * 1e10 m^2/s^2 per particle
    assert units.AMU_ANGSTROM2_PER_FS2_TO_KCAL == pytest.approx(1.66053906660e-17 * 6.02214076e23 / 4184, rel=1e-12)


def test_pressure_density_and_forces():
    assert units.KCAL_PER_MOL_ANGSTROM3_TO_BAR == pytest.approx(69476.95, rel=1e-6)
    assert units.AMU_PER_ANGSTROM3_TO_G_PER_CM3 == pytest.approx(1.66053907, rel=1e-8)
    # OpenMM kJ/mol/nm -> kcal/mol/A and back
    assert units.KJ_PER_NM_TO_KCAL_PER_ANGSTROM * units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM == pytest.approx(1.0)
    assert units.HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM == pytest.approx(1185.8212, rel=1e-6)


def test_coulomb_constant_matches_openmm():
    openmm = pytest.importorskip("openmm")
    from openmm import unit

    one_4pi_eps0 = 138.935456  # kJ nm / (mol e^2), OpenMM's ONE_4PI_EPS0
    assert units.COULOMB_KCAL_ANGSTROM == pytest.approx(one_4pi_eps0 * units.KJ_TO_KCAL * units.NM_TO_ANGSTROM, rel=1e-7)
    assert unit.AVOGADRO_CONSTANT_NA.value_in_unit(unit.mole**-1) == pytest.approx(units.AVOGADRO, rel=1e-8)
    assert openmm is not None


@pytest.mark.parametrize(
    "quantity, unit, factor",
    [
        ("length", "nm", 10.0),
        ("length", "Bohr", 0.529177210903),
        ("length", "Å", 1.0),
        ("energy", "kJ/mol", 1 / 4.184),
        ("energy", "eV", 23.0605478),
        ("force", "eV/A", 23.0605478),
        ("force", "Hartree/Bohr", 1185.8212),
        ("force", "kcal/mol/Angstrom", 1.0),
    ],
)
def test_named_units(quantity, unit, factor):
    assert units.factor_to_internal(quantity, unit) == pytest.approx(factor, rel=1e-6)


def test_unknown_or_missing_unit_is_an_error():
    with pytest.raises(ValueError, match="unknown energy unit 'furlong'"):
        units.factor_to_internal("energy", "furlong")
    with pytest.raises(ValueError, match="no length unit given"):
        units.factor_to_internal("length", "")
