"""Experimental reference lookup: by canonical SMILES and tabulated temperature only."""

from elyte.pipeline.reference import experimental


def test_lookup_by_any_smiles_spelling():
    dmc = experimental("O=C(OC)OC", 298.15)
    assert dmc["density_g_cm3"]["value"] == 1.0633 and dmc["viscosity_mPa_s"]["value"] == 0.585
    assert "CoolProp" in dmc["density_g_cm3"]["source"]


def test_missing_liquid_temperature_or_value_gives_nothing():
    assert experimental("CCO", 298.15) == {}  # ethanol is not in the table
    assert experimental("COC(=O)OC", 350.0) == {}
    assert "density_g_cm3" not in experimental("O=C1OCCO1", 298.15)  # EC is solid at 298 K
    assert experimental("O=C1OCCO1", 313.15)["density_g_cm3"]["value"] == 1.322
