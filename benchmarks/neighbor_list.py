"""Neighbour-list speed, side by side in one run: the compiled op, its pure-torch reference,
ase.neighborlist and vesin, on the 4,116-atom LiPF6/EC/DMC box (5 A cutoff by default).

    .venv/bin/python benchmarks/neighbor_list.py [--threads 2] [--cutoff 5] [--repeats 20]

Prints median wall times and ratios (peer time / ours); the machine is noisy, so compare ratios.
Every method's pair count is checked against ours before timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from elyte.io.structures import read_structure
from elyte.neighbors import neighbor_list
from elyte.paths import data_dir


def median_ms(methods: dict, repeats: int) -> dict[str, float]:
    """Median wall time (ms) of each method, timed round-robin so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--structure", default=str(data_dir() / "structures" / "lipf6_ec_dmc_4116.data.gz"))
    parser.add_argument("--cutoff", type=float, default=5.0, help="Angstrom")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    atoms = read_structure(args.structure)
    pos64 = np.ascontiguousarray(atoms.positions)
    cell64 = np.asarray(atoms.cell[:])
    pos, cell = torch.as_tensor(pos64), torch.as_tensor(cell64)
    n_half = neighbor_list(pos, args.cutoff, cell, backend="native")[0].shape[1]
    print(f"{args.structure}: {len(atoms)} atoms, cutoff {args.cutoff} A, {n_half} pairs (half list), "
          f"{args.threads} threads, torch {torch.__version__}")

    methods = {
        "elyte native (C++ cell list)": (lambda: neighbor_list(pos, args.cutoff, cell, backend="native"), "half"),
        "elyte torch reference": (lambda: neighbor_list(pos, args.cutoff, cell, backend="torch"), "half"),
    }
    try:
        from ase.neighborlist import neighbor_list as ase_neighbor_list

        methods["ase.neighborlist.neighbor_list"] = (lambda: ase_neighbor_list("ijS", atoms, args.cutoff), "full")
    except ImportError:
        pass
    try:
        import vesin

        nl = vesin.NeighborList(cutoff=args.cutoff, full_list=False, n_threads=args.threads)
        methods[f"vesin {vesin.__version__}"] = (lambda: nl.compute(pos64, cell64, True, "ijS"), "half")
    except ImportError:
        print("vesin not installed (pip install vesin): skipped")

    for name, (fn, kind) in methods.items():  # check the answers (and warm up)
        out = fn()
        n = (out[0].shape[1] if isinstance(out[0], torch.Tensor) and out[0].dim() == 2 else len(out[0]))
        expected = n_half if kind == "half" else 2 * n_half
        if n != expected:
            raise SystemExit(f"{name} found {n} pairs ({kind} list), expected {expected}")
    results = median_ms({name: fn for name, (fn, _) in methods.items()}, args.repeats)

    ours = results["elyte native (C++ cell list)"]
    print("\n| method | list | median ms | time / elyte native |\n|---|---|---|---|")
    for name, ms in results.items():
        print(f"| {name} | {methods[name][1]} | {ms:.2f} | {ms / ours:.2f} |")


if __name__ == "__main__":
    main()
