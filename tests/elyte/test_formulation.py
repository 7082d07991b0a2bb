"""Formulations: molecule counts that realize ratios and concentrations; errors; shipped configs."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

import elyte.cli.app  # noqa: F401  (registers the config resolvers)
from elyte.errors import InputError
from elyte.formulation import (
    Formulation, FormulationError, Salt, Species, compose, from_config,
)
from elyte.paths import config_dir
from elyte.pipeline.reference import smiles_of
from elyte.units import AVOGADRO


@pytest.fixture(scope="module")
def species():
    return {name: Species.from_smiles(name, smiles) for name, smiles in [
        ("EC", "O=C1OCCO1"), ("DMC", "COC(=O)OC"), ("Li", "[Li+]"), ("PF6", "F[P-](F)(F)(F)(F)F"),
    ]}


def lipf6(species, concentration=1.0, unit="mol/L"):
    return Salt("LiPF6", [(species["Li"], 1), (species["PF6"], 1)], concentration, unit)


def test_weight_ratio_and_molar_concentration(species):
    f = Formulation("x", [(species["EC"], 1.0), (species["DMC"], 1.0)], [lipf6(species)], size=4000)
    c = compose(f)
    counts = {s.name: n for s, n in c.counts}
    mass_ec, mass_dmc = counts["EC"] * species["EC"].mass, counts["DMC"] * species["DMC"].mass
    assert mass_ec / mass_dmc == pytest.approx(1.0, abs=species["DMC"].mass / mass_dmc)  # within one molecule
    assert counts["Li"] == counts["PF6"] and c.charge == 0
    assert 0.95 * 4000 <= c.n_atoms <= 4000
    molar = counts["Li"] / AVOGADRO / (c.volume * 1e-27)
    assert molar == pytest.approx(1.0, abs=1.0 / counts["Li"])  # within one ion pair
    assert c.concentrations["LiPF6"] == pytest.approx(molar)


def test_molal_concentration_and_mole_basis(species):
    f = Formulation("x", [(species["EC"], 3.0), (species["DMC"], 1.0)], [lipf6(species, 2.0, "mol/kg")],
                    ratio_basis="mole", size=200, size_unit="molecules")
    c = compose(f)
    counts = {s.name: n for s, n in c.counts}
    assert (counts["EC"], counts["DMC"]) == (150, 50)
    solvent_kg = (150 * species["EC"].mass + 50 * species["DMC"].mass) / AVOGADRO / 1000
    assert counts["Li"] == round(2.0 * solvent_kg * AVOGADRO)


def test_volume_basis(species):
    f = Formulation("x", [(species["EC"], 1.0), (species["DMC"], 1.0)], ratio_basis="volume", size=300,
                    size_unit="molecules")
    counts = {s.name: n for s, n in compose(f).counts}
    v_ec, v_dmc = counts["EC"] * species["EC"].volume, counts["DMC"] * species["DMC"].volume
    assert v_ec / v_dmc == pytest.approx(1.0, rel=0.02)


def test_bad_formulations(species):
    with pytest.raises(FormulationError, match="not charge-neutral"):
        Salt("bad", [(species["Li"], 2), (species["PF6"], 1)], 1.0)
    with pytest.raises(FormulationError, match="invalid SMILES"):
        Species.from_smiles("nonsense", "C1CC(")
    with pytest.raises(FormulationError, match="cannot be reached"):
        compose(Formulation("x", [(species["EC"], 1.0)], [lipf6(species, 100.0)]))
    with pytest.raises(FormulationError, match="ratio_basis"):
        Formulation("x", [(species["EC"], 1.0)], ratio_basis="vibes")
    with pytest.raises(FormulationError, match="net charge"):
        Formulation("x", [(species["Li"], 1.0)])
    with pytest.raises(FormulationError, match="unit"):
        lipf6(species, 1.0, "mol/m3")
    with pytest.raises(FormulationError, match="unknown formulation keys"):
        from_config({"name": "x", "solvent": []})


@pytest.mark.parametrize("path", sorted((config_dir() / "formulation").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_formulations_compose(path):
    f = from_config(OmegaConf.to_container(OmegaConf.load(path), resolve=True))
    c = compose(f)
    assert c.charge == 0 and c.n_atoms <= f.size
    for salt in f.salts:
        assert c.concentrations[salt.name] == pytest.approx(salt.concentration, rel=0.1)


def test_neat_formulation_takes_any_reference_liquid_by_name_or_abbreviation():
    cfg = OmegaConf.load(config_dir() / "formulation" / "neat.yaml")
    cfg.liquid = "NMP"
    f = from_config(OmegaConf.to_container(cfg, resolve=True))
    assert f.name == "NMP" and f.solvents[0][0].smiles == "CN1CCCC1=O"
    assert smiles_of("ethylene carbonate") == "O=C1OCCO1"
    with pytest.raises(InputError, match="not in .*known: water"):
        smiles_of("unobtainium")
