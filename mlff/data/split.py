"""Reproducible train / validation / test splits, by structure or by group (molecule)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

ORDERS = ("hash", "shuffle")


def _rank(labels: np.ndarray, seed: int, order: str) -> np.ndarray:
    """The order in which groups (sorted unique ``labels``) fill the splits."""
    if order == "shuffle":
        return np.random.default_rng(seed).permutation(len(labels))
    if order == "hash":
        keys = [hashlib.blake2b(f"{seed}\0{label}".encode(), digest_size=8).digest() for label in labels]
        return np.array(sorted(range(len(labels)), key=keys.__getitem__), dtype=int)
    raise ValueError(f"unknown split order {order!r}; use one of {ORDERS}")


def split_indices(
    n: int, fractions: Sequence[float], seed: int, groups: Sequence[str | None] | None = None,
    order: str = "hash",
) -> list[np.ndarray]:
    """Disjoint sorted index arrays covering ``range(n)``, one per fraction (fractions sum to 1).

    With ``groups``, every structure of a group lands in the same split; structures whose group is
    ``None`` form groups of one (labelled by their index). Groups fill the splits in turn until each
    holds its share of structures, in an ``order`` set by ``seed``: ``"hash"`` ranks each group by a
    seeded hash of its label, so when data are added a group keeps its split (only groups at a
    boundary may move, as the shares grow); ``"shuffle"`` is a seeded permutation of the sorted labels,
    which reshuffles everything when a group is added (the order of models trained before 2026-12-07,
    kept to rebuild their splits). The same inputs always give the same split.
    """
    fractions = np.asarray(fractions, float)
    if (fractions < 0).any() or abs(fractions.sum() - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions.tolist()}")
    if groups is not None and len(groups) != n:
        raise ValueError(f"{len(groups)} groups given for {n} structures")
    labels = [g if g is not None else f"\0{i}" for i, g in enumerate(groups)] if groups is not None else range(n)
    unique, inverse = np.unique(np.asarray(list(map(str, labels))), return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    bounds = np.round(np.cumsum(fractions) * n).astype(int)
    splits: list[list[np.ndarray]] = [[] for _ in fractions]
    filled, target = 0, 0
    for g in _rank(unique, seed, order):
        while target < len(bounds) - 1 and filled >= bounds[target]:
            target += 1
        splits[target].append(members[g])
        filled += len(members[g])
    return [np.sort(np.concatenate(s)) if s else np.zeros(0, dtype=int) for s in splits]
