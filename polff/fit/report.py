"""Outputs of a training run: per-epoch metrics (CSV), the loss curves (PNG) and the validation
summary of every held-out molecule (energy, force and, where targets exist, charge, alpha and C6
errors)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem

from polff.fit.losses import ClusterItem, MoleculeItem, conformer_energies, interaction_energy, split_outputs
from polff.params.graph import GraphBatch
from polff.params.model import Parameterizer
from polff.terms.electrostatics import PolarizationError

ATOM_ERRORS = {"charge": "charge_rmse_e", "alpha": "alpha_rmse_A3", "c6": "c6_rmse_kcal_mol_A6"}
MAE_WINDOW = 20.0  # kcal/mol: the interaction MAE is also reported for |E_int,QM| below this (issue 5 target)


def cluster_kind(smiles: list[str]) -> str:
    """'ion pair' (two or more charged fragments), 'ion-molecule' (one) or 'neutral'."""
    charged = sum(Chem.GetFormalCharge(Chem.MolFromSmiles(s)) != 0 for s in smiles)
    return "ion pair" if charged >= 2 else "ion-molecule" if charged == 1 else "neutral"


def interaction_errors(clusters: list[dict]) -> dict[str, dict]:
    """Interaction-energy errors (kcal/mol) per cluster kind and over all: count, RMSE and MAE over
    every cluster with stable dipoles, and MAE over those with |E_int,QM| < ``MAE_WINDOW``."""
    groups = {"all": clusters} | {kind: [c for c in clusters if c["kind"] == kind]
                                  for kind in sorted({c["kind"] for c in clusters})}
    out = {}
    for kind, rows in groups.items():
        errors = np.array([r["error_kcal_mol"] for r in rows], dtype=float)
        qm = np.array([r["qm_kcal_mol"] for r in rows], dtype=float)
        ok = np.isfinite(errors)
        window = ok & (np.abs(qm) < MAE_WINDOW)
        out[kind] = {"count": len(rows), "without_stable_dipoles": int((~ok).sum()),
                     "rmse_kcal_mol": float(np.sqrt(np.mean(errors[ok] ** 2))) if ok.any() else None,
                     "mae_kcal_mol": float(np.mean(np.abs(errors[ok]))) if ok.any() else None,
                     "count_within_window": int(window.sum()),
                     "mae_within_window_kcal_mol": float(np.mean(np.abs(errors[window]))) if window.any() else None}
    return out


def write_metrics(history: list[dict[str, float]], path: str | Path) -> Path:
    """One row per epoch: epoch, lr, seconds, evaluations skipped (polarization catastrophe), then
    train_* and val_* columns (blank when absent)."""
    columns = ["epoch", "lr", "seconds", "skipped"]
    for prefix in ("train_", "val_"):
        names = sorted({k for row in history for k in row if k.startswith(prefix)} - {prefix + "total"})
        columns += [prefix + "total"] + names
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows(history)
    return path


def plot_losses(history: list[dict[str, float]], path: str | Path) -> Path:
    """Training and validation total loss per epoch (log scale) and each training term."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_total", "train"), ("val_total", "validation")):
        values = [row.get(key, math.nan) for row in history]
        if not all(math.isnan(v) for v in values):
            left.plot(epochs, values, marker="o", label=label)
    left.set(xlabel="epoch", ylabel="weighted loss", yscale="log", title="total")
    left.legend()
    terms = sorted({k for row in history for k in row if k.startswith("train_") and k != "train_total"})
    for key in terms:
        right.plot(epochs, [row.get(key, math.nan) for row in history], label=key.removeprefix("train_"))
    right.set(xlabel="epoch", ylabel="unweighted term (units: docs/polff_training.md)", yscale="log",
              title="training terms")
    if terms:
        right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def _rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    keep = ~torch.isnan(b)
    diff = a.detach().to(b.dtype)[keep] - b[keep]
    return float(diff.square().mean().sqrt()) if keep.any() else math.nan


