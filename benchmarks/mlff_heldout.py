"""Held-out errors of mlff models on gas-phase and liquid-cluster data, with the splits mlff-train used.

A model fine-tuned on a larger data set and its ancestors were trained on different splits (v2:
``electrolyte_v1``; v3: + ``electrolyte_md_v1``; v4: + ``electrolyte_md_v2``). Each split is rebuilt
here exactly as mlff-train built it (``data.split``: 0.8 / 0.1 / 0.1, seed 0, by group, in the
``shuffle`` order they were trained with; ``v1+md+md2:hash`` for a model trained in the hash order, like
v5), and a structure counts as held out only when it is in the validation or test part of every split
that includes its store. Errors per model and per subset: energy MAE per atom and per structure
(kcal/mol), force-component MAE (kcal/mol/A), and for clusters the MAE and mean signed error of the
interaction energy E(cluster) - sum of E(molecule) at the cluster's geometry (kcal/mol), the cohesion
a liquid's density rests on.

    python benchmarks/mlff_heldout.py --splits v1 v1+md v1+md+md2 \\
        --models runs/default_models/mlff_electrolyte_v3/model.pt runs/default_models/mlff_electrolyte_v4/model.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Subset

from elyte.labels.inputs import structure_from_record
from mlff.data import load_dataset, split_dataset
from mlff.data.batch import Collater, collate
from mlff.data.structure import Structure
from mlff.model.io import load_model
from mlff.train.trainer import evaluate

ROOT = Path(__file__).resolve().parents[1]
STORES = {"v1": ROOT / "data/qm/electrolyte_v1_gfn2.h5.gz", "md": ROOT / "data/qm/electrolyte_md_v1_gfn2.h5.gz",
          "md2": ROOT / "data/qm/electrolyte_md_v2_gfn2.h5.gz"}
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
    """Structures held out by every split that holds their store: those of the gas-phase store, and the
    liquid clusters by their MD source."""
    paths = sorted(set().union(*(stores for stores, _ in splits)))
    dataset = load_dataset({"kind": "label_store", "paths": paths})
    parts: dict[str, list[int]] = {}
    for i, (shard, key) in enumerate(dataset.index):
        path = str(dataset.paths[shard])
        if not all(f"{path}:{key}" in keys for stores, keys in splits if path in stores):
            continue
        if path == str(STORES["v1"]):
            name = "gas phase (electrolyte_v1)"
        else:
            source = dataset.provenance(i).get("source", "")
            name = f"liquid clusters, {Path(source).parent.name or 'conformers'}"
        parts.setdefault(name, []).append(i)
    return {name: Subset(dataset, idx) for name, idx in sorted(parts.items())}


def interaction_energy_errors(model, subset: Subset) -> tuple[float, float]:
    """MAE and mean signed error (model - label, kcal/mol; > 0: too weakly bound) of the model's
    interaction energies, over the structures of ``subset`` that have one (clusters with their
    molecules in the provenance); NaN if none."""
    errors = []
    for i in subset.indices:
        record = subset.dataset.record(i)
        reference, fragments = record.labels.get("interaction_energy"), record.provenance.get("fragments")
        if reference is None or not fragments or not np.isfinite(reference):
            continue
        cluster = structure_from_record(record)
        molecules = (cluster.fragment(k) for k in range(len(cluster.fragment_charges)))
        parts = [subset.dataset[i], *(Structure(numbers=m.numbers, positions=m.positions, total_charge=m.charge)
                                      for m in molecules)]
        batch = collate(parts, model.config.cutoff, model.config.long_cutoff)
        with torch.enable_grad():
            energy = model(batch, create_graph=False)["energy"].detach().numpy()
        errors.append(energy[0] - energy[1:].sum() - float(reference))
    return (float(np.mean(np.abs(errors))), float(np.mean(errors))) if errors else (float("nan"), float("nan"))


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
        collater = Collater(model.config.cutoff, model.config.long_cutoff)
        for name, subset in parts.items():
            metrics, _ = evaluate(model, subset, ["energy", "forces"], collater, batch_size=8)
            e_int, bias = interaction_energy_errors(model, subset)
            print(f"| {label} | {name} | {len(subset)} | {metrics['energy_mae']:.3f} | "
                  f"{metrics['energy_structure_mae']:.2f} | {metrics['forces_mae']:.2f} | "
                  f"{'-' if np.isnan(e_int) else f'{e_int:.1f} ({bias:+.1f})'} |", flush=True)


if __name__ == "__main__":
    main()
