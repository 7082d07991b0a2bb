"""The shipped GNN parameterizer side by side with the published ByteFF-Pol parameters, on the
project's QM labels, for the species both describe (EC, DMC, Li+, PF6-, acetone).

Per species and level of theory: relative conformer energies (each set's mean subtracted) and forces
of the whole force field (bonded + non-bonded + induction) against QM; per dimer type: interaction
energies. Every structure of ``--stores`` whose species (or both dimer partners) are covered is used.
Units: kcal/mol, kcal/mol/A.

    python benchmarks/polff_vs_byteff.py --out runs/polff_vs_byteff.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from elyte.formulation import Species
from elyte.labels.store import LabelStore
from elyte.paths import data_dir
from polff.energy import PolarizableEnergy
from polff.fit.report import MAE_WINDOW, cluster_kind
from polff.forcefield import GNNParameters, ParameterFiles
from polff.params import default_model_dir
from polff.system import PolSystem

SPECIES = {"EC": "O=C1OCCO1", "DMC": "COC(=O)OC", "Li": "[Li+]", "PF6": "F[P-](F)(F)(F)(F)F",
           "acetone": "CC(C)=O"}
BYTEFF_FILES = {"EC": "EC.itp", "DMC": "DMC.itp", "Li": "LI.itp", "PF6": "PF6.itp", "acetone": "ACT.itp"}
MONOMER_KINDS = ("conformer", "normal_mode")


def sources(gnn: Path) -> dict:
    byteff_dir = data_dir() / "forcefields" / "byteff_pol"
    return {"ByteFF-Pol (published)": ParameterFiles({n: byteff_dir / f for n, f in BYTEFF_FILES.items()}),
            f"GNN ({gnn.name})": GNNParameters(gnn)}


def read_items(stores: list[Path]) -> tuple[dict, list]:
    """Monomer structures grouped by (species, method), and dimers of two covered species."""
    monomers, dimers = defaultdict(list), []
    for path in stores:
        with LabelStore(path, "r") as store:
            for record in store:
                p = record.provenance
                if p.get("kind") in MONOMER_KINDS and p.get("name") in SPECIES and "energy" in record.labels:
                    monomers[p["name"], record.method].append(record)
                elif p.get("kind") == "dimer" and set(p.get("partners", [])) <= set(SPECIES):
                    dimers.append(record)
    return monomers, dimers


def angle_energy(params, positions: np.ndarray) -> float:
    a, b, c = (positions[params.angles[:, k]] for k in range(3))
    u, v = a - b, c - b
    cos = np.sum(u * v, axis=1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    return float(np.sum(params.angle_k / 2 * (theta - params.angle_theta) ** 2))


class Evaluator:
    """Energies and forces of one parameter source for molecules in the species' atom order.

    The molecular graph does not say which ligands of a hexacoordinate centre (PF6-) are trans, so
    each fragment's atoms are first relabelled by the graph automorphism whose geometry fits the
    parameters' angles best (a relabelling of equivalent atoms; harmless for other molecules)."""

    def __init__(self, source):
        self.source = source
        self.species = {name: Species.from_smiles(name, smi) for name, smi in SPECIES.items()}
        self.automorphisms = {name: np.array(sp.rdkit().GetSubstructMatches(sp.rdkit(), uniquify=False,
                                                                            maxMatches=1000))
                              for name, sp in self.species.items()}
        self._models: dict[tuple[str, ...], PolarizableEnergy] = {}

    def _relabel(self, names: tuple[str, ...], positions: np.ndarray) -> np.ndarray:
        """``order`` such that ``positions[order]`` fits the parameters' angles best."""
        order, start = [], 0
        for name in names:
            params, perms = self.source(self.species[name]), self.automorphisms[name]
            block = positions[start:start + len(perms[0])]
            best = min(perms, key=lambda perm: angle_energy(params, block[perm]) if len(params.angles) else 0.0)
            order.append(best + start)
            start += len(perms[0])
        return np.concatenate(order)

    def __call__(self, names: tuple[str, ...], positions: np.ndarray) -> tuple[float, np.ndarray]:
        if names not in self._models:
            params = [self.source(self.species[n]) for n in names]
            self._models[names] = PolarizableEnergy(PolSystem.from_molecules(params), solver="direct")
        order = self._relabel(names, positions)
        x = torch.tensor(positions[order], dtype=torch.float64, requires_grad=True)
        energy = self._models[names](x)["total"]
        (grad,) = torch.autograd.grad(energy, x)
        forces = np.empty_like(positions)
        forces[order] = -grad.numpy()
        return float(energy.detach()), forces


