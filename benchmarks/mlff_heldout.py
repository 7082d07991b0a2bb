"""Held-out errors of mlff models on gas-phase and liquid-cluster data, with the splits mlff-train used.

A model fine-tuned on a larger data set and its ancestors were trained on different splits (v2:
``electrolyte_v1``; v3: + ``electrolyte_md_v1``; v4: + ``electrolyte_md_v2``; v6: + ``solvent_dimers_v1``,
split ``v1+md+md2+dimers``). Each split is rebuilt
here exactly as mlff-train built it (``data.split``: 0.8 / 0.1 / 0.1, seed 0, by group, in the
``shuffle`` order they were trained with; ``v1+md+md2:hash`` for a model trained in the hash order, like
v5), and a structure counts as held out only when it is in the validation or test part of every split
that includes its store. Errors per model and per subset: energy MAE per atom and per structure
(kcal/mol), force-component MAE (kcal/mol/A), and for clusters the MAE and mean signed error of the
interaction energy E(cluster) - sum of E(molecule) at the cluster's geometry (kcal/mol), the cohesion
a liquid's density rests on.

    python benchmarks/mlff_heldout.py --splits v1 v1+md v1+md+md2 v1+md+md2+dimers \\
        --models runs/default_models/mlff_electrolyte_v4/model.pt data/models/mlff_electrolyte_v6.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch.utils.data import Subset

from mlff.data import load_dataset, split_dataset
from mlff.data.batch import Collater
from mlff.model.io import load_model
from mlff.train.trainer import evaluate

ROOT = Path(__file__).resolve().parents[1]
STORES = {"v1": ROOT / "data/qm/electrolyte_v1_gfn2.h5.gz", "md": ROOT / "data/qm/electrolyte_md_v1_gfn2.h5.gz",
          "md2": ROOT / "data/qm/electrolyte_md_v2_gfn2.h5.gz", "dimers": ROOT / "data/qm/solvent_dimers_v1_gfn2.h5.gz"}
NAMED = {str(STORES["v1"]): "gas phase (electrolyte_v1)", str(STORES["dimers"]): "solvent dimers (solvent_dimers_v1)"}
SPLIT = {"fractions": [0.8, 0.1, 0.1], "seed": 0, "by_group": True, "order": "shuffle"}


def held_out_keys(split: str) -> tuple[set[str], set[str]]:
    """The stores of ``split`` (``v1+md``, or ``v1+md:hash`` for another split order) and the
    ``store:key`` of its validation and test structures."""
    stores, _, order = split.partition(":")
    dataset = load_dataset({"kind": "label_store", "paths": [str(STORES[s]) for s in stores.split("+")]})
    _, validation, test = split_dataset(dataset, {**SPLIT, "order": order or SPLIT["order"]})
    keys = {f"{dataset.paths[dataset.index[i][0]]}:{dataset.index[i][1]}" for i in [*validation.indices,
                                                                                    *test.indices]}
    return {str(p) for p in dataset.paths}, keys


def subsets(splits: list[tuple[set[str], set[str]]]) -> dict[str, Subset]:
    """Structures held out by every split that holds their store: those of the gas-phase and dimer
    stores, and the liquid clusters by their MD source."""
    paths = sorted(set().union(*(stores for stores, _ in splits)))
    dataset = load_dataset({"kind": "label_store", "paths": paths})
    parts: dict[str, list[int]] = {}
    for i, (shard, key) in enumerate(dataset.index):
        path = str(dataset.paths[shard])
        if not all(f"{path}:{key}" in keys for stores, keys in splits if path in stores):
            continue
        if path in NAMED:
            name = NAMED[path]
        else:
            source = dataset.provenance(i).get("source", "")
            name = f"liquid clusters, {Path(source).parent.name or 'conformers'}"
        parts.setdefault(name, []).append(i)
    return {name: Subset(dataset, idx) for name, idx in sorted(parts.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--splits", nargs="+", default=["v1", "v1+md", "v1+md+md2"],
                        help=f"the store sets the models and their ancestors trained on, '+'-joined {sorted(STORES)}, "
                        "with ':hash' for models trained with that split order")
    args = parser.parse_args()
    parts = subsets([held_out_keys(s) for s in args.splits])
    print("| model | subset | structures | energy MAE kcal/mol/atom | energy MAE kcal/mol | force MAE kcal/mol/A | "
          "E_int MAE (mean signed) kcal/mol |\n|---|---|---|---|---|---|---|")
    for path in args.models:
        model, label = load_model(path), Path(path).parent.name if Path(path).stem == "model" else Path(path).stem
        collater = Collater(model.config.cutoff, model.config.long_cutoff, molecules=True)
        for name, subset in parts.items():
            metrics, _ = evaluate(model, subset, ["energy", "forces", "interaction_energy"], collater, batch_size=8)
            e_int = (f"{metrics['interaction_energy_mae']:.1f} ({metrics['interaction_energy_bias']:+.1f})"
                     if "interaction_energy_mae" in metrics else "-")
            print(f"| {label} | {name} | {len(subset)} | {metrics['energy_mae']:.3f} | "
                  f"{metrics['energy_structure_mae']:.2f} | {metrics['forces_mae']:.2f} | {e_int} |", flush=True)


if __name__ == "__main__":
    main()
