"""GFN2-xTB minima of cation-solvent dimers, to compare reference levels where the solvation shell sits.

    .venv/bin/python benchmarks/ion_solvent_minima.py OUT.h5 [--source data/qm/electrolyte_v1_gfn2.h5.gz]

For each Li+ and Na+ pair with the solvents below, the dimer of the source store with the lowest
GFN2-xTB interaction energy (random orientations) is relaxed with GFN2-xTB (BFGS, max force 0.1
kcal/mol/A) and written, unlabelled, with its fragments, to OUT.h5: the input of ``elyte-label
stores=[OUT.h5]`` at any level (docs/data.md, "DFT on ion-solvent dimers").
"""

from __future__ import annotations

import argparse
from pathlib import Path

from elyte.labels.engines import make_backend
from elyte.labels.inputs import structure_from_record
from elyte.labels.sampling.relax import relax
from elyte.labels.store import LabelStore
from elyte.labels.structure import QMStructure

CATIONS = ("Li", "Na")
SOLVENTS = ("water", "methanol", "ethanol", "acetonitrile", "acetone", "DMSO", "EC", "VC", "FEC", "DMC", "DME")
METHOD = "gfn2-xtb-minimum"  # the records' method: geometries only, no labels


def most_bound(source: Path) -> list:
    """The dimer record with the lowest interaction energy of each cation-solvent pair."""
    names = {f"{ion}+{solvent}" for ion in CATIONS for solvent in SOLVENTS}
    best: dict = {}
    with LabelStore(source, "r") as store:
        for r in store:
            name = r.provenance.get("name")
            if r.provenance.get("kind") == "dimer" and name in names:
                if name not in best or r.labels["interaction_energy"] < best[name].labels["interaction_energy"]:
                    best[name] = r
    return [best[name] for name in sorted(best)]


def minimum(backend, record) -> QMStructure:
    """The record's dimer relaxed, its fragments and name kept."""
    start = structure_from_record(record)
    relaxed = relax(backend, start, fmax=0.1, steps=500)
    return QMStructure(start.numbers, relaxed.positions, start.charge, start.multiplicity, fragments=start.fragments,
                       fragment_charges=start.fragment_charges, fragment_multiplicities=start.fragment_multiplicities,
                       provenance={"kind": "dimer", "name": start.provenance["name"],
                                   "partners": start.provenance["partners"],
                                   "relaxed_steps": relaxed.provenance["relaxed_steps"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "qm"
                        / "electrolyte_v1_gfn2.h5.gz")
    args = parser.parse_args()
    backend = make_backend({"name": "xtb"})
    with LabelStore(args.out) as out:
        for record in most_bound(args.source):
            structure = minimum(backend, record)
            out.add(structure.record(METHOD))
            print(structure.provenance["name"], structure.provenance["relaxed_steps"], "BFGS steps", flush=True)


if __name__ == "__main__":
    main()
