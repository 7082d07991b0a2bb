"""Experimental reference values of pure liquids, to report the error of zero-shot predictions.

Never used to fit anything. Values at 298.15 K and 313.15 K from ``data/reference/liquids_dev.csv.gz``;
liquids are matched by canonical SMILES. Units as in the table: g/cm^3, kJ/mol, mPa s.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd
from rdkit import Chem

from elyte.errors import InputError
from elyte.paths import data_dir

TABLE = "reference/liquids_dev.csv.gz"
TEMPERATURES = (298.15, 313.15)
PROPERTIES = {"density_g_cm3": "density_{T}K_g_cm3", "hvap_kJ_mol": "Hvap_{T}K_kJ_mol",
              "viscosity_mPa_s": "viscosity_{T}K_mPa_s", "dielectric": "dielectric_{T}K"}


def canonical(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}")
    return Chem.MolToSmiles(mol)


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    frame = pd.read_csv(data_dir() / TABLE)
    frame["canonical"] = [canonical(s) for s in frame.SMILES]
    return frame


def smiles_of(name: str) -> str:
    """The SMILES of a liquid of the table, by name or abbreviation (case-insensitive)."""
    frame = table()
    key = name.strip().lower()
    rows = frame[(frame.name.str.lower() == key) | (frame.abbrev.fillna("").str.lower() == key)]
    if rows.empty:
        raise InputError(f"liquid {name!r} is not in {TABLE}; known: {', '.join(frame.name)}")
    return str(rows.iloc[0].SMILES)


def experimental(smiles: str, temperature: float) -> dict[str, dict]:
    """``{property: {"value", "source"}}`` for a pure liquid at ``temperature`` (K, within 0.5 K of a
    tabulated one); empty when the liquid or temperature is not in the table or a value is blank."""
    matches = [t for t in TEMPERATURES if abs(t - temperature) <= 0.5]
    rows = table()[table().canonical == canonical(smiles)]
    if not matches or rows.empty:
        return {}
    row, t = rows.iloc[0], int(matches[0])
    out = {}
    for name, column in PROPERTIES.items():
        value = row.get(column.format(T=t))
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            out[name] = {"value": float(value), "source": str(row.get(column.format(T=t) + "_source", ""))}
    return out