def monomer_errors(evaluate: Evaluator, records: list) -> dict:
    name = records[0].provenance["name"]
    pairs = [evaluate((name,), r.positions) for r in records]
    model_e = np.array([e for e, _ in pairs])
    qm_e = np.array([r.labels["energy"] for r in records])
    model_f = np.concatenate([f for _, f in pairs])
    qm_f = np.concatenate([r.labels["forces"] for r in records])
    rel = (model_e - model_e.mean()) - (qm_e - qm_e.mean())
    return {"structures": len(records), "energy_rmse": float(np.sqrt(np.mean(rel**2))) if len(records) > 1 else None,
            "force_rmse": float(np.sqrt(np.mean((model_f - qm_f) ** 2)))}


def dimer_error(evaluate: Evaluator, record) -> dict:
    names = tuple(record.provenance["partners"])
    fragment = np.asarray(record.provenance["fragments"])
    total, _ = evaluate(names, record.positions)
    parts = sum(evaluate((n,), record.positions[fragment == k])[0] for k, n in enumerate(names))
    qm = float(record.labels["interaction_energy"])
    return {"pair": "+".join(sorted(names)), "kind": cluster_kind([SPECIES[n] for n in names]),
            "qm": qm, "error": total - parts - qm}


def summarize_dimers(rows: list[dict]) -> dict:
    out = {}
    for key in sorted({r["pair"] for r in rows}) + ["all"]:
        sel = [r for r in rows if key in ("all", r["pair"])]
        err = np.array([r["error"] for r in sel])
        window = np.array([abs(r["qm"]) < MAE_WINDOW for r in sel])
        out[key] = {"kind": sel[0]["kind"] if key != "all" else "", "count": len(sel),
                    "mae": float(np.mean(np.abs(err))),
                    "mae_window": float(np.mean(np.abs(err[window]))) if window.any() else None}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_stores = sorted((data_dir() / "qm").glob("*.h5.gz"))
    parser.add_argument("--stores", nargs="+", type=Path, default=default_stores,
                        help="label stores to compare on (default: every store under data/qm/)")
    parser.add_argument("--gnn", type=Path, default=default_model_dir(),
                        help="GNN model file or ensemble directory (default: the shipped ensemble)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    monomers, dimers = read_items(args.stores)
    results = {}
    for label, source in sources(args.gnn).items():
        evaluate = Evaluator(source)
        results[label] = {
            "monomers": {f"{name} ({method})": monomer_errors(evaluate, recs)
                         for (name, method), recs in sorted(monomers.items())},
            "dimers": summarize_dimers([dimer_error(evaluate, r) for r in dimers])}
    print_tables(results)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


def markdown_table(results: dict, section: str, lead: list[str], columns: list[str], cells) -> None:
    """One markdown table: the ``lead`` columns of the first source, then ``columns`` per source."""
    labels = list(results)
    print("| " + " | ".join(lead) + " | " + " | ".join(f"{lab}: {c}" for lab in labels for c in columns) + " |")
    print("|" + "---|" * (len(lead) + len(columns) * len(labels)))
    for key, row in results[labels[0]][section].items():
        values = [cell for lab in labels for cell in cells(results[lab][section][key])]
        print("| " + " | ".join([key, *(str(row[c]) for c in lead[1:])] + values) + " |")


def fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_tables(results: dict) -> None:
    markdown_table(results, "monomers", ["species (QM level)", "structures"], ["E rel RMSE", "F RMSE"],
                   lambda m: [fmt(m["energy_rmse"], 2), fmt(m["force_rmse"], 1)])
    print()
    markdown_table(results, "dimers", ["dimers", "kind", "count"], ["MAE", f"MAE, abs(E_int) < {MAE_WINDOW:.0f}"],
                   lambda d: [fmt(d["mae"], 2), fmt(d["mae_window"], 2)])


if __name__ == "__main__":
    main()
