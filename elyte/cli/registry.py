"""Every command of the toolkit, what it does, and whether its capability has landed."""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    script: str  # console-script name
    summary: str
    entry: str | None  # "module:function" once the capability has landed
    issue: int | None = None  # the issue that delivers it while pending


COMMANDS: dict[str, Command] = {
    c.script: c
    for c in [
        Command("elyte-structure", "analyse a structure: RDFs, coordination numbers, density", "elyte.cli.structure:main"),
        Command("elyte-build-box", "molecule counts and a packed periodic box for a formulation", "elyte.cli.build_box:main"),
        Command("elyte-label", "label structures with QM (xTB, DFT) into the HDF5 label store", "elyte.cli.label:main"),
        Command("elyte-predict", "predict electrolyte properties from a formulation (the main job)", "elyte.cli.predict:main"),
        Command("mlff-train", "train the equivariant ML force field on QM labels", "elyte.cli.mlff_train:main"),
        Command("mlff-simulate", "run OpenMM MD (NVT/NPT) of a structure file with a trained ML force field", "elyte.cli.simulate:main_mlff"),
        Command("polff-parameterize", "polarizable force-field parameters for molecules from SMILES (GNN model file)", "elyte.cli.parameterize:main"),
        Command("polff-train", "train the GNN parameterizer of the polarizable force field", "elyte.cli.polff_train:main"),
        Command("polff-simulate", "run OpenMM MD (NVT/NPT) of a structure file with the polarizable force field", "elyte.cli.simulate:main"),
    ]
}


def not_landed(script: str) -> int:
    """Say that a command's capability has not landed yet; return the exit status (3)."""
    command = COMMANDS[script]
    print(
        f"{script}: {command.summary}: not available yet; it lands with issue #{command.issue}. "
        "Nothing was run.",
        file=sys.stderr,
    )
    return 3
