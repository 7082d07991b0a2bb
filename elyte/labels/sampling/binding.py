"""Cation-solvent dimers at the solvent's binding sites: the geometries of a solvation shell.

Random dimers (:mod:`elyte.labels.sampling.dimers`) rarely put a cation on a carbonyl or ether oxygen
at its equilibrium distance (Li-O ~ 1.9 A), where the first solvation shell sits. Here the cation is
placed on a lone-pair donor (O, N, F, S) of the solvent, along the direction pointing away from the
donor's bonded neighbours, tilted at random within ``tilt_deg`` (uniform on the spherical cap), at a
distance (Angstrom) drawn uniformly from a range per cation. A placement where another atom is closer
to the cation than the site is redrawn: the site stays the closest contact. Polyhedral anions also
get the cation on their faces (:func:`face_sites`), from inside the face outward.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from elyte import elements
from elyte.labels.structure import QMStructure

DONORS = (7, 8, 9, 16)  # N, O, F, S: atoms that coordinate cations
_BOND_TOLERANCE = 1.2  # bonded: distance below this times the sum of covalent radii
_TRIES = 50
_FACE_COS = -0.5  # face atoms are at most 120 degrees apart seen from the centre (cis, not trans)


def _bonded(positions: np.ndarray, numbers: np.ndarray, site: int) -> np.ndarray:
    """Mask of the atoms bonded to ``site`` (closer than 1.2 times the sum of covalent radii)."""
    radii = np.array([elements.covalent_radius(int(z)) for z in numbers])
    dist = np.linalg.norm(positions - positions[site], axis=1)
    return (dist > 0) & (dist < _BOND_TOLERANCE * (radii + radii[site]))


def binding_sites(solvent: QMStructure) -> list[int]:
    """Donor atoms of ``solvent`` with a lone pair to offer (N and S with at most three bonded
    neighbours: not an ammonium N or a sulfonyl S), one per symmetry class (the lowest index), in atom
    order."""
    symmetry = solvent.symmetry if solvent.symmetry is not None else np.arange(len(solvent.numbers))
    sites, seen = [], set()
    for i, z in enumerate(solvent.numbers):
        if int(z) not in DONORS or int(symmetry[i]) in seen:
            continue
        if int(z) in (7, 16) and _bonded(solvent.positions, solvent.numbers, i).sum() > 3:
            continue
        seen.add(int(symmetry[i]))
        sites.append(i)
    return sites


def outward_direction(positions: np.ndarray, numbers: np.ndarray, site: int) -> np.ndarray:
    """Unit vector from atom ``site`` away from its bonded neighbours (minus the mean of the unit bond
    vectors); away from the molecule's centre when that vanishes (linear environments, lone atoms)."""
    bonds = positions - positions[site]
    bonded = _bonded(positions, numbers, site)
    unit = bonds[bonded] / np.linalg.norm(bonds[bonded], axis=1, keepdims=True)
    away = -unit.sum(axis=0) if bonded.any() else np.zeros(3)
    if np.linalg.norm(away) < 1e-3:
        away = positions[site] - positions.mean(axis=0)
    if np.linalg.norm(away) < 1e-3:
        away = np.array([0.0, 0.0, 1.0])
    return away / np.linalg.norm(away)


