"""Dimer interaction energies at two QM levels and from the polff model, on the same geometries: how
far the model's reference level (GFN2-xTB) is from DFT, and where the model sits between them.

    .venv/bin/python benchmarks/polff_dimer_levels.py LOW.h5 HIGH.h5 [--model data/models/polff_gnn_v2]
        [--species data/qm/solvent_dimers_v1_gfn2.h5.gz]

HIGH holds the dimers of LOW relabelled at the higher level (`elyte-label backend=dft stores=[LOW]
'requests=[energy,interaction_energy]'`); dimers are matched by name and geometry. The partners'
SMILES come from the molecule records (provenance ``smiles``) of the --species store. The model's
interaction energy is the mean over the ensemble's members (each member's own parameters, induction
included). Prints one row per dimer (kcal/mol) and the mean differences and MAEs between the three.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from elyte.labels.store import LabelStore
from polff.fit.data import FitData, read_records
from polff.fit.report import cluster_rows
from polff.fit.trainer import cluster_item
from polff.params import default_model_dir
from polff.params.files import load_model

BOUND = -0.5  # kcal/mol: dimers below this at the low level enter the ratio high / low


def with_species(path: Path, molecules: list) -> FitData:
    """The dimers of the store at ``path``, their partners known from ``molecules``."""
    with LabelStore(path, "r") as store:
        return read_records(list(store) + molecules, source=str(path))


def matched(low: FitData, high: FitData) -> list[tuple[int, int]]:
    """(index in low, index in high) of the clusters with the same name and geometry."""
    pairs = []
    for h, c in enumerate(high.clusters):
        for k, d in enumerate(low.clusters):
            if d.name == c.name and d.positions.shape == c.positions.shape and np.allclose(d.positions, c.positions):
                pairs.append((k, h))
                break
    return pairs


def model_energies(low: FitData, indices: list[int], model: Path) -> np.ndarray:
    """Interaction energies (kcal/mol) of clusters ``indices`` of ``low``, mean over the members."""
    files = sorted(model.glob("*.pt")) if model.is_dir() else [model]
    items = [cluster_item(low, k) for k in indices]
    per_member = [[row["model_kcal_mol"] for row in cluster_rows(load_model(f), items)] for f in files]
    return np.mean(per_member, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("low", type=Path)
    parser.add_argument("high", type=Path)
    parser.add_argument("--model", type=Path, default=default_model_dir(), help="GNN model file or ensemble directory")
    parser.add_argument("--species", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "qm"
                        / "solvent_dimers_v1_gfn2.h5.gz", help="a store with one molecule record per dimer partner")
    args = parser.parse_args()
    with LabelStore(args.species, "r") as store:
        molecules = [r for r in store if "smiles" in r.provenance and "fragments" not in r.provenance]
    low, high = with_species(args.low, molecules), with_species(args.high, molecules)
    pairs = matched(low, high)
    if not pairs:
        raise SystemExit(f"no dimer of {args.high} matches one of {args.low} (name and geometry)")
    e_low = np.array([low.clusters[k].interaction_energy for k, _ in pairs])
    e_high = np.array([high.clusters[h].interaction_energy for _, h in pairs])
    e_model = model_energies(low, [k for k, _ in pairs], args.model)
    method_low, method_high = low.clusters[pairs[0][0]].method, high.clusters[pairs[0][1]].method
    print(f"{len(pairs)} dimers; low: {method_low} ({args.low}), high: {method_high} ({args.high}), model {args.model}\n")
    print(f"| dimer | atoms | {method_low} | {method_high} | model |\n|---|---|---|---|---|")
    for (k, _), a, b, m in zip(pairs, e_low, e_high, e_model):
        c = low.clusters[k]
        print(f"| {c.name} | {len(c.positions)} | {a:.2f} | {b:.2f} | {m:.2f} |")
    bound = e_low < BOUND
    print(f"\nmean {method_high} - {method_low}: {np.mean(e_high - e_low):+.2f} kcal/mol "
          f"(MAE {np.mean(np.abs(e_high - e_low)):.2f}); median ratio {method_high} / {method_low} over the "
          f"{bound.sum()} dimers bound by more than {-BOUND} kcal/mol at the low level: "
          f"{np.median(e_high[bound] / e_low[bound]):.2f}")
    for name, reference in ((method_low, e_low), (method_high, e_high)):
        print(f"model - {name}: mean {np.mean(e_model - reference):+.2f}, MAE {np.mean(np.abs(e_model - reference)):.2f} kcal/mol")


if __name__ == "__main__":
    main()
