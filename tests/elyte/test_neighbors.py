"""Neighbour list: compiled op == pure-torch reference == brute force, invariances, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from elyte import native
from elyte.neighbors import NeighborListError, full_list, neighbor_list, pair_vectors
from elyte.neighbors.validate import cell_widths


def brute_force(positions: np.ndarray, cell: np.ndarray | None, pbc, cutoff: float) -> dict:
    """O(N^2 * images) search: {(i, j, shift): distance} for i < j, every image within range."""
    pbc = (pbc,) * 3 if isinstance(pbc, bool) else tuple(pbc)
    reach = []
    for a in range(3):
        if pbc[a]:
            width = float(cell_widths(torch.as_tensor(cell))[a])
            reach.append(range(-math.ceil(cutoff / width) - 1, math.ceil(cutoff / width) + 2))
        else:
            reach.append(range(0, 1))
    found = {}
    for shift in itertools.product(*reach):
        t = np.asarray(shift, float) @ cell if cell is not None else np.zeros(3)
        d = np.linalg.norm(positions[None, :, :] + t - positions[:, None, :], axis=-1)
        for i, j in zip(*np.nonzero(d < cutoff)):
            if i < j:
                found[(int(i), int(j), shift)] = d[i, j]
    return found


def as_set(pairs: torch.Tensor, shifts: torch.Tensor) -> set:
    return {(int(i), int(j), tuple(int(v) for v in s)) for (i, j), s in zip(pairs.T.tolist(), shifts.tolist())}


def random_system(seed: int, kind: str, n: int = 150):
    rng = np.random.default_rng(seed)
    if kind == "orthorhombic":
        cell = np.diag(rng.uniform(12, 20, 3))
    elif kind == "triclinic":  # strongly skewed
        cell = np.array([[15.0, 0, 0], [7.0, 14.0, 0], [-6.0, 5.0, 13.0]]) * rng.uniform(0.9, 1.1)
    elif kind == "small":  # the cutoff nearly half the box: one or two bins per axis
        cell = np.array([[9.0, 0, 0], [2.0, 9.5, 0], [1.0, -1.5, 10.0]])
    else:
        raise ValueError(kind)
    frac = rng.uniform(-0.5, 1.5, (n, 3))  # unwrapped: atoms outside the cell too
    return frac @ cell, cell


BACKENDS = ["torch"] + (["native"] if native.available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["orthorhombic", "triclinic", "small"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_periodic_matches_brute_force(backend, kind, seed):
    positions, cell = random_system(seed, kind)
    widths = cell_widths(torch.as_tensor(cell))
    cutoff = 0.499 * float(widths.min()) if kind == "small" else 4.5
    pairs, shifts = neighbor_list(torch.as_tensor(positions), cutoff, torch.as_tensor(cell), backend=backend)
    expected = brute_force(positions, cell, True, cutoff)
    assert as_set(pairs, shifts) == set(expected)
    assert pairs.shape[1] == len(expected)  # no duplicates
    vec = pair_vectors(torch.as_tensor(positions), torch.as_tensor(cell), pairs, shifts)
    assert float(vec.norm(dim=1).max()) < cutoff


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("pbc", [(False, False, False), (True, True, False), (True, False, True)])
def test_cluster_and_mixed_pbc_match_brute_force(backend, pbc):
    positions, cell = random_system(5, "triclinic", n=200)
    cell_arg = torch.as_tensor(cell) if any(pbc) else None
    pairs, shifts = neighbor_list(torch.as_tensor(positions), 4.0, cell_arg, pbc=pbc, backend=backend)
    assert as_set(pairs, shifts) == set(brute_force(positions, cell if any(pbc) else None, pbc, 4.0))


def test_sparse_cluster_far_apart():
    """Two molecules 1 km apart must not allocate a bin grid spanning the gap."""
    rng = np.random.default_rng(3)
    positions = np.concatenate([rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 1e13])
    for backend in BACKENDS:
        pairs, shifts = neighbor_list(torch.as_tensor(positions), 3.0, backend=backend)
        assert as_set(pairs, shifts) == set(brute_force(positions, None, False, 3.0))


@pytest.mark.skipif(not native.available(), reason="compiled ops not built")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_equals_reference_exactly(dtype):
    """Same pairs and shifts on a dense liquid-like box (and in float32); grouped by ascending i."""
    rng = np.random.default_rng(11)
    cell = np.array([[24.0, 0, 0], [3.0, 23.0, 0], [-2.0, 4.0, 25.0]])
    positions = torch.as_tensor(rng.uniform(0, 1, (1500, 3)) @ cell, dtype=dtype)
    cell_t = torch.as_tensor(cell, dtype=dtype)
    a = neighbor_list(positions, 6.0, cell_t, backend="native")
    b = neighbor_list(positions, 6.0, cell_t, backend="torch")
    assert bool((a[0][0][1:] >= a[0][0][:-1]).all()), "pairs must be grouped by ascending i"
    order = torch.argsort(a[0][0] * 1500 + a[0][1])
    assert torch.equal(a[0][:, order], b[0]) and torch.equal(a[1][order], b[1])
    assert a[0].shape[1] > 10000
    assert bool((a[0][0] < a[0][1]).all())


@pytest.mark.parametrize("backend", BACKENDS)
def test_invariances(backend):
    """Translating, rotating (with the cell) or wrapping atoms into other images keeps the pairs;
    permuting atoms permutes them."""
    positions, cell = random_system(7, "triclinic")
    pos, h = torch.as_tensor(positions), torch.as_tensor(cell)
    ref = as_set(*neighbor_list(pos, 4.5, h, backend=backend))

    shifted = as_set(*neighbor_list(pos + torch.tensor([3.3, -7.1, 100.2], dtype=pos.dtype), 4.5, h, backend=backend))
    assert {(i, j) for i, j, _ in shifted} == {(i, j) for i, j, _ in ref}

    q, _ = torch.linalg.qr(torch.as_tensor(np.random.default_rng(1).normal(size=(3, 3))))
    assert as_set(*neighbor_list(pos @ q.T, 4.5, h @ q.T, backend=backend)) == ref

    images = torch.as_tensor(np.random.default_rng(2).integers(-3, 4, size=(pos.shape[0], 3)), dtype=pos.dtype)
    moved = pos + images @ h
    pairs, shifts = neighbor_list(moved, 4.5, h, backend=backend)
    d_ref = pair_vectors(pos, h, *neighbor_list(pos, 4.5, h, backend=backend)).norm(dim=1)
    assert torch.allclose(pair_vectors(moved, h, pairs, shifts).norm(dim=1), d_ref)

    perm = torch.randperm(pos.shape[0], generator=torch.Generator().manual_seed(0))
    p2, _ = neighbor_list(pos[perm], 4.5, h, backend=backend)
    mapped = {tuple(sorted((int(perm[i]), int(perm[j])))) for i, j in p2.T.tolist()}
    assert mapped == {(i, j) for i, j, _ in ref}


def test_pair_energy_forces_and_virial_by_finite_differences():
    """A pair energy through the neighbour list: forces and cell gradient equal finite differences."""
    positions, cell = random_system(4, "triclinic", n=60)
    pos = torch.as_tensor(positions).requires_grad_(True)
    h = torch.as_tensor(cell).requires_grad_(True)

    def energy(p, c):
        pairs, shifts = neighbor_list(p.detach(), 5.0, c.detach())
        r = pair_vectors(p, c, pairs, shifts).norm(dim=1)
        return (torch.exp(-r) * (1 - (r / 5.0) ** 2) ** 2).sum()  # smooth at the cutoff

    e = energy(pos, h)
    g_pos, g_cell = (g.detach() for g in torch.autograd.grad(e, (pos, h)))
    eps = 1e-6
    for idx in [(0, 0), (17, 1), (42, 2)]:
        dp = torch.zeros_like(pos)
        dp[idx] = eps
        fd = (energy(pos + dp, h) - energy(pos - dp, h)).detach() / (2 * eps)
        assert float(fd) == pytest.approx(float(g_pos[idx]), rel=1e-6, abs=1e-9)
    for idx in [(0, 0), (1, 0), (2, 1)]:
        dh = torch.zeros_like(h)
        dh[idx] = eps
        fd = (energy(pos, h + dh) - energy(pos, h - dh)).detach() / (2 * eps)
        assert float(fd) == pytest.approx(float(g_cell[idx]), rel=1e-6, abs=1e-9)


@pytest.mark.skipif(not native.available(), reason="compiled ops not built")
def test_works_under_torch_compile():
    positions, cell = random_system(9, "orthorhombic", n=300)
    pos, h = torch.as_tensor(positions), torch.as_tensor(cell)

    def energy(p, c):
        pairs, shifts = neighbor_list(p, 4.0, c, backend="native")
        r = pair_vectors(p, c, pairs, shifts).norm(dim=1)
        return (1.0 / r**6).sum(), pairs.shape[1]

    compiled = torch.compile(energy, fullgraph=True, dynamic=True)
    e, n = compiled(pos, h)
    e_ref, n_ref = energy(pos, h)
    assert n == n_ref and torch.allclose(e, e_ref)
    e2, n2 = compiled(pos[:200], h)  # another size: the op's output size is data-dependent
    assert n2 == energy(pos[:200], h)[1]


def test_full_list_has_both_directions():
    positions, cell = random_system(3, "orthorhombic", n=80)
    pos, h = torch.as_tensor(positions), torch.as_tensor(cell)
    pairs, shifts = neighbor_list(pos, 4.0, h)
    fp, fs = full_list(pairs, shifts)
    assert fp.shape[1] == 2 * pairs.shape[1]
    v = pair_vectors(pos, h, fp, fs)
    half = v.shape[0] // 2
    assert torch.allclose(v[:half], -v[half:])


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_and_single_atom(backend):
    for n in (0, 1):
        pairs, shifts = neighbor_list(torch.zeros(n, 3), 3.0, torch.eye(3) * 10, backend=backend)
        assert pairs.shape == (2, 0) and shifts.shape == (0, 3)


def test_bad_inputs_raise_clear_errors():
    pos = torch.rand(10, 3) * 10
    with pytest.raises(NeighborListError, match="larger than half the periodic box width"):
        neighbor_list(pos, 6.0, torch.eye(3) * 10)
    with pytest.raises(NeighborListError, match="zero volume"):
        neighbor_list(pos, 3.0, torch.tensor([[10.0, 0, 0], [0, 10, 0], [10, 10, 0]]))
    bad = pos.clone()
    bad[4, 1] = float("nan")
    with pytest.raises(NeighborListError, match=r"NaN or infinite \(first: \[4\]\)"):
        neighbor_list(bad, 3.0, torch.eye(3) * 10)
    with pytest.raises(ValueError, match="needs a cell"):
        neighbor_list(pos, 3.0, pbc=True)
    with pytest.raises(NeighborListError, match="positive"):
        neighbor_list(pos, -1.0)
    with pytest.raises(NeighborListError, match=r"shape \[N, 3\]"):
        neighbor_list(torch.rand(10, 2), 3.0)
    with pytest.raises(ValueError, match="backend"):
        neighbor_list(pos, 3.0, backend="fortran")


@pytest.mark.gpu
def test_cuda_kernel_equals_cpu():
    positions, cell = random_system(8, "triclinic", n=2000)
    for dtype in (torch.float32, torch.float64):
        pos, h = torch.as_tensor(positions, dtype=dtype), torch.as_tensor(cell, dtype=dtype)
        cpu = neighbor_list(pos, 4.5, h, backend="native")
        gpu = neighbor_list(pos.cuda(), 4.5, h.cuda(), backend="native")
        assert torch.equal(cpu[0], gpu[0].cpu()) and torch.equal(cpu[1], gpu[1].cpu())
        small, hs = random_system(2, "small", n=300)
        c = 0.499 * float(cell_widths(torch.as_tensor(hs)).min())
        a = neighbor_list(torch.as_tensor(small, dtype=dtype), c, torch.as_tensor(hs, dtype=dtype), backend="native")
        b = neighbor_list(torch.as_tensor(small, dtype=dtype).cuda(), c, torch.as_tensor(hs, dtype=dtype).cuda())
        assert torch.equal(a[0], b[0].cpu()) and torch.equal(a[1], b[1].cpu())