def _tilted(axis: np.ndarray, max_tilt_deg: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector uniform on the cap of half-angle ``max_tilt_deg`` around ``axis``."""
    cos_theta = rng.uniform(np.cos(np.radians(max_tilt_deg)), 1.0)
    phi = rng.uniform(0.0, 2.0 * np.pi)
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    return cos_theta * axis + sin_theta * (np.cos(phi) * u + np.sin(phi) * v)


def site_dimer(cation: QMStructure, solvent: QMStructure, site: int, distance: tuple[float, float],
               tilt_deg: float, rng: np.random.Generator) -> QMStructure:
    """``cation`` (one atom) on atom ``site`` of ``solvent`` at a distance (A) drawn from ``distance``
    along the tilted outward direction, the site being the closest contact; raises ``ValueError`` if
    no such placement is found (a buried site)."""
    _check_cation(cation)
    positions = solvent.positions - solvent.positions.mean(axis=0)
    axis = outward_direction(positions, solvent.numbers, site)
    for _ in range(_TRIES):
        r = rng.uniform(*distance)
        place = positions[site] + r * _tilted(axis, tilt_deg, rng)
        if np.linalg.norm(positions - place, axis=1).min() >= r - 1e-9:
            break
    else:
        raise ValueError(f"atom {site} of the solvent is buried: no cation placement within {tilt_deg} degrees "
                         f"of its outward direction has it as the closest contact")
    return _dimer(cation, solvent, positions, place, {"kind": "dimer", "site": int(site), "distance": float(r)})


def face_sites(solvent: QMStructure) -> list[tuple[int, tuple[int, int, int]]]:
    """Faces of the polyhedral centres of ``solvent`` (P of PF6-, B of BF4-, Cl of ClO4-, S of a
    sulfonyl): (centre, three donor atoms bonded to it, pairwise at most 120 degrees apart seen from
    it), one per symmetry class of centre and face, in atom order. A cation on a face meets three
    donors at once, the tridentate contact of an ion pair; a cation outward of one donor
    (:func:`binding_sites`) never reaches it."""
    symmetry = solvent.symmetry if solvent.symmetry is not None else np.arange(len(solvent.numbers))
    faces, seen = [], set()
    for centre in range(len(solvent.numbers)):
        bonded = np.flatnonzero(_bonded(solvent.positions, solvent.numbers, centre))
        if len(bonded) < 4:
            continue
        donors = [int(k) for k in bonded if int(solvent.numbers[k]) in DONORS]
        bonds = {k: solvent.positions[k] - solvent.positions[centre] for k in donors}
        unit = {k: v / np.linalg.norm(v) for k, v in bonds.items()}
        for face in combinations(donors, 3):
            if min(float(unit[a] @ unit[b]) for a, b in combinations(face, 2)) < _FACE_COS:
                continue
            key = (int(symmetry[centre]), tuple(sorted(int(symmetry[k]) for k in face)))
            if key not in seen:
                seen.add(key)
                faces.append((centre, face))
    return faces


def face_dimer(cation: QMStructure, solvent: QMStructure, centre: int, face: tuple[int, int, int],
               distance: tuple[float, float], tilt_deg: float, rng: np.random.Generator) -> QMStructure:
    """``cation`` (one atom) on the axis from atom ``centre`` of ``solvent`` through the centroid of
    the three ``face`` atoms, tilted within ``tilt_deg``, at a distance (A) from the centre drawn from
    ``distance`` (from inside the face, a cation pushed into the anion, to beyond the contact)."""
    _check_cation(cation)
    positions = solvent.positions - solvent.positions.mean(axis=0)
    axis = positions[list(face)].mean(axis=0) - positions[centre]
    r = rng.uniform(*distance)
    place = positions[centre] + r * _tilted(axis / np.linalg.norm(axis), tilt_deg, rng)
    return _dimer(cation, solvent, positions, place,
                  {"kind": "dimer", "site": int(centre), "face": [int(k) for k in face], "distance": float(r)})


def _check_cation(cation: QMStructure) -> None:
    if len(cation.numbers) != 1 or cation.charge <= 0:
        raise ValueError(f"binding-site dimers need a monatomic cation, got {len(cation.numbers)} atoms, "
                         f"charge {cation.charge}")


def _dimer(cation: QMStructure, solvent: QMStructure, positions: np.ndarray, place: np.ndarray,
           provenance: dict) -> QMStructure:
    """The cation at ``place`` before the solvent at ``positions`` (centred), as one structure."""
    symmetry = solvent.symmetry if solvent.symmetry is not None else np.arange(len(solvent.numbers))
    return QMStructure(
        numbers=np.concatenate([cation.numbers, solvent.numbers]),
        positions=np.concatenate([place[None], positions]),
        charge=cation.charge + solvent.charge,
        multiplicity=1 + (cation.multiplicity - 1) + (solvent.multiplicity - 1),
        fragments=np.repeat([0, 1], [1, len(solvent.numbers)]),
        fragment_charges=[cation.charge, solvent.charge],
        fragment_multiplicities=[cation.multiplicity, solvent.multiplicity],
        symmetry=np.concatenate([[0], symmetry + 1]),
        provenance=provenance,
    )
