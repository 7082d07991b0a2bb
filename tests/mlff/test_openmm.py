"""mlff in OpenMM (PythonForce path): OpenMM forces == model forces on Reference and CPU, periodic
and not; bad boxes refused."""

from __future__ import annotations

import numpy as np
import openmm
import pytest
import torch

from elyte import units
from elyte.box import conformer
from elyte.errors import InputError
from elyte.formulation import Species
from mlff.model.build import build_model
from mlff.openmm import MLFFForceField
from mlff.data.structure import Structure
from tests.mlff.random_structures import SMALL, batch_of

WATER = Species.from_smiles("water", "O")
LI = Species.from_smiles("Li", "[Li+]")


def _model():
    torch.manual_seed(0)
    return build_model({**SMALL, "elements": [1, 3, 8]}).double()


def _compare(system, positions, cell, model, numbers, charge, platform):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    if cell is not None:
        context.setPeriodicBoxVectors(*(openmm.Vec3(*r) * 0.1 for r in cell))
    context.setPositions(positions * 0.1)
    state = context.getState(getEnergy=True, getForces=True)
    structure = Structure(numbers=numbers, positions=positions, cell=cell, pbc=(cell is not None,) * 3, total_charge=charge)
    out = model(batch_of([structure], model), create_graph=False)
    assert state.getPotentialEnergy()._value == pytest.approx(float(out["energy"].detach()) * units.KCAL_TO_KJ, rel=1e-10)
    np.testing.assert_allclose(state.getForces(asNumpy=True)._value,
                               out["forces"].detach().numpy() * units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("platform", ["Reference", "CPU"])
@pytest.mark.parametrize("periodic", [False, True])
def test_openmm_forces_equal_the_model(platform, periodic):
    model = _model()
    molecules = [WATER, WATER, LI, WATER]
    rng = np.random.default_rng(0)
    positions = np.concatenate([conformer(m).positions + rng.uniform(0, 7, 3) for m in molecules])
    cell = np.diag([10.0, 10.5, 11.0]) if periodic else None
    system = MLFFForceField(model).system(molecules, cell)
    numbers = np.array([8, 1, 1, 8, 1, 1, 3, 8, 1, 1])
    _compare(system, positions, cell, model, numbers, 1.0, platform)


def test_box_smaller_than_the_cutoff_is_refused():
    with pytest.raises(InputError, match="smaller than twice the model's cutoff"):
        MLFFForceField(_model()).system([WATER], np.eye(3) * 6.0)


def test_mlff_simulate_command_end_to_end(tmp_path):
    """A water box with a small (untrained) model: the command runs NVT and writes its outputs."""
    import subprocess
    import sys

    import ase.io

    from mlff.model.io import save_model

    model_path = save_model(_model(), tmp_path / "model.pt")
    rng = np.random.default_rng(1)
    grid = np.array([(i, j, k) for i in range(2) for j in range(2) for k in range(2)], float) * 5.0 + 2.5
    positions = np.concatenate([conformer(WATER).positions + g + rng.normal(0, 0.1, 3) for g in grid])
    atoms = ase.Atoms("OH2" * 8, positions=positions, cell=np.eye(3) * 10.0, pbc=True)
    ase.io.write(tmp_path / "water.extxyz", atoms)
    result = subprocess.run(
        [sys.executable, "-c", "from elyte.cli.simulate import main_mlff; main_mlff()", f"hydra.run.dir={tmp_path / 'run'}",
         f"structure={tmp_path / 'water.extxyz'}", f"forcefield.model={model_path}",
         "species=[{name: water, smiles: O}]", "ensemble=nvt", "steps=20", "report_every=5",
         "trajectory_every=10", "segment_steps=10", "minimize_steps=0", "timestep=0.25", "platform=Reference"],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ["config.yaml", "topology.pdb", "thermo.csv", "summary.json", "report.md"]:
        assert (tmp_path / "run" / name).is_file(), name
