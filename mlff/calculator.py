"""ASE calculator for mlff models: energy, forces, stress, charges, and the committee spread when
several model files are given. Periodic and non-periodic structures; any ASE integrator or optimizer.

ASE units at the boundary (eV, eV/A, eV/A^3), converted once through ``elyte.units``; the total
charge of the structure comes from ``atoms.info["charge"]`` (e, default 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes

from elyte import units
from mlff.data.batch import collate
from mlff.data.structure import Structure
from mlff.model.forcefield import ForceField
from mlff.model.io import load_model
from mlff.train.ensemble import Committee

EV = units.EV_TO_KCAL  # kcal/mol per eV


class MLFFCalculator(Calculator):
    """``MLFFCalculator("model.pt")`` or ``MLFFCalculator(["m0.pt", "m1.pt", ...])`` for a committee.

    Results: ``energy``/``free_energy`` (eV), ``forces`` (eV/A), ``stress`` (eV/A^3, Voigt, periodic
    structures only), ``charges`` (e, when the model predicts charges); with a committee also
    ``energy_std`` (eV) and ``forces_std`` (eV/A), the spread over members.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "charges", "energy_std", "forces_std"]

    def __init__(self, model: str | Path | ForceField | Sequence[str | Path | ForceField], device: str = "cpu",
                 dtype: torch.dtype = torch.float64, **kwargs):
        super().__init__(**kwargs)
        models = list(model) if isinstance(model, (list, tuple)) else [model]
        members = [m if isinstance(m, ForceField) else load_model(m, map_location=device) for m in models]
        self.dtype, self.device = dtype, torch.device(device)
        self.members = [m.to(device=self.device, dtype=dtype).eval() for m in members]
        self.committee = Committee(self.members) if len(self.members) > 1 else None
        self.config = self.members[0].config

    def _batch(self, atoms):
        periodic = bool(np.any(atoms.pbc))
        structure = Structure(numbers=atoms.numbers, positions=atoms.positions,
                              cell=np.asarray(atoms.cell[:]) if periodic else None,
                              pbc=tuple(bool(p) for p in atoms.pbc), total_charge=float(atoms.info.get("charge", 0.0)))
        return collate([structure], self.config.cutoff, self.config.long_cutoff, dtype=self.dtype).to(self.device), periodic

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        batch, periodic = self._batch(self.atoms)
        stress = periodic and "stress" in properties
        if self.committee is not None:
            out = self.committee(batch, compute_stress=stress)
        else:
            out = self.members[0](batch, compute_stress=stress, create_graph=False)
        energy = float(out["energy"].detach().sum()) / EV
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": out["forces"].detach().cpu().numpy().astype(float) / EV}
        if stress:
            s = out["stress"].detach().cpu().numpy()[0].astype(float) / EV
            self.results["stress"] = s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        if self.committee is not None:
            self.results["energy_std"] = float(out["energy_std"].sum()) / EV
            self.results["forces_std"] = out["forces_std"].cpu().numpy().astype(float) / EV
        else:
            charges = out.get("charges")
            if charges is not None:
                self.results["charges"] = charges.detach().cpu().numpy().astype(float)
