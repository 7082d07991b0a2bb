"""Training side by side: our mlff model against MACE on the same data, the same split and about the
same wall-clock budget, on this machine; held-out (test) energy and force errors and training speed.

The split is mlff-train's (``configs/data/default.yaml``: by group, seeded hash order), exported as
extended XYZ (eV, eV/A; ``REF_energy`` / ``REF_forces``) for MACE, which trains with its own recipe
(``mace_run_train``: EMA, AMSGrad, E0s fitted to the training set, its default loss weights and
schedule) at a similar parameter count. The epoch counts are chosen by the user so the two wall times
match (both are reported); each training is skipped when its run directory already holds a result.
Errors of both models have the same definitions (kcal/mol, kcal/mol/A): energy MAE per atom and per
structure, force-component MAE (mlff's metrics for ours, the same formulas on MACE's predictions).

MACE lives in its own virtual environment (its pins clash with ours):
``python3 -m venv /tmp/venv_mace && /tmp/venv_mace/bin/pip install torch==2.13.0 mace-torch``. Then

    .venv/bin/python benchmarks/mlff_vs_mace_training.py --epochs-ours 30 --epochs-mace 12 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from elyte import units
from mlff.data import load_dataset, split_dataset
from mlff.data.batch import Collater
from mlff.model.io import load_model
from mlff.train.trainer import evaluate

ROOT = Path(__file__).resolve().parents[1]
SPLIT = yaml.safe_load((ROOT / "configs/data/default.yaml").read_text())["split"]
PARTS = ("train", "valid", "test")
# our architecture: the shipped model's (F 64, l <= 1, 2 layers, QEq + Ewald + dispersion + ZBL)
OURS = ["model.features=64", "model.layers=2", "model.lmax=1"]
# MACE at a similar parameter count: 32 channels, l <= 1 messages, 2 interactions, same cutoff
MACE = ["--model=MACE", "--num_channels=32", "--max_L=1", "--num_interactions=2", "--correlation=3",
        "--r_max=5.0", "--E0s=average", "--ema", "--ema_decay=0.99", "--amsgrad"]


def export_split(store: Path, out: Path) -> dict[str, int]:
    """Writes ``<out>/{train,valid,test}.xyz`` from mlff-train's split of ``store``; structure counts."""
    import ase
    import ase.io

    dataset = load_dataset({"kind": "label_store", "paths": [str(store)]})
    counts = {}
    for name, part in zip(PARTS, split_dataset(dataset, SPLIT)):
        frames = []
        for i in part.indices:
            s = dataset[i]
            atoms = ase.Atoms(numbers=s.numbers, positions=s.positions)
            atoms.info.update(REF_energy=float(s.energy) * units.KCAL_TO_EV, total_charge=float(s.total_charge))
            atoms.arrays["REF_forces"] = np.asarray(s.forces) * units.KCAL_TO_EV
            frames.append(atoms)
        ase.io.write(out / f"{name}.xyz", frames, format="extxyz")
        counts[name] = len(frames)
    dataset.close()
    if not all(counts.values()):
        sys.exit(f"{store} splits into {counts}: too few groups for a test set; use a larger store")
    return counts


def timed(command: list[str], run_dir: Path, threads: int, env: dict | None = None) -> float:
    """Runs ``command`` once (its log in ``run_dir``) and returns its wall time (s), kept in
    ``run_dir/timing.json`` so that a finished training is not redone (unless the command changed)."""
    timing = run_dir / "timing.json"
    if timing.exists():
        done = json.loads(timing.read_text())
        if done["command"] != command:
            sys.exit(f"{run_dir} holds a training with other settings ({' '.join(done['command'][1:])}); "
                     "remove it or choose another --out")
        return done["wall_s"]
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(env or {}), "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    with open(run_dir / "train.out", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed (exit {result.returncode}); see {run_dir / 'train.out'}")
    wall = time.perf_counter() - start
    timing.write_text(json.dumps({"wall_s": wall, "command": command}))
    return wall


def ours(store: Path, out: Path, epochs: int, threads: int, dtype: str) -> dict:
    run_dir = out / "ours"
    wall = timed([str(ROOT / ".venv/bin/mlff-train"), "data.kind=label_store", f"data.paths=[{store}]", *OURS,
                  f"train.epochs={epochs}", f"train.dtype={dtype}", f"hydra.run.dir={run_dir}"], run_dir, threads)
    model = load_model(run_dir / "model.pt")
    dataset = load_dataset({"kind": "label_store", "paths": [str(store)]})
    test = split_dataset(dataset, SPLIT)[2]
    metrics, _ = evaluate(model, test, ["energy", "forces"], Collater(model.config.cutoff, model.config.long_cutoff),
                          batch_size=8)
    return {"wall_s": wall, "parameters": sum(p.numel() for p in model.parameters()), "epochs": epochs,
            "energy_atom": metrics["energy_mae"], "energy": metrics["energy_structure_mae"],
            "forces": metrics["forces_mae"]}


