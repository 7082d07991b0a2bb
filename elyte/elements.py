"""Element table: symbols, atomic numbers, masses (amu) and covalent radii (Angstrom).

The values are ASE's tables (IUPAC standard atomic weights; covalent radii of Cordero et al. 2008),
wrapped so that every lookup of an unknown element fails with a message naming the problem.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from ase.data import atomic_masses as _MASSES
from ase.data import atomic_numbers as _NUMBERS
from ase.data import chemical_symbols as _SYMBOLS
from ase.data import covalent_radii as _COVALENT

MAX_ATOMIC_NUMBER = 103  # through Lr: beyond it the tables hold no measured values


class UnknownElementError(ValueError):
    """An element symbol or atomic number that is not in the table."""


def atomic_number(symbol: str | int) -> int:
    """Atomic number of an element given by symbol ('Li', case-insensitive) or number."""
    if isinstance(symbol, (int, np.integer)):
        z = int(symbol)
        if not 1 <= z <= MAX_ATOMIC_NUMBER:
            raise UnknownElementError(f"atomic number {z} is outside 1..{MAX_ATOMIC_NUMBER}")
        return z
    key = symbol.strip().capitalize()
    if key not in _NUMBERS or _NUMBERS[key] == 0 or _NUMBERS[key] > MAX_ATOMIC_NUMBER:
        raise UnknownElementError(
            f"unknown element {symbol!r}: use a chemical symbol such as 'H', 'Li', 'Cl' (H..Lr)"
        )
    return _NUMBERS[key]


def symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z``."""
    return _SYMBOLS[atomic_number(int(z))]


def atomic_numbers(elements: Iterable[str | int]) -> np.ndarray:
    """Atomic numbers (int64 array) of a sequence of symbols or numbers."""
    return np.array([atomic_number(e) for e in elements], dtype=np.int64)


def mass(element: str | int) -> float:
    """Standard atomic mass in amu."""
    return float(_MASSES[atomic_number(element)])


def covalent_radius(element: str | int) -> float:
    """Covalent radius in Angstrom."""
    return float(_COVALENT[atomic_number(element)])


def masses(elements: Iterable[str | int]) -> np.ndarray:
    """Masses (amu) of a sequence of symbols or numbers."""
    return np.array([mass(e) for e in elements])
