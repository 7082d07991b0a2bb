"""Collation of structures into one disjoint graph with neighbour lists (edges + lattice shifts).

A :class:`Batch` holds B structures with N atoms in total. Edges are directed (both i->j and j->i)
with integer lattice shifts s such that the edge vector is x_j - x_i + s @ cell. Two edge sets are
built: ``edge_index`` within the message-passing cutoff and ``long_edge_index`` within the cutoff of
the physics terms (Ewald real space, dispersion), which may be longer. Labels a structure lacks are
zero with their mask False. Units as :mod:`mlff.data.structure`.

Interaction energies need the model's energy of each molecule of a cluster alone: collated with
``molecules=True``, the molecules of every structure with an interaction-energy label follow the
structures as extra unlabelled structures, and ``molecule_of`` names the structure each belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch

from elyte.neighbors import full_list, neighbor_list
from mlff.data.structure import Structure

MIN_DISTANCE = 0.5  # Angstrom: closer atoms mean a corrupt structure or wrong length units


class StructureError(ValueError):
    """A structure the model cannot evaluate (overlapping atoms)."""


@dataclass
class Batch:
    """Tensors of a batch of structures (see the module docstring)."""

    positions: torch.Tensor  # [N, 3] A
    numbers: torch.Tensor  # [N] int64
    batch: torch.Tensor  # [N] int64 structure index of each atom
    n_atoms: torch.Tensor  # [B] int64
    cell: torch.Tensor  # [B, 3, 3] A, rows = lattice vectors; zero for clusters
    pbc: torch.Tensor  # [B, 3] bool
    total_charge: torch.Tensor  # [B] e
    edge_index: torch.Tensor  # [2, E] int64 (sender i, receiver j pairs, both directions)
    shifts: torch.Tensor  # [E, 3] int64
    long_edge_index: torch.Tensor  # [2, L] int64
    long_shifts: torch.Tensor  # [L, 3] int64
    energy: torch.Tensor  # [B] kcal/mol
    forces: torch.Tensor  # [N, 3] kcal/mol/A
    stress: torch.Tensor  # [B, 3, 3] kcal/mol/A^3
    charges: torch.Tensor  # [N] e
    dipole: torch.Tensor  # [B, 3] e*A
    energy_mask: torch.Tensor  # [B] bool: label present
    forces_mask: torch.Tensor  # [N] bool
    stress_mask: torch.Tensor  # [B] bool
    charges_mask: torch.Tensor  # [N] bool
    dipole_mask: torch.Tensor  # [B] bool
    interaction_energy: torch.Tensor  # [B] kcal/mol
    interaction_energy_mask: torch.Tensor  # [B] bool: label present and the molecules in the batch
    molecule_of: torch.Tensor  # [B] int64: the structure a molecule was cut from, -1 for the others
    cutoff: float  # A: edge_index holds every pair closer than this
    long_cutoff: float  # A: long_edge_index holds every pair closer than this
    atom_counts: tuple[int, ...]  # n_atoms as Python ints (no device read; export keeps them static)
    periodic: tuple[bool, ...]  # per structure: fully periodic (else a cluster or partially periodic)

    @property
    def n_structures(self) -> int:
        return int(self.n_atoms.shape[0])

    def interaction_energies(self, energy: torch.Tensor) -> torch.Tensor:
        """[B] energy of each structure less the sum over the molecules collated with it (kcal/mol),
        from per-structure energies ``energy`` [B]; the energy itself where no molecules follow."""
        cut = self.molecule_of >= 0
        return energy.index_add(0, self.molecule_of[cut], -energy[cut])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Batch:
        """A copy on ``device`` with floating tensors cast to ``dtype``."""
        moved = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, torch.Tensor):
                moved[f.name] = value
                continue
            cast = dtype if (dtype is not None and value.is_floating_point()) else None
            moved[f.name] = value.to(device=device, dtype=cast)
        return Batch(**moved)


def collate(
    structures: Sequence[Structure],
    cutoff: float,
    long_cutoff: float | None = None,
    dtype: torch.dtype = torch.float64,
    require: Sequence[str] = (),
    min_distance: float = MIN_DISTANCE,
    molecules: bool = False,
) -> Batch:
    """One :class:`Batch` of ``structures`` with neighbour lists at ``cutoff`` and ``long_cutoff`` (A).

    ``require`` names labels every structure must carry (raises :class:`MissingLabelError`).
    Raises :class:`StructureError` when two atoms are closer than ``min_distance`` (A).
    ``molecules``: append the molecules of every structure with an interaction energy (module docstring);
    without, interaction energies stay masked out.
    """
    if not structures:
        raise ValueError("cannot collate an empty list of structures")
    for structure in structures:
        structure.require(require)
    structures, molecule_of = _with_molecules(structures) if molecules else (structures, [-1] * len(structures))
    long_cutoff = cutoff if long_cutoff is None else max(cutoff, long_cutoff)
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in ("edge_index", "shifts", "long_edge_index",
                                                                   "long_shifts")}
    offset = 0
    for structure in structures:
        edges, shifts, lengths = _edges(structure, long_cutoff, min_distance)
        short = lengths < cutoff
        parts["edge_index"].append(edges[:, short] + offset)
        parts["shifts"].append(shifts[short])
        parts["long_edge_index"].append(edges + offset)
        parts["long_shifts"].append(shifts)
        offset += structure.n_atoms
    cat = {name: torch.cat(values, dim=-1 if name.endswith("index") else 0) for name, values in parts.items()}
    labels = _labels(structures, dtype)
    labels["interaction_energy_mask"] &= molecules
    return Batch(**_atoms(structures, dtype), **cat, **labels, molecule_of=torch.tensor(molecule_of),
                 cutoff=float(cutoff), long_cutoff=float(long_cutoff),
                 atom_counts=tuple(s.n_atoms for s in structures), periodic=tuple(bool(all(s.pbc)) for s in structures))


def _with_molecules(structures: Sequence[Structure]) -> tuple[list[Structure], list[int]]:
    """``structures`` followed by the molecules of each one with an interaction energy, and for every
    entry the index of the structure it was cut from (-1 for the structures themselves)."""
    out, molecule_of = list(structures), [-1] * len(structures)
    for index, structure in enumerate(structures):
        if structure.interaction_energy is not None:
            cut = structure.molecules()
            out.extend(cut)
            molecule_of.extend([index] * len(cut))
    return out, molecule_of


def _edges(structure: Structure, cutoff: float, min_distance: float):
    positions = torch.as_tensor(structure.positions, dtype=torch.float64)
    cell = torch.as_tensor(structure.cell, dtype=torch.float64) if structure.periodic else None
    pairs, shifts = neighbor_list(positions, cutoff, cell=cell, pbc=structure.pbc)
    vectors = positions[pairs[1]] - positions[pairs[0]]
    if cell is not None:
        vectors = vectors + shifts.double() @ cell
    lengths = vectors.norm(dim=1)
    if lengths.numel() and float(lengths.min()) < min_distance:
        k = int(lengths.argmin())
        i, j = pairs[:, k].tolist()
        raise StructureError(
            f"atoms {i} and {j} of {structure.source or 'a structure'} are {float(lengths[k]):.3g} A apart, closer "
            f"than the physical minimum {min_distance} A: the structure is corrupt or not in Angstrom"
        )
    edges, shifts = full_list(pairs, shifts)
    return edges, shifts, torch.cat([lengths, lengths])


def _atoms(structures: Sequence[Structure], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    counts = torch.tensor([s.n_atoms for s in structures])
    zero = torch.zeros(3, 3)
    return {
        "positions": torch.cat([torch.as_tensor(s.positions) for s in structures]).to(dtype),
        "numbers": torch.cat([torch.as_tensor(s.numbers) for s in structures]),
        "batch": torch.repeat_interleave(torch.arange(len(structures)), counts),
        "n_atoms": counts,
        "cell": torch.stack([torch.as_tensor(s.cell) if s.cell is not None else zero for s in structures]).to(dtype),
        "pbc": torch.tensor([s.pbc for s in structures], dtype=torch.bool),
        "total_charge": torch.tensor([s.total_charge for s in structures], dtype=dtype),
    }


def _labels(structures: Sequence[Structure], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    def stack(name: str, shape: tuple[int, ...], per_atom: bool) -> tuple[torch.Tensor, torch.Tensor]:
        values, masks = [], []
        for s in structures:
            value = getattr(s, name)
            full = (s.n_atoms, *shape) if per_atom else shape
            values.append(torch.zeros(full, dtype=dtype) if value is None else torch.as_tensor(value, dtype=dtype)
                          .reshape(full))
            masks.append(torch.full((s.n_atoms,) if per_atom else (), value is not None))
        return (torch.cat if per_atom else torch.stack)(values), (torch.cat if per_atom else torch.stack)(masks)

    out = {}
    for name, shape, per_atom in (("energy", (), False), ("forces", (3,), True), ("stress", (3, 3), False),
                                  ("charges", (), True), ("dipole", (3,), False),
                                  ("interaction_energy", (), False)):
        out[name], out[f"{name}_mask"] = stack(name, shape, per_atom)
    return out


@dataclass(frozen=True)
class Collater:
    """Picklable ``collate_fn`` for a ``torch.utils.data.DataLoader`` (arguments as :func:`collate`)."""

    cutoff: float
    long_cutoff: float | None = None
    dtype: torch.dtype = torch.float64
    require: tuple[str, ...] = ()
    min_distance: float = MIN_DISTANCE
    molecules: bool = False

    def __call__(self, structures: Sequence[Structure]) -> Batch:
        return collate(structures, self.cutoff, self.long_cutoff, self.dtype, self.require, self.min_distance,
                       self.molecules)