def mace(out: Path, epochs: int, threads: int, dtype: str, python: str) -> dict:
    run_dir = out / "mace"
    bin_dir = Path(python).parent
    # e3nn (pinned by mace) loads its own constants file with torch.load's pre-2.6 default
    env = {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}
    wall = timed([str(bin_dir / "mace_run_train"), "--name=mace", f"--train_file={out / 'train.xyz'}",
                  f"--valid_file={out / 'valid.xyz'}", "--energy_key=REF_energy", "--forces_key=REF_forces",
                  *MACE, "--batch_size=8", f"--max_num_epochs={epochs}", f"--default_dtype={dtype}",
                  "--device=cpu", "--seed=0", f"--work_dir={run_dir}"], run_dir, threads, env)
    predicted = run_dir / "test_predicted.xyz"
    model = run_dir / "mace.model"
    if not predicted.exists():
        subprocess.run([str(bin_dir / "mace_eval_configs"), f"--configs={out / 'test.xyz'}", f"--model={model}",
                        f"--output={predicted}", f"--default_dtype={dtype}", "--device=cpu"],
                       env={**os.environ, **env, "OMP_NUM_THREADS": str(threads)}, check=True,
                       capture_output=True)
    count = subprocess.run([python, "-c", "import sys, torch; m = torch.load(sys.argv[1], weights_only=False); "
                            "print(sum(p.numel() for p in m.parameters()))", str(model)],
                           env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return {"wall_s": wall, "parameters": int(count.stdout.split()[-1]), "epochs": epochs,
            **errors(predicted, "MACE_")}


def errors(predicted: Path, prefix: str) -> dict[str, float]:
    """Energy MAE per atom and per structure (kcal/mol) and force-component MAE (kcal/mol/A) of the
    ``<prefix>energy`` / ``<prefix>forces`` predictions against ``REF_*`` in an extended XYZ file."""
    import ase.io

    frames = ase.io.read(predicted, ":")
    de = np.array([a.info[f"{prefix}energy"] - a.info["REF_energy"] for a in frames]) * units.EV_TO_KCAL
    n = np.array([len(a) for a in frames])
    df = np.concatenate([(a.arrays[f"{prefix}forces"] - a.arrays["REF_forces"]).ravel() for a in frames])
    return {"energy_atom": float(np.mean(np.abs(de) / n)), "energy": float(np.mean(np.abs(de))),
            "forces": float(np.mean(np.abs(df)) * units.EV_TO_KCAL)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=ROOT / "data/qm/electrolyte_v1_gfn2.h5.gz")
    parser.add_argument("--epochs-ours", type=int, required=True)
    parser.add_argument("--epochs-mace", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--mace-python", default="/tmp/venv_mace/bin/python")
    parser.add_argument("--out", type=Path, default=ROOT / "runs/bench_mlff_vs_mace_training")
    parser.add_argument("--only", choices=["ours", "MACE"], help="train (or evaluate) one side only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    counts = export_split(args.store.resolve(), args.out)
    print(f"split of {args.store.name}: {counts}", flush=True)
    sides = {"ours": lambda: ours(args.store.resolve(), args.out, args.epochs_ours, args.threads, args.dtype),
             "MACE": lambda: mace(args.out, args.epochs_mace, args.threads, args.dtype, args.mace_python)}
    rows = {name: run() for name, run in sides.items() if args.only in (None, name)}
    (args.out / f"results{'_' + args.only if args.only else ''}.json").write_text(json.dumps(rows, indent=2))
    print("| model | parameters | epochs | training wall (min) | structures/s | test energy MAE (kcal/mol/atom) | "
          "test energy MAE (kcal/mol) | test force MAE (kcal/mol/A) |\n|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        speed = counts["train"] * r["epochs"] / r["wall_s"]
        print(f"| {name} | {r['parameters']:,} | {r['epochs']} | {r['wall_s'] / 60:.1f} | {speed:.1f} | "
              f"{r['energy_atom']:.3f} | {r['energy']:.2f} | {r['forces']:.2f} |")


if __name__ == "__main__":
    main()
