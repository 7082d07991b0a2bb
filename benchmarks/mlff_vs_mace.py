"""Our mlff model against a MACE model of similar size and cutoff: energy + forces per step on the
4,116-atom LiPF6 / EC / DMC box (``data/structures/lipf6_ec_dmc_4116.data.gz``), same machine, same
threads, one after the other.

MACE lives in its own virtual environment (its pins clash with ours):
``python3 -m venv /tmp/venv_mace && /tmp/venv_mace/bin/pip install torch==2.13.0 mace-torch``. Then

    .venv/bin/python benchmarks/mlff_vs_mace.py --mace-python /tmp/venv_mace/bin/python [--threads 2]

Ours: the model file (default the shipped one: F = 64, lmax 1, 2 layers, 5 A, learned charges with
Ewald and dispersion) in OpenMM through the plugin's MLFFForce (the compiled package, neighbour
lists included). MACE: an untrained ScaleShiftMACE with the same width and cutoff (64x0e + 64x1o,
2 interactions, r_max 5 A, correlation 3, max_ell 3, 8 Bessel functions), forward with forces in
eval mode, the neighbour list (matscipy) outside the timing. Each: the mean of ``--steps`` steps
after one warm-up step; the ratio is ours / MACE (the target is <= 0.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOX = ROOT / "data/structures/lipf6_ec_dmc_4116.data.gz"


def _atoms():
    import gzip

    import ase.io

    with gzip.open(BOX, "rt") as handle:
        atoms = ase.io.read(handle, format="lammps-data", atom_style="full")
    from ase.data import atomic_masses

    # LAMMPS data carries masses, not elements: the nearest element mass names each atom
    masses = atoms.get_masses()
    atoms.set_atomic_numbers([int(abs(atomic_masses[1:95] - m).argmin()) + 1 for m in masses])
    atoms.wrap()
    return atoms


def mace_step(dtype: str, threads: int, steps: int) -> dict:
    """Runs inside the MACE environment (``--peer``)."""
    import numpy as np
    import torch
    from e3nn import o3
    from mace import data, modules, tools
    from mace.tools import torch_geometric

    torch.set_num_threads(threads)
    torch.set_default_dtype(getattr(torch, dtype))
    atoms = _atoms()
    zs = sorted(set(atoms.numbers.tolist()))
    table = tools.AtomicNumberTable(zs)
    model = modules.ScaleShiftMACE(
        r_max=5.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=3,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=2, num_elements=len(zs), hidden_irreps=o3.Irreps("64x0e + 64x1o"),
        MLP_irreps=o3.Irreps("16x0e"), atomic_energies=np.zeros(len(zs)), avg_num_neighbors=40.0,
        atomic_numbers=zs, correlation=3, gate=torch.nn.functional.silu, atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    ).eval()
    graph = data.AtomicData.from_config(data.config_from_atoms(atoms), z_table=table, cutoff=5.0)
    batch = next(iter(torch_geometric.dataloader.DataLoader([graph], batch_size=1))).to_dict()
    model(batch, training=False, compute_force=True)
    start = time.perf_counter()
    for _ in range(steps):
        out = model(batch, training=False, compute_force=True)
    return {"step_s": (time.perf_counter() - start) / steps, "edges": int(batch["edge_index"].shape[1]),
            "parameters": sum(p.numel() for p in model.parameters()), "energy": float(out["energy"][0])}


def ours_step(model_path: str, dtype: str, threads: int, steps: int) -> dict:
    import numpy as np
    import torch
    from mlff_openmm import _context

    from elyte import units
    from mlff.model.io import load_model
    from mlff.openmm import mlff_force

    torch.set_num_threads(threads)
    atoms = _atoms()
    model = load_model(model_path).to(dtype=getattr(torch, dtype)).eval()
    cell = np.array(atoms.cell) * units.ANGSTROM_TO_NM
    context = _context(mlff_force(model, atoms.numbers, 0.0, cell), atoms.numbers, cell, threads)
    context.setPositions(atoms.positions * units.ANGSTROM_TO_NM)
    context.getState(getForces=True, getEnergy=True)
    start = time.perf_counter()
    for _ in range(steps):
        context.setPositions(atoms.positions * units.ANGSTROM_TO_NM)  # invalidates the cached forces
        context.getState(getForces=True, getEnergy=True)
    return {"step_s": (time.perf_counter() - start) / steps,
            "parameters": sum(p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mace-python", default="/tmp/venv_mace/bin/python")
    parser.add_argument("--model", help="our model file (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--dtype", nargs="+", default=["float32", "float64"])
    parser.add_argument("--peer", help=argparse.SUPPRESS)  # internal: run the MACE side with this dtype
    args = parser.parse_args()
    if args.peer:
        print(json.dumps(mace_step(args.peer, args.threads, args.steps)))
        return
    from mlff.model.io import SHIPPED_MODEL  # not at the top: the MACE side runs this file in its own venv

    args.model = args.model or str(ROOT / "data" / SHIPPED_MODEL)
    os.environ.setdefault("ELYTE_CACHE", tempfile.mkdtemp(prefix="elyte_bench_"))
    # e3nn (pinned by mace) loads its own constants file with torch.load's pre-2.6 default
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    print("| dtype | ours s/step | MACE s/step | ours / MACE | parameters (ours, MACE) |\n|---|---|---|---|---|")
    for dtype in args.dtype:
        ours = ours_step(args.model, dtype, args.threads, args.steps)
        result = subprocess.run([args.mace_python, __file__, "--peer", dtype, "--threads", str(args.threads),
                                 "--steps", str(args.steps)], capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            sys.exit(f"MACE run failed:\n{result.stderr[-3000:]}")
        mace = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"| {dtype} | {ours['step_s']:.2f} | {mace['step_s']:.2f} | {ours['step_s'] / mace['step_s']:.2f} | "
              f"{ours['parameters']:,}, {mace['parameters']:,} |", flush=True)


if __name__ == "__main__":
    main()
