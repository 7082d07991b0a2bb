"""Reproducible train / validation / test splits, by structure or by group (molecule)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def split_indices(
    n: int, fractions: Sequence[float], seed: int, groups: Sequence[str | None] | None = None
) -> list[np.ndarray]:
    """Disjoint sorted index arrays covering ``range(n)``, one per fraction (fractions sum to 1).

    With ``groups``, every structure of a group lands in the same split (groups are shuffled and
    assigned greedily until each split holds its share of structures); structures whose group is
    ``None`` form groups of one. The same ``seed`` always gives the same split.
    """
    fractions = np.asarray(fractions, float)
    if (fractions < 0).any() or abs(fractions.sum() - 1.0) > 1e-9:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions.tolist()}")
    if groups is not None and len(groups) != n:
        raise ValueError(f"{len(groups)} groups given for {n} structures")
    labels = [g if g is not None else f"\0{i}" for i, g in enumerate(groups)] if groups is not None else range(n)
    unique, inverse = np.unique(np.asarray(list(map(str, labels))), return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    order = np.random.default_rng(seed).permutation(len(unique))
    bounds = np.round(np.cumsum(fractions) * n).astype(int)
    splits: list[list[np.ndarray]] = [[] for _ in fractions]
    filled, target = 0, 0
    for g in order:
        while target < len(bounds) - 1 and filled >= bounds[target]:
            target += 1
        splits[target].append(members[g])
        filled += len(members[g])
    return [np.sort(np.concatenate(s)) if s else np.zeros(0, dtype=int) for s in splits]
