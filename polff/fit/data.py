"""Training data for the parameterizer from QM label stores (:class:`elyte.labels.store.LabelStore`).

Records are grouped into molecules by their SMILES (provenance ``smiles``: atom-mapped, as in
``qm_monomer_100``, or plain with RDKit's atom order plus hydrogens, as the sampling recipes write
it) and level of theory: energies of different methods are never compared. Dimers (records with
``fragments`` and an ``interaction_energy``) find their monomers' SMILES through the ``partners``
names of the conformer records of the same stores; clusters cut from a box (no ``partners``) by
matching each fragment's bonds, perceived from its geometry, against those SMILES
(:mod:`polff.fit.matching`), which also puts its atoms in the SMILES' order. Records that cannot be
matched to a molecule are skipped, counted and logged.

Whatever labels a record carries are kept: conformer energies and forces, per-atom
``charges_esp``, ``atomic_polarizabilities``, ``c6``, ``volume_ratios`` (Hirshfeld V_eff/V_free)
and a ``hessian`` [3N, 3N]. Units are internal (Angstrom, kcal/mol, kcal/mol/A, e, A^3).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem

from elyte import elements
from elyte.labels.store import LabelStore, Record
from polff.fit.matching import match_fragment
from polff.molecule import MoleculeError, from_smiles
from polff.params.graph import MoleculeGraph, octahedral_angles

log = logging.getLogger(__name__)

ATOM_LABELS = ("charges_esp", "atomic_polarizabilities", "c6", "volume_ratios")
GLOBAL_LABELS = ("energy", "dipole", "polarizability", "molecular_c6", "virial", "esp_points", "esp_values")


@dataclass
class FitMolecule:
    """One molecule at one level of theory: its conformers and labels (internal units)."""

    smiles: str  # as in the store; its atom order is the order of every array here
    method: str
    name: str
    positions: np.ndarray  # [C, N, 3] conformers with an energy
    energies: np.ndarray  # [C] kcal/mol, absolute (only differences within the molecule are used)
    forces: np.ndarray | None  # [C, N, 3] kcal/mol/A, None unless every conformer has them
    atom_labels: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [R, N], one row per record
    hessian: tuple[np.ndarray, np.ndarray] | None = None  # (positions [N, 3], Hessian [3N, 3N] kcal/mol/A^2)
    polarizability: float | None = None  # A^3, isotropic molecular (finite field), mean over records
    molecular_c6: float | None = None  # kcal/mol A^6, Casimir-Polder C6 of two copies, mean over records

    @property
    def key(self) -> str:
        return f"{self.name} [{self.method}]"


@dataclass
class FitCluster:
    """A dimer or cluster with its interaction energy; fragments in the order of ``smiles``."""

    name: str
    method: str
    smiles: list[str]  # one per fragment
    positions: np.ndarray  # [N, 3], fragment atoms consecutive in the order of ``smiles``
    interaction_energy: float  # kcal/mol


@dataclass
class FitData:
    """Molecules, clusters and the graph of every SMILES they use."""

    molecules: list[FitMolecule]
    clusters: list[FitCluster]
    graphs: dict[str, MoleculeGraph]

    def identity(self, smiles: str) -> str:
        """Canonical SMILES (atom maps removed): the same molecule whatever its atom order."""
        mol = Chem.Mol(self.graphs[smiles].molecule.rdkit)
        for atom in mol.GetAtoms():
            atom.SetAtomMapNum(0)
        return Chem.MolToSmiles(Chem.RemoveHs(mol))


def _graph(smiles: str, graphs: dict[str, MoleculeGraph], numbers: np.ndarray | None, positions: np.ndarray | None,
           where: str) -> MoleculeGraph | None:
    """The graph of ``smiles`` (cached) if its elements match ``numbers`` (when given); None (logged)
    otherwise. ``positions`` tell cis from trans at six-coordinate centres."""
    if smiles not in graphs:
        try:
            graphs[smiles] = MoleculeGraph.from_molecule(from_smiles(smiles), positions)
        except MoleculeError as err:
            log.warning("%s: skipped, the force field cannot describe %s (%s)", where, smiles, err)
            graphs[smiles] = None
    graph = graphs[smiles]
    if graph is not None and numbers is not None and [elements.symbol(z) for z in numbers] != graph.molecule.elements:
        log.warning("%s: skipped, its atoms are not in the order of its SMILES %s", where, smiles)
        return None
    return graph


def octahedral_alignment(graph: MoleculeGraph, positions: np.ndarray) -> np.ndarray | None:
    """An atom order (an automorphism of the molecule) that puts ``positions`` (in SMILES order) on
    the graph's cis/trans pairs at six-coordinate centres: the identity when they already agree,
    None when no automorphism does (not octahedral). Two embeddings of PF6- pair their fluorines
    differently; a record read with another record's pairing has trans F-P-F angles fitted as cis."""
    molecule = graph.molecule
    if len(graph.terms["angles"]) == len(molecule.angles):  # no six-coordinate centre
        return np.arange(molecule.n_atoms)
    expected = {tuple(t) for t in graph.terms["angles"].tolist()}
    for match in molecule.rdkit.GetSubstructMatches(molecule.rdkit, uniquify=False, maxMatches=100000):
        order = np.asarray(match)
        try:
            cis = octahedral_angles(molecule, positions[order])
        except MoleculeError:
            return None
        if {tuple(t) for t in cis.tolist()} == expected:
            return order
    return None


