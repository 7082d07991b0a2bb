"""Electrolyte formulations (salts + solvents + concentrations) and the molecule counts of a box.

A formulation names each species by SMILES. Salts give their ions and a concentration in mol/L of
solution or mol/kg of solvent; solvents give ratios by weight, volume or mole fraction. Volumes
are estimated from each molecule's van der Waals volume (RDKit) and a liquid packing fraction:
a starting density for building the box, never a fitted or experimental number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem, Descriptors

from elyte.errors import InputError
from elyte.units import AVOGADRO

PACKING_FRACTION = 0.6  # van der Waals volume / liquid volume, typical of organic liquids
RATIO_BASES = ("weight", "volume", "mole")
CONCENTRATION_UNITS = ("mol/L", "mol/kg")


class FormulationError(InputError):
    """A formulation that cannot be made into a box."""


@dataclass(frozen=True)
class Species:
    """One molecule or ion: name, SMILES, charge (e), mass (g/mol), estimated liquid volume (A^3)."""

    name: str
    smiles: str
    charge: int
    mass: float
    volume: float
    n_atoms: int

    def rdkit(self) -> Chem.Mol:
        """The molecule with explicit hydrogens, atoms in the order every box and topology uses."""
        return Chem.AddHs(Chem.MolFromSmiles(self.smiles))

    @classmethod
    def from_smiles(cls, name: str, smiles: str, seed: int = 0) -> Species:
        RDLogger.DisableLog("rdApp.*")  # RDKit's own messages; errors are raised below
        try:
            return cls._build(name, smiles, seed)
        finally:
            RDLogger.EnableLog("rdApp.*")

    @classmethod
    def _build(cls, name: str, smiles: str, seed: int) -> Species:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            raise FormulationError(f"species {name!r}: invalid SMILES {smiles!r}")
        mol = Chem.AddHs(mol)
        if mol.GetNumAtoms() == 1:
            atom = mol.GetAtomWithIdx(0)
            radius = Chem.GetPeriodicTable().GetRvdw(atom.GetAtomicNum())
            vdw = 4.0 / 3.0 * np.pi * radius**3
        else:
            if AllChem.EmbedMolecule(mol, randomSeed=seed) != 0:
                raise FormulationError(f"species {name!r}: RDKit cannot generate a conformer for {smiles!r}")
            vdw = AllChem.ComputeMolVolume(mol)
        return cls(
            name=name,
            smiles=smiles,
            charge=Chem.GetFormalCharge(mol),
            mass=Descriptors.MolWt(mol),
            volume=vdw / PACKING_FRACTION,
            n_atoms=mol.GetNumAtoms(),
        )


@dataclass
class Salt:
    """A salt: its ions with stoichiometric counts and a concentration."""

    name: str
    ions: list[tuple[Species, int]]
    concentration: float
    unit: str = "mol/L"

    def __post_init__(self) -> None:
        if self.unit not in CONCENTRATION_UNITS:
            raise FormulationError(f"salt {self.name}: unit must be one of {CONCENTRATION_UNITS}, got {self.unit!r}")
        if not self.concentration >= 0:
            raise FormulationError(f"salt {self.name}: concentration must be >= 0, got {self.concentration}")
        charge = sum(s.charge * n for s, n in self.ions)
        if charge != 0:
            raise FormulationError(
                f"salt {self.name} is not charge-neutral: its ions sum to {charge:+d} e; fix the ion counts or charges"
            )

    @property
    def volume(self) -> float:
        return sum(s.volume * n for s, n in self.ions)


@dataclass
class Formulation:
    """Salts in a solvent mixture; ``size`` is the target number of atoms or of solvent molecules."""

    name: str
    solvents: list[tuple[Species, float]]
    salts: list[Salt] = field(default_factory=list)
    ratio_basis: str = "weight"
    size: int = 3000
    size_unit: str = "atoms"
    temperatures: list[float] = field(default_factory=lambda: [298.15])
    pressure_bar: float = 1.0

    def __post_init__(self) -> None:
        if self.ratio_basis not in RATIO_BASES:
            raise FormulationError(f"ratio_basis must be one of {RATIO_BASES}, got {self.ratio_basis!r}")
        if not self.solvents:
            raise FormulationError(f"{self.name}: at least one solvent is needed")
        if any(r <= 0 for _, r in self.solvents):
            raise FormulationError(f"{self.name}: solvent ratios must be positive")
        if any(s.charge for s, _ in self.solvents):
            raise FormulationError(f"{self.name}: a solvent carries a net charge; list ions under a salt")
        if self.size_unit not in ("atoms", "molecules") or self.size < 1:
            raise FormulationError(f"size must be a positive number of 'atoms' or 'molecules', got {self.size} {self.size_unit}")


@dataclass
class Composition:
    """Molecule counts of a box and what they amount to."""

    counts: list[tuple[Species, int]]  # every species in the box, solvents first, then ions
    volume: float  # estimated box volume, A^3
    concentrations: dict[str, float]  # salt -> concentration achieved (the salt's unit)

    @property
    def n_atoms(self) -> int:
        return sum(s.n_atoms * n for s, n in self.counts)

    @property
    def charge(self) -> int:
        return sum(s.charge * n for s, n in self.counts)


def _solvent_fractions(f: Formulation) -> np.ndarray:
    ratios = np.array([r for _, r in f.solvents], float)
    if f.ratio_basis == "weight":
        moles = ratios / np.array([s.mass for s, _ in f.solvents])
    elif f.ratio_basis == "volume":
        moles = ratios / np.array([s.volume for s, _ in f.solvents])
    else:
        moles = ratios
    return moles / moles.sum()


def _salt_count(salt: Salt, solvent_mass_g: float, solvent_volume: float) -> int:
    per_mol = salt.concentration * AVOGADRO
    if salt.unit == "mol/kg":
        return int(round(per_mol * solvent_mass_g / 1000.0))
    # mol/L of solution: n = c N_A (V_solvent + n v_salt) with volumes in L (1 A^3 = 1e-27 L)
    denominator = 1.0 - per_mol * salt.volume * 1e-27
    if denominator <= 0:
        raise FormulationError(
            f"salt {salt.name}: {salt.concentration} mol/L cannot be reached (the ions alone would overfill "
            "the volume); lower the concentration"
        )
    return int(round(per_mol * solvent_volume * 1e-27 / denominator))


def _compose(f: Formulation, scale: float) -> Composition:
    fractions = _solvent_fractions(f)
    n_solvent = np.maximum(1, np.round(fractions * scale)).astype(int)
    solvent_mass = sum(s.mass * n for (s, _), n in zip(f.solvents, n_solvent)) / AVOGADRO  # g
    solvent_volume = sum(s.volume * n for (s, _), n in zip(f.solvents, n_solvent))
    counts = [(s, int(n)) for (s, _), n in zip(f.solvents, n_solvent)]
    volume, achieved = solvent_volume, {}
    for salt in f.salts:
        n_salt = _salt_count(salt, solvent_mass, solvent_volume)
        counts += [(ion, n * n_salt) for ion, n in salt.ions]
        volume += n_salt * salt.volume
        achieved[salt.name] = (
            n_salt / AVOGADRO / (solvent_mass / 1000.0) if salt.unit == "mol/kg" else n_salt / AVOGADRO / (volume * 1e-27)
        )
    return Composition(counts, volume, achieved)


def compose(f: Formulation) -> Composition:
    """Molecule counts for ``f`` at its target size (atoms: the largest box not above it)."""
    if f.size_unit == "molecules":
        return _compose(f, float(f.size))
    fractions = _solvent_fractions(f)
    scale = f.size / float(np.dot(fractions, [s.n_atoms for s, _ in f.solvents]))
    for _ in range(20):
        composition = _compose(f, scale)
        if composition.n_atoms <= f.size:
            return composition
        scale *= 0.98 * f.size / composition.n_atoms
    raise FormulationError(f"{f.name}: no composition fits in {f.size} atoms; raise size")


_FORMULATION_KEYS = {"name", "solvents", "salts", "ratio_basis", "size", "size_unit", "temperatures", "pressure_bar"}
_INTERPOLATION_KEYS = {"liquid"}  # only feed interpolations of other keys (configs/formulation/neat.yaml)


def _species(entry: dict, where: str) -> Species:
    for key in ("name", "smiles"):
        if key not in entry:
            raise FormulationError(f"{where}: every species needs '{key}', got {dict(entry)}")
    return Species.from_smiles(str(entry["name"]), str(entry["smiles"]))


def from_config(cfg) -> Formulation:
    """A Formulation from a mapping such as ``configs/formulation/*.yaml`` (Hydra / OmegaConf or dict)."""
    cfg = dict(cfg)
    unknown = set(cfg) - _FORMULATION_KEYS - _INTERPOLATION_KEYS
    if unknown:
        raise FormulationError(f"unknown formulation keys {sorted(unknown)}; allowed: {sorted(_FORMULATION_KEYS)}")
    name = str(cfg.get("name", "formulation"))
    solvents = [(_species(s, f"{name} solvents"), float(s.get("ratio", 1.0))) for s in cfg.get("solvents", [])]
    salts = [
        Salt(
            name=str(salt["name"]),
            ions=[(_species(ion, f"salt {salt['name']}"), int(ion.get("count", 1))) for ion in salt["ions"]],
            concentration=float(salt["concentration"]),
            unit=str(salt.get("unit", "mol/L")),
        )
        for salt in cfg.get("salts", []) or []
    ]
    return Formulation(
        name=name,
        solvents=solvents,
        salts=salts,
        ratio_basis=str(cfg.get("ratio_basis", "weight")),
        size=int(cfg.get("size", 3000)),
        size_unit=str(cfg.get("size_unit", "atoms")),
        temperatures=[float(t) for t in cfg.get("temperatures", [298.15])],
        pressure_bar=float(cfg.get("pressure_bar", 1.0)),
    )
