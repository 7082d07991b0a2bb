"""Energy + forces per step of the mlff model on the 4,116-atom LiPF6 / EC / DMC box (float32).

Usage: ``python benchmarks/mlff_speed.py [--threads 2] [--steps 2] [--full] [--lmax 2 1]``.
Prints, per variant, the collate time, the mean wall time of an energy + forces step after one
warm-up step, and the peak resident memory of the process (resource.getrusage, GB).
Run it under a memory cap on a shared machine: ``prlimit --as=8000000000 python ...``.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from elyte.io.structures import read_structure
from mlff.data.batch import collate
from mlff.data.structure import Structure
from mlff.model.build import build_model

ROOT = Path(__file__).resolve().parents[1]
BOX = ROOT / "data/structures/lipf6_ec_dmc_4116.data.gz"
CONFIG = ROOT / "configs/model/default.yaml"


def structure() -> Structure:
    atoms = read_structure(BOX)
    return Structure(numbers=atoms.numbers, positions=atoms.get_positions(wrap=True), cell=np.array(atoms.cell),
                     pbc=(True, True, True), source=str(BOX))


def config(lmax: int, full: bool) -> dict:
    cfg = yaml.safe_load(CONFIG.read_text())
    for key in ("_target_", "_convert_"):
        cfg.pop(key)
    cfg["lmax"] = lmax
    for term in ("charges", "electrostatics", "dispersion"):
        cfg[term]["enabled"] = full
    return cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="charges, Ewald and dispersion on (default: network)")
    parser.add_argument("--lmax", type=int, nargs="+", default=[2, 1])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    s = structure()
    for lmax in args.lmax:
        torch.manual_seed(0)
        model = build_model(config(lmax, args.full)).float().eval()
        start = time.perf_counter()
        batch = collate([s], model.config.cutoff, model.config.long_cutoff, dtype=torch.float32)
        collate_s = time.perf_counter() - start
        model(batch)  # warm-up
        start = time.perf_counter()
        for _ in range(args.steps):
            out = model(batch)
        step = (time.perf_counter() - start) / args.steps
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"lmax={lmax} full={args.full} atoms={s.n_atoms} edges={batch.edge_index.shape[1]} "
              f"collate={collate_s:.2f}s step={step:.2f}s peak_rss={peak:.2f}GB "
              f"energy={float(out['energy'][0].detach()):.3f}", flush=True)


if __name__ == "__main__":
    main()
