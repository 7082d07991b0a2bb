"""Neighbour lists: all pairs closer than a cutoff, in clusters and periodic (triclinic) boxes.

>>> pairs, shifts = neighbor_list(positions, cutoff=5.0, cell=cell)   # Angstrom
>>> vectors = pair_vectors(positions, cell, pairs, shifts)             # differentiable
"""

from elyte.neighbors.search import (
    BACKENDS,
    full_list,
    neighbor_list,
    pair_vectors,
)
from elyte.neighbors.reference import neighbor_pairs_reference
from elyte.neighbors.validate import NeighborListError

__all__ = [
    "BACKENDS",
    "NeighborListError",
    "full_list",
    "neighbor_list",
    "neighbor_pairs_reference",
    "pair_vectors",
]