def _reordered(record: Record, order: np.ndarray) -> Record:
    """``record`` with its atoms in ``order`` (per-atom labels and the Hessian permuted too)."""
    if np.array_equal(order, np.arange(len(order))):
        return record
    n = len(order)
    xyz = (3 * order[:, None] + np.arange(3)).ravel()
    labels = {}
    for name, value in record.labels.items():
        value = np.asarray(value)
        if name == "hessian":
            labels[name] = value[np.ix_(xyz, xyz)]
        elif name not in GLOBAL_LABELS and value.ndim >= 1 and value.shape[0] == n:
            labels[name] = value[order]
        else:
            labels[name] = value
    return dataclasses.replace(record, numbers=record.numbers[order], positions=record.positions[order], labels=labels)


def _molecule(smiles: str, method: str, records: list[Record]) -> FitMolecule:
    name = str(records[0].provenance.get("name", smiles))
    with_energy = [r for r in records if "energy" in r.labels]
    forces = None
    if with_energy and all("forces" in r.labels for r in with_energy):
        forces = np.stack([r.labels["forces"] for r in with_energy])
    n = len(records[0].numbers)
    atom_labels = {k: np.stack([r.labels[k] for r in records if k in r.labels])
                   for k in ATOM_LABELS if any(k in r.labels for r in records)}
    hessian = next(((r.positions, r.labels["hessian"]) for r in records if "hessian" in r.labels), None)
    tensors = [r.labels["polarizability"] for r in records if "polarizability" in r.labels]
    polarizability = float(np.mean([np.trace(t) / 3 for t in tensors])) if tensors else None
    c6 = [float(r.labels["molecular_c6"]) for r in records if "molecular_c6" in r.labels]
    return FitMolecule(
        smiles=smiles, method=method, name=name,
        positions=np.stack([r.positions for r in with_energy]) if with_energy else np.zeros((0, n, 3)),
        energies=np.array([float(r.labels["energy"]) for r in with_energy]),
        forces=forces, atom_labels=atom_labels, hessian=hessian, polarizability=polarizability,
        molecular_c6=float(np.mean(c6)) if c6 else None,
    )


def _fragment_species(record: Record, species: dict[str, str], graphs: dict, where: str
                      ) -> tuple[list[str], list[np.ndarray]] | None:
    """SMILES of each fragment and its atom indices in that SMILES' order: from the record's
    ``partners`` names when present, else by matching each fragment's bonds against the known species."""
    fragments = np.asarray(record.provenance["fragments"])
    blocks = [np.flatnonzero(fragments == k) for k in range(fragments.max() + 1)]
    partners = record.provenance.get("partners")
    if partners:
        if len(partners) != len(blocks) or any(p not in species for p in partners):
            return None
        return [species[p] for p in partners], blocks
    charges = record.provenance.get("fragment_charges", [0] * len(blocks))
    candidates = {}
    for smiles in dict.fromkeys(species.values()):
        if _graph(smiles, graphs, None, None, where) is not None:
            candidates[smiles] = graphs[smiles].molecule
    found = [match_fragment(record.numbers[b], record.positions[b], int(q), candidates)
             for b, q in zip(blocks, charges)]
    if any(f is None for f in found):
        return None
    return [smiles for smiles, _ in found], [b[order] for b, (_, order) in zip(blocks, found)]


