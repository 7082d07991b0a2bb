"""ByteFF-Pol itp + json files: import into internal units, export, and errors."""

from __future__ import annotations

import numpy as np
import pytest

from polff.io.byteff import ParameterFileError, read_byteff, write_byteff
from polff.parameters import NONBONDED_FIELDS


def test_import_converts_units(electrolyte_molecules):
    ec = electrolyte_molecules["EC"]
    assert ec.elements == ["C", "C", "O", "C", "O", "O", "H", "H", "H", "H"]
    assert ec.total_charge == pytest.approx(0.0, abs=1e-6)
    assert ec.bond_length[0] == pytest.approx(1.52921)  # 0.152921 nm
    assert ec.bond_k[0] == pytest.approx(173060.368018 / 4.184 / 100)  # kJ/mol/nm^2 -> kcal/mol/A^2
    assert ec.alpha[0] == pytest.approx(1.253056456334889)  # nm^3 -> A^3
    assert ec.propers.atoms.shape == (76, 4) and ec.impropers.atoms.shape == (3, 4)
    assert electrolyte_molecules["PF6"].total_charge == pytest.approx(-1.0, abs=1e-6)
    assert electrolyte_molecules["LI"].elements == ["Li"]


@pytest.mark.parametrize("name", ["EC", "DMC", "LI", "PF6"])
def test_write_read_round_trip(electrolyte_molecules, tmp_path, name):
    original = electrolyte_molecules[name]
    itp, _ = write_byteff(original, tmp_path)
    again = read_byteff(itp)
    assert again.elements == original.elements and again.atom_types == original.atom_types
    for field in NONBONDED_FIELDS + ("bond_length", "bond_k", "angle_theta", "angle_k", "masses"):
        assert np.allclose(getattr(again, field), getattr(original, field), rtol=1e-7, atol=1e-12), field
    for kind in ("propers", "impropers"):
        a, b = getattr(again, kind), getattr(original, kind)
        assert np.array_equal(a.atoms, b.atoms) and np.array_equal(a.periodicity, b.periodicity)
        assert np.allclose(a.k, b.k, rtol=1e-7) and np.allclose(a.phase, b.phase)


def test_missing_and_inconsistent_files(byteff_dir, tmp_path):
    with pytest.raises(ParameterFileError, match="does not exist"):
        read_byteff(tmp_path / "NOPE.itp")
    itp = (byteff_dir / "electrolyte" / "EC.itp").read_text()
    (tmp_path / "EC.itp").write_text(itp)
    (tmp_path / "EC.json").write_text('{"charge": [0.1]}')
    with pytest.raises(ParameterFileError, match="missing non-bonded parameters"):
        read_byteff(tmp_path / "EC.itp")
    (tmp_path / "EC.json").write_text("{not json")
    with pytest.raises(ParameterFileError, match="not valid JSON"):
        read_byteff(tmp_path / "EC.itp")
