"""Does a model keep a liquid intact? Reads mlff-simulate / polff-simulate run directories.

For each run, over the second half of the thermostatted MD (after the warm-up from the minimized
structure): the slope of the potential energy (a liquid at equilibrium has none; a model with a
spurious downhill path keeps releasing energy that the thermostat removes) and the mean temperature;
and the covalent bonds of the topology that are broken
(longer than ``--factor`` x their length in the first frame) in the last frame, by element pair.

    python benchmarks/mlff_liquid_stability.py runs/default_models/md_mlff_v2_354 runs/default_models/md_mlff_v3_354
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import mdtraj
import numpy as np
import pandas as pd


def thermo(run: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted(run.glob("md/segment_*/thermo.csv"))], ignore_index=True)


def broken_bonds(run: Path, factor: float) -> Counter:
    traj = mdtraj.load(sorted(str(p) for p in run.glob("md/segment_*/traj.dcd")), top=str(run / "topology.pdb"))
    bonds = [(a.index, b.index, "-".join(sorted((a.element.symbol, b.element.symbol))))
             for a, b in traj.topology.bonds]
    pairs = np.array([(i, j) for i, j, _ in bonds])
    lengths = mdtraj.compute_distances(traj[[0, -1]], pairs)  # minimum image
    stretched = lengths[1] > factor * lengths[0]
    return Counter(name for (_, _, name), s in zip(bonds, stretched) if s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--factor", type=float, default=1.5)
    args = parser.parse_args()
    print("| run | ps | potential slope kcal/mol/ps | T second half K | broken bonds in the last frame |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        t = thermo(run)
        late = t.iloc[len(t) // 2:]
        slope = np.polyfit(late.time_ps, late.potential_kcal_mol, 1)[0]
        broken = broken_bonds(run, args.factor)
        text = ", ".join(f"{n} {k}" for k, n in sorted(broken.items())) or "none"
        print(f"| {run.name} | {t.time_ps.iloc[-1]:.2f} | {slope:+.0f} | {late.temperature_K.mean():.0f} | {text} |")


if __name__ == "__main__":
    main()
