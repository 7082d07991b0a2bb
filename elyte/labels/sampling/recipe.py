"""A sampling recipe (config mapping) expanded into the structures of a dataset.

Sections (each optional): ``species`` (name -> SMILES), ``conformers`` (ETKDG + relaxation with the
sampling backend), ``normal_modes`` (Boltzmann displacements of each species' lowest conformer),
``dimers`` (every ion with every solvent, and cation-anion pairs), ``binding_sites`` (monatomic
cations on each solvent's donor atoms, :mod:`elyte.labels.sampling.binding`), ``clusters`` (solvation shells
cut from a box or from the frames of an MD trajectory; one section or a list), ``torsions`` (relaxed
scans of each species' rotatable dihedrals from its lowest conformer). Deterministic for a given
``seed``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from elyte.formulation import Species
from elyte.io.structures import read_structure
from elyte.labels.engines.base import Backend, BackendError
from elyte.labels.sampling.binding import binding_sites, face_dimer, face_sites, site_dimer
from elyte.labels.sampling.clusters import clusters, trajectory_boxes
from elyte.labels.sampling.dimers import dimer
from elyte.labels.sampling.molecules import SamplingError, embed, molecule
from elyte.labels.sampling.normal_modes import displaced, hessian
from elyte.labels.sampling.relax import relax
from elyte.labels.sampling.torsions import rotatable_dihedrals, torsion_scan
from elyte.labels.structure import QMStructure
from elyte.md.topology import residue_name
from elyte.progress import progress

log = logging.getLogger(__name__)


def _tag(structures: list[QMStructure], **info) -> list[QMStructure]:
    for s in structures:
        s.provenance.update(info)
    return structures


def sample_conformers(backend: Backend, species: Mapping[str, str], cfg: Mapping, seed: int
                      ) -> dict[str, list[QMStructure]]:
    """Relaxed conformers of each species, lowest energy first, near-duplicates (same energy) dropped."""
    out = {}
    for name, smiles in progress(species.items(), desc="conformers", total=len(species), unit="species"):
        relaxed = []
        for s in embed(smiles, int(cfg.get("n_embed", 4)), seed):
            try:
                relaxed.append(relax(backend, s, float(cfg.get("fmax", 0.5)), int(cfg.get("steps", 300))))
            except BackendError as err:
                log.warning("%s: a conformer failed to relax and is skipped (%s)", name, err)
        if not relaxed:
            raise SamplingError(f"{name}: no conformer of {smiles!r} could be relaxed")
        energies = [float(backend.compute(s, ["energy"])["energy"]) for s in relaxed]
        kept, kept_e = [], []
        for k in np.argsort(energies):
            if all(abs(energies[k] - e) > float(cfg.get("energy_tol", 0.05)) for e in kept_e):
                kept.append(relaxed[k])
                kept_e.append(energies[k])
        out[name] = _tag(kept[: int(cfg.get("keep", 2))], kind="conformer", name=name)
    return out


def sample_normal_modes(backend: Backend, lowest: Mapping[str, QMStructure], cfg: Mapping,
                        rng: np.random.Generator) -> list[QMStructure]:
    out = []
    for name, s in progress(lowest.items(), desc="normal modes", total=len(lowest), unit="species"):
        if len(s.numbers) < 2:
            continue
        h = hessian(backend, s)
        out += _tag(displaced(s, h, float(cfg["temperature"]), int(cfg["n"]), rng), kind="normal_mode", name=name)
    return out


def _scales(cfg: Mapping, key: str, n: int, rng: np.random.Generator) -> np.ndarray:
    lo, hi = cfg[key]
    return rng.uniform(float(lo), float(hi), size=n)


def sample_dimers(lowest: Mapping[str, QMStructure], cfg: Mapping, rng: np.random.Generator) -> list[QMStructure]:
    """Each ion with each solvent, each cation with each anion (``ion_pairs``) and, with
    ``solvent_pairs``, every unordered pair of solvents (itself included): ``per_pair`` random
    placements each, at contact scales drawn from ``cation_scale`` / ``anion_scale`` / ``solvent_scale``."""
    ions, solvents = list(cfg.get("ions", [])), list(cfg.get("solvents", []))
    missing = [n for n in ions + solvents if n not in lowest]
    if missing:
        raise SamplingError(f"dimer partners {missing} are not in the recipe's species")
    pairs = [(i, s) for i in ions for s in solvents]
    if cfg.get("ion_pairs", True):
        pairs += [(c, a) for c in ions for a in ions if lowest[c].charge > 0 > lowest[a].charge]
    if cfg.get("solvent_pairs", False):
        pairs += [(a, b) for k, a in enumerate(solvents) for b in solvents[k:]]
    out = []
    for a, b in progress(pairs, desc="dimers", unit="pair"):
        charge = lowest[a].charge
        key = "cation_scale" if charge > 0 else "anion_scale" if charge < 0 else "solvent_scale"
        for scale in _scales(cfg, key, int(cfg["per_pair"]), rng):
            d = dimer(lowest[a], lowest[b], float(scale), rng)
            d.provenance.update(name=f"{a}+{b}", partners=[a, b])
            out.append(d)
    return out


def sample_binding_sites(lowest: Mapping[str, QMStructure], cfg: Mapping, rng: np.random.Generator
                         ) -> list[QMStructure]:
    """Each of ``cations`` on each symmetry-distinct donor atom of each of ``solvents``: ``per_site``
    placements within ``tilt_deg`` of the site's outward direction, at distances (A) drawn from
    ``distance[cation]``. Solvents without donor atoms give none. With ``faces`` ({cation: [min, max]},
    A from the polyhedron's centre), as many placements again on each symmetry-distinct face of
    every polyhedral centre (:func:`~elyte.labels.sampling.binding.face_sites`), within
    ``face_tilt_deg`` (default ``tilt_deg``) of the face's axis."""
    cations, solvents = list(cfg["cations"]), list(cfg["solvents"])
    missing = [n for n in cations + solvents if n not in lowest]
    if missing:
        raise SamplingError(f"binding-site partners {missing} are not in the recipe's species")
    faces = cfg.get("faces") or {}
    for key in ("distance", "faces") if faces else ("distance",):
        if unranged := [c for c in cations if c not in cfg[key]]:
            raise SamplingError(f"binding_sites.{key} has no range (A) for {unranged}")
    face_tilt = float(cfg.get("face_tilt_deg", cfg["tilt_deg"]))
    out = []
    for c, s in progress([(c, s) for c in cations for s in solvents], desc="binding sites", unit="pair"):
        for site in binding_sites(lowest[s]):
            for _ in range(int(cfg["per_site"])):
                d = site_dimer(lowest[c], lowest[s], site, tuple(cfg["distance"][c]), float(cfg["tilt_deg"]), rng)
                d.provenance.update(name=f"{c}+{s}", partners=[c, s])
                out.append(d)
        for centre, face in (face_sites(lowest[s]) if faces else []):
            for _ in range(int(cfg["per_site"])):
                d = face_dimer(lowest[c], lowest[s], centre, face, tuple(faces[c]), face_tilt, rng)
                d.provenance.update(name=f"{c}+{s}", partners=[c, s])
                out.append(d)
    return out


def sample_clusters(cfg: Mapping, species: Mapping[str, str], rng: np.random.Generator) -> list[QMStructure]:
    """``n`` clusters per centre element from the box ``structure``, or from each of ``frames`` frames
    of an MD ``trajectory`` ({topology, files, frames}; its residues are recipe species)."""
    if "trajectory" in cfg:
        traj = cfg["trajectory"]
        known = [Species.from_smiles(name, smiles) for name, smiles in species.items()]
        charges = {residue_name(s): s.charge for s in known}
        boxes = trajectory_boxes(str(traj["topology"]), list(traj["files"]), int(traj["frames"]), charges)
        source = str(traj["topology"])
    else:
        boxes, source = [read_structure(str(cfg["structure"]))], str(cfg["structure"])
    out = []
    for frame, box in enumerate(progress(boxes, desc="clusters", unit="frame")):
        for element, radius in cfg["centers"].items():
            found = clusters(box, str(element), float(radius), int(cfg["n"]), rng, cfg.get("max_molecules"))
            # clusters of one frame share molecules: one split group per frame keeps them together
            out += _tag(found, name=f"{element}-shell", source=source, frame=frame, group=f"{source}#{frame}")
    return out


def sample_torsions(backend: Backend, lowest: Mapping[str, QMStructure], species: Mapping[str, str], cfg: Mapping
                    ) -> list[QMStructure]:
    """Relaxed scans (``step`` degrees) of at most ``max_per_species`` rotatable dihedrals of each of
    ``cfg['species']`` (default: every species), from its lowest conformer."""
    names = list(cfg.get("species") or lowest)
    missing = [n for n in names if n not in lowest]
    if missing:
        raise SamplingError(f"torsion-scan species {missing} are not in the recipe's species")
    angles = np.arange(-180.0, 180.0, float(cfg.get("step", 30.0)))
    out = []
    for name in progress(names, desc="torsion scans", unit="species"):
        mol = molecule(species[name])
        for dihedral in rotatable_dihedrals(mol, int(cfg.get("max_per_species", 2))):
            scan = torsion_scan(backend, mol, lowest[name], dihedral, angles, float(cfg.get("fmax", 1.0)),
                                int(cfg.get("steps", 150)))
            out += _tag(scan, name=name)
    return out


def expand(recipe: Mapping, backend: Backend) -> list[QMStructure]:
    """All structures of ``recipe``; ``backend`` relaxes conformers and gives Hessians (xTB in practice)."""
    rng = np.random.default_rng(int(recipe.get("seed", 0)))
    species = dict(recipe.get("species", {}))
    structures: list[QMStructure] = []
    conformers = sample_conformers(backend, species, recipe.get("conformers", {}), int(recipe.get("seed", 0)))
    for found in conformers.values():
        structures += found
    lowest = {name: found[0] for name, found in conformers.items()}
    if recipe.get("normal_modes"):
        structures += sample_normal_modes(backend, lowest, recipe["normal_modes"], rng)
    if recipe.get("dimers"):
        structures += sample_dimers(lowest, recipe["dimers"], rng)
    if recipe.get("binding_sites"):
        structures += sample_binding_sites(lowest, recipe["binding_sites"], rng)
    sections = recipe.get("clusters") or []
    for section in [sections] if isinstance(sections, Mapping) else sections:  # one section or a list
        structures += sample_clusters(section, species, rng)
    if recipe.get("torsions"):
        structures += sample_torsions(backend, lowest, species, recipe["torsions"])
    log.info("recipe: %d structures (%s)", len(structures), _counts(structures))
    return structures


def _counts(structures: list[QMStructure]) -> str:
    kinds: dict[str, int] = {}
    for s in structures:
        kinds[s.provenance.get("kind", "?")] = kinds.get(s.provenance.get("kind", "?"), 0) + 1
    return ", ".join(f"{k} {v}" for k, v in kinds.items())
