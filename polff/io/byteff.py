"""Read and write ByteFF-Pol parameter files: a GROMACS ``.itp`` (atoms, bonded terms; nm, kJ/mol,
degrees) plus a ``.json`` of per-atom non-bonded parameters (nm, kJ/mol), as released with the
published model. Converted to and from :class:`polff.parameters.MoleculeParameters` (internal units).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from elyte import elements, units
from elyte.errors import InputError
from polff.parameters import MoleculeParameters, Torsions

NM = units.NM_TO_ANGSTROM
KJ = units.KJ_TO_KCAL
# json key -> (field, factor to internal units)
JSON_FIELDS = {
    "charge": ("charge", 1.0),
    "alpha": ("alpha", NM**3),
    "pol_damping": ("pol_damping", NM**3),
    "eps": ("eps", KJ),
    "lamb": ("lamb", 1.0),
    "Rvdw": ("rvdw", NM),
    "C6": ("c6", KJ * NM**6),
    "ct_eps": ("ct_eps", KJ * NM**4),
    "ct_lamb": ("ct_lamb", 1.0),
}


class ParameterFileError(InputError):
    """A parameter file that cannot be read."""


def _sections(text: str, path: Path) -> dict[str, list[list[str]]]:
    """``[ section ]`` -> rows of fields, comments dropped. Dihedral sections keep their order."""
    sections: dict[str, list[list[str]]] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            current = line.strip("[] ").lower()
            sections.setdefault(current, [])
        elif line.startswith("#"):
            raise ParameterFileError(f"{path}:{number}: preprocessor directives are not supported in a molecule itp")
        elif current is None:
            raise ParameterFileError(f"{path}:{number}: data before any [ section ]")
        else:
            sections[current].append(line.split())
    return sections


def _element(atom_type: str, mass: float) -> str:
    """Element from the mass written in the itp (ByteFF-Pol types are opaque names)."""
    z = int(np.argmin([abs(elements.mass(z) - mass) for z in range(1, 87)])) + 1
    if abs(elements.mass(z) - mass) > 0.1:
        raise ParameterFileError(f"atom type {atom_type!r}: mass {mass} matches no element")
    return elements.symbol(z)


def _torsions(rows: list[list[str]], funct: str) -> Torsions:
    rows = [r for r in rows if r[4] == funct]
    if not rows:
        return Torsions.empty()
    return Torsions(
        atoms=np.array([[int(x) - 1 for x in r[:4]] for r in rows]),
        k=np.array([float(r[6]) for r in rows]) * KJ,
        periodicity=np.array([int(r[7]) for r in rows]),
        phase=np.radians([float(r[5]) for r in rows]),
    )


def read_byteff(itp: str | Path, json_path: str | Path | None = None) -> MoleculeParameters:
    """Read ``NAME.itp`` and its ``NAME.json`` (default: beside the itp) into internal units."""
    itp = Path(itp)
    json_path = Path(json_path) if json_path else itp.with_suffix(".json")
    for path in (itp, json_path):
        if not path.is_file():
            raise ParameterFileError(f"{path} does not exist")
    sec = _sections(itp.read_text(), itp)
    if "atoms" not in sec or "moleculetype" not in sec:
        raise ParameterFileError(f"{itp}: needs [ moleculetype ] and [ atoms ] sections")
    atoms = sec["atoms"]
    try:
        nb = json.loads(json_path.read_text())
    except json.JSONDecodeError as err:
        raise ParameterFileError(f"{json_path}: not valid JSON ({err})") from err
    missing = [k for k in JSON_FIELDS if k not in nb]
    if missing:
        raise ParameterFileError(f"{json_path}: missing non-bonded parameters {missing}")
    values = {field: np.asarray(nb[key], float) * factor for key, (field, factor) in JSON_FIELDS.items()}
    for key, (field, _) in JSON_FIELDS.items():
        if values[field].shape != (len(atoms),):
            raise ParameterFileError(f"{json_path}: {key} has {values[field].size} values for {len(atoms)} atoms")
    itp_charge = np.array([float(a[6]) for a in atoms])
    if not np.allclose(itp_charge, values["charge"], atol=1e-4):
        raise ParameterFileError(f"{itp} and {json_path} disagree on the charges")

    bonds = sec.get("bonds", [])
    angles = sec.get("angles", [])
    dihedrals = sec.get("dihedrals", [])
    return MoleculeParameters(
        name=sec["moleculetype"][0][0],
        atom_names=[a[4] for a in atoms],
        atom_types=[a[1] for a in atoms],
        elements=[_element(a[1], float(a[7])) for a in atoms],
        masses=np.array([float(a[7]) for a in atoms]),
        bonds=np.array([[int(b[0]) - 1, int(b[1]) - 1] for b in bonds], dtype=int).reshape(-1, 2),
        bond_length=np.array([float(b[3]) for b in bonds]) * NM,
        bond_k=np.array([float(b[4]) for b in bonds]) * KJ / NM**2,
        angles=np.array([[int(x) - 1 for x in a[:3]] for a in angles], dtype=int).reshape(-1, 3),
        angle_theta=np.radians([float(a[4]) for a in angles]),
        angle_k=np.array([float(a[5]) for a in angles]) * KJ,
        propers=_torsions(dihedrals, "9"),
        impropers=_torsions(dihedrals, "4"),
        **values,
    )


def write_byteff(mol: MoleculeParameters, directory: str | Path) -> tuple[Path, Path]:
    """Write ``NAME.itp`` and ``NAME.json`` (GROMACS / ByteFF-Pol units) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["; written by elyte polff", "", "[ moleculetype ]", ";name  nrexcl", f" {mol.name}  3", "", "[ atoms ]",
             ";   nr  type  resi  res  atom  cgnr  charge  mass"]
    for i in range(mol.n_atoms):
        lines.append(f" {i + 1:6d} {mol.atom_types[i]:>8s} 1 {mol.name[:4]:>4s} {mol.atom_names[i]:>6s} {i + 1:6d} "
                     f"{mol.charge[i]:12.8f} {mol.masses[i]:10.4f}")
    lines += ["", "[ bonds ]", ";  ai  aj funct  r  k"]
    for (a, b), r0, k in zip(mol.bonds, mol.bond_length, mol.bond_k):
        lines.append(f" {a + 1:5d} {b + 1:5d} 1 {r0 / NM:.8f} {k / KJ * NM**2:.6f}")
    lines += ["", "[ angles ]", ";  ai  aj  ak funct  theta  cth"]
    for (a, b, c), t0, k in zip(mol.angles, mol.angle_theta, mol.angle_k):
        lines.append(f" {a + 1:5d} {b + 1:5d} {c + 1:5d} 1 {np.degrees(t0):.8f} {k / KJ:.6f}")
    for title, funct, tors in (("propers", 9, mol.propers), ("impropers", 4, mol.impropers)):
        lines += ["", f"[ dihedrals ] ; {title}", ";  ai  aj  ak  al funct  phase  k  pn"]
        for atoms, k, n, phase in zip(tors.atoms, tors.k, tors.periodicity, tors.phase):
            idx = " ".join(f"{x + 1:5d}" for x in atoms)
            lines.append(f" {idx} {funct} {np.degrees(phase):.6f} {k / KJ:.8f} {n}")
    itp = directory / f"{mol.name}.itp"
    itp.write_text("\n".join(lines) + "\n")
    out = {key: (getattr(mol, field) / factor).tolist() for key, (field, factor) in JSON_FIELDS.items()}
    json_path = directory / f"{mol.name}.json"
    json_path.write_text(json.dumps(out, indent=2))
    return itp, json_path