def _cluster(record: Record, species: dict[str, str], graphs: dict, where: str) -> FitCluster | None:
    """The record as a cluster of known molecules (atoms reordered fragment by fragment), or None."""
    found = _fragment_species(record, species, graphs, where)
    if found is None:
        return None
    smiles, blocks = found
    for smi, block in zip(smiles, blocks):
        if _graph(smi, graphs, record.numbers[block], record.positions[block], where) is None:
            return None
    name = str(record.provenance.get("name", "+".join(smiles)))
    return FitCluster(name, record.method, smiles, record.positions[np.concatenate(blocks)],
                      float(record.labels["interaction_energy"]))


def read_records(records: Iterable[Record], names: Sequence[str] | None = None, source: str = "store") -> FitData:
    """Group ``records`` into molecules and clusters; ``names`` keeps only those molecule names
    (provenance ``name``) and the clusters made only of them."""
    records = list(records)
    species = {r.provenance["name"]: r.provenance["smiles"] for r in records
               if "smiles" in r.provenance and "name" in r.provenance and "fragments" not in r.provenance}
    graphs: dict[str, MoleculeGraph | None] = {}
    grouped: dict[tuple[str, str], list[Record]] = {}
    clusters, skipped = [], Counter()
    allowed = None if names is None else {species[n] for n in names if n in species}
    for r in records:
        name = r.provenance.get("name")
        if names is not None and "fragments" not in r.provenance and name not in names:
            continue
        where = f"{source}: {name or r.key()}"
        if "fragments" in r.provenance:
            found = _cluster(r, species, graphs, where) if "interaction_energy" in r.labels else None
            if found is None:
                skipped[r.provenance.get("kind", "cluster") + " (no interaction energy or unknown fragments)"] += 1
            elif allowed is None or set(found.smiles) <= allowed:
                clusters.append(found)
        elif "smiles" in r.provenance:
            graph = _graph(r.provenance["smiles"], graphs, r.numbers, r.positions, where)
            order = None if graph is None else octahedral_alignment(graph, r.positions)
            if graph is not None and order is None:
                log.warning("%s: skipped, its six-coordinate centre is not octahedral", where)
            elif order is not None:
                grouped.setdefault((r.provenance["smiles"], r.method), []).append(_reordered(r, order))
        else:
            skipped[r.provenance.get("kind", "structure") + " (no SMILES)"] += 1
    for reason, count in skipped.items():
        log.info("%s: %d %s records skipped", source, count, reason)
    molecules = [_molecule(smi, method, recs) for (smi, method), recs in grouped.items()]
    used = {m.smiles for m in molecules} | {s for c in clusters for s in c.smiles}
    return FitData(molecules, clusters, {k: graphs[k] for k in used})


def load_stores(paths: Sequence[str | Path], names: Sequence[str] | None = None) -> FitData:
    """Every record of the label stores at ``paths`` (``.h5`` or ``.h5.gz``), grouped as
    :func:`read_records` does."""
    records = []
    for path in paths:
        with LabelStore(path, mode="r") as store:
            found = list(store)
        log.info("%s: %d labelled structures", path, len(found))
        records += found
    data = read_records(records, names, source=", ".join(str(p) for p in paths))
    if not data.molecules and not data.clusters:
        raise ValueError(f"no usable molecule or cluster in {', '.join(map(str, paths))}: records need a "
                         "provenance 'smiles' (monomers) or 'partners' with an interaction energy (dimers)")
    return data


def first_molecules(data: FitData, n: int) -> FitData:
    """The first ``n`` molecule entries and the clusters made only of their molecules (quick runs)."""
    molecules = data.molecules[:n]
    kept = {m.smiles for m in molecules}
    clusters = [c for c in data.clusters if set(c.smiles) <= kept]
    return FitData(molecules, clusters, {s: g for s, g in data.graphs.items() if s in kept})
