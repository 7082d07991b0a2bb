"""elyte-structure: RDFs, coordination numbers and density of a periodic structure."""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from elyte import units  # noqa: E402
from elyte.analysis.rdf import RDF, radial_distribution  # noqa: E402
from elyte.cli.app import hydra_command  # noqa: E402
from elyte.io.structures import StructureError, read_structure  # noqa: E402
from elyte.neighbors import neighbor_list  # noqa: E402
from elyte.neighbors.validate import cell_widths  # noqa: E402
from elyte.progress import progress  # noqa: E402
from elyte.runs import start_run  # noqa: E402

log = logging.getLogger("elyte.structure")


def _time_neighbor_list(positions: torch.Tensor, cell: torch.Tensor, cutoff: float) -> dict[str, float]:
    """Wall time (ms, best of 3) of each available neighbour-list backend on this structure."""
    from elyte.neighbors.search import NATIVE_DEVICES

    timings = {}
    for backend in ["native", "torch"] if "cpu" in NATIVE_DEVICES else ["torch"]:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            neighbor_list(positions, cutoff, cell, backend=backend)
            best = min(best, time.perf_counter() - start)
        timings[backend] = 1000 * best
    return timings


def _write_outputs(run_dir: Path, rdfs: dict[str, RDF], summary: dict) -> None:
    names = list(rdfs)
    with open(run_dir / "rdf.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["r_angstrom"] + [f"g_{n}" for n in names] + [f"cn_{n}" for n in names])
        r = next(iter(rdfs.values())).r
        for k in range(len(r)):
            writer.writerow([f"{r[k]:.4f}"] + [f"{rdfs[n].g[k]:.5f}" for n in names]
                            + [f"{rdfs[n].coordination[k]:.5f}" for n in names])
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))

    fig, axes = plt.subplots(len(names), 1, figsize=(6, 2.2 * len(names)), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        rdf = rdfs[name]
        ax.plot(rdf.r, rdf.g, color="C0")
        ax.set_ylabel(f"g {name}")
        twin = ax.twinx()
        twin.plot(rdf.r, rdf.coordination, color="C1", lw=1)
        twin.set_ylabel("CN", color="C1")
    axes[-1, 0].set_xlabel("r (Angstrom)")
    fig.tight_layout()
    fig.savefig(run_dir / "rdf.png", dpi=120)
    plt.close(fig)

    lines = [
        f"# Structure analysis: {summary['structure']}",
        "",
        f"{summary['n_atoms']} atoms, composition {summary['composition']}, "
        f"box volume {summary['volume_A3']:.1f} A^3, density {summary['density_g_cm3']:.4f} g/cm^3",
        "",
        "| pair | N_A | N_B | first peak r (A) | g(peak) | first minimum r (A) | coordination number |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in summary["pairs"].items():
        lines.append(
            f"| {name} | {s['n_a']} | {s['n_b']} | {s['peak_r']:.2f} | {s['peak_g']:.2f} | {s['min_r']:.2f} | {s['cn']:.2f} |"
        )
    timing = ", ".join(f"{k} {v:.1f} ms" for k, v in summary["neighbor_list_ms"].items())
    lines += ["", f"Neighbour list (r_max {summary['r_max']} A): {timing}.", "", "![RDFs](rdf.png)", ""]
    (run_dir / "report.md").write_text("\n".join(lines))


def analyse(cfg: DictConfig, run_dir: Path) -> dict:
    """Run the analysis described by ``cfg``; write outputs into ``run_dir``; return the summary."""
    atoms = read_structure(cfg.structure, index=cfg.frame)
    if not atoms.pbc.all():
        raise StructureError(f"{cfg.structure}: RDFs need a periodic box in all three directions")
    cell = np.asarray(atoms.cell[:])
    half = 0.5 * float(cell_widths(torch.as_tensor(cell)).min())
    r_max = float(cfg.r_max)
    if r_max > half:
        log.warning("r_max %.2f A exceeds half the box (%.2f A); using %.2f A", r_max, half, half)
        r_max = half
    symbols = np.array(atoms.get_chemical_symbols())
    composition = {str(el): int((symbols == el).sum()) for el in sorted(set(symbols))}
    volume = abs(np.linalg.det(cell))
    density = atoms.get_masses().sum() / volume * units.AMU_PER_ANGSTROM3_TO_G_PER_CM3
    log.info("%s: %d atoms %s, density %.4f g/cm^3", cfg.structure, len(atoms), composition, density)

    rdfs, pairs = {}, {}
    for a, b in progress(cfg.pairs, desc="RDFs", unit="pair"):
        ia, ib = np.nonzero(symbols == a)[0], np.nonzero(symbols == b)[0]
        if len(ia) == 0 or len(ib) == 0:
            log.warning("pair %s-%s skipped: no %s in the structure", a, b, a if len(ia) == 0 else b)
            continue
        name = f"{a}-{b}"
        rdfs[name] = radial_distribution([atoms.positions], cell, ia, ib, r_max, int(cfg.bins))
        pairs[name] = {"n_a": len(ia), "n_b": len(ib), **rdfs[name].first_shell()}
        log.info("%s: first peak %.2f A, coordination number %.2f", name, pairs[name]["peak_r"], pairs[name]["cn"])
    if not rdfs:
        raise StructureError(f"none of the pairs {list(cfg.pairs)} occur in {cfg.structure}")

    summary = {
        "structure": str(cfg.structure),
        "n_atoms": len(atoms),
        "composition": composition,
        "volume_A3": volume,
        "density_g_cm3": density,
        "r_max": r_max,
        "pairs": pairs,
        "neighbor_list_ms": _time_neighbor_list(
            torch.as_tensor(atoms.positions), torch.as_tensor(cell), min(5.0, r_max)
        ),
    }
    _write_outputs(run_dir, rdfs, summary)
    return summary


@hydra_command("structure")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    analyse(cfg, run_dir)
    log.info("wrote %s", run_dir / "report.md")


if __name__ == "__main__":
    main()