def validation_rows(model: Parameterizer, molecules: list[MoleculeItem]) -> list[dict]:
    """Per held-out molecule: conformers, relative-energy RMSE (kcal/mol), force RMSE (kcal/mol/A)
    and the RMSE of each per-atom target it has; NaN where a label is missing."""
    if not molecules:
        return []
    batch = GraphBatch.from_graphs([m.batch.graphs[0] for m in molecules])
    model.eval()
    with torch.no_grad():
        outputs = split_outputs(batch, model(batch))
    rows = []
    for item, out in zip(molecules, outputs):
        row = {"molecule": item.key, "smiles": item.smiles, "conformers": len(item.energies),
               "energy_rmse_kcal_mol": math.nan, "force_rmse_kcal_mol_A": math.nan}
        energies = forces = None
        if len(item.energies):
            try:
                energies, forces = conformer_energies(item, out, item.forces is not None, create_graph=False)
            except PolarizationError:  # NaN errors: the model has no stable dipoles for a conformer
                pass
        if energies is not None:
            if len(item.energies) >= 2:
                row["energy_rmse_kcal_mol"] = _rmse(energies - energies.mean(), item.energies - item.energies.mean())
            if forces is not None:
                row["force_rmse_kcal_mol_A"] = _rmse(forces, item.forces)
        for target, column in ATOM_ERRORS.items():
            row[column] = _rmse(out[target], item.targets[target]) if target in item.targets else math.nan
        rows.append(row)
    return rows


def cluster_rows(model: Parameterizer, clusters: list[ClusterItem]) -> list[dict]:
    """Per held-out dimer or cluster: its kind (``cluster_kind``), QM and model interaction energies
    (kcal/mol)."""
    if not clusters:
        return []
    graphs = {}
    for item in clusters:
        graphs.update(zip(item.smiles, item.batch.graphs))
    batch = GraphBatch.from_graphs(list(graphs.values()))
    model.eval()
    with torch.no_grad():
        per = dict(zip(graphs, split_outputs(batch, model(batch))))
        rows = []
        for item in clusters:
            try:
                predicted = float(interaction_energy(item, [per[s] for s in item.smiles]))
            except PolarizationError:  # reported as NaN: the model has no stable dipoles here
                predicted = math.nan
            rows.append({"cluster": item.key, "kind": cluster_kind(item.smiles),
                         "qm_kcal_mol": float(item.interaction_energy),
                         "model_kcal_mol": predicted, "error_kcal_mol": predicted - float(item.interaction_energy)})
    return rows


def write_validation(rows: list[dict], directory: str | Path, clusters: list[dict] | None = None) -> dict:
    """``validation.csv`` (one row per held-out molecule), ``validation_clusters.csv`` (one row per
    held-out dimer or cluster, when there are any) and ``validation.json`` (rows and the mean of
    each error over the molecules that have it, plus the interaction-energy errors per cluster kind,
    ``interaction_errors``)."""
    directory = Path(directory)
    columns = ["molecule", "smiles", "conformers", "energy_rmse_kcal_mol", "force_rmse_kcal_mol_A",
               *ATOM_ERRORS.values()]
    with (directory / "validation.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns)
        writer.writeheader()
        writer.writerows(rows)
    means = {}
    for column in columns[3:]:
        values = [r[column] for r in rows if not math.isnan(r[column])]
        means[column] = float(np.mean(values)) if values else None
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    summary = {"held_out_molecules": len(rows), "mean": means, "molecules": clean}
    if clusters:
        with (directory / "validation_clusters.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, list(clusters[0]))
            writer.writeheader()
            writer.writerows(clusters)
        errors = interaction_errors(clusters)
        summary |= {"held_out_clusters": len(clusters),
                    "clusters_without_stable_dipoles": errors["all"]["without_stable_dipoles"],
                    "interaction_rmse_kcal_mol": errors["all"]["rmse_kcal_mol"],
                    "interaction_errors": errors,
                    "clusters": [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in c.items()}
                                 for c in clusters]}
    (directory / "validation.json").write_text(json.dumps(summary, indent=2))
    return summary
