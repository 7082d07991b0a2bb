"""mlff in OpenMM, native (the plugin's MLFFForce running a compiled package) and PythonForce:
OpenMM forces == model forces on Reference and CPU, periodic and not; bad input refused."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import openmm
import openmm.app
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


@pytest.fixture(autouse=True, scope="module")
def package_cache(tmp_path_factory):
    """Compiled packages go to a folder of this module's (also for the commands it runs)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ELYTE_CACHE", str(tmp_path_factory.mktemp("elyte_cache")))
        yield


def _model(repulsion: bool = True):
    torch.manual_seed(0)
    return build_model({**SMALL, "elements": [1, 3, 8], "repulsion": {"enabled": repulsion}}).double()


def _compare(system, positions, cell, model, numbers, charge, platform):
    state = _state(system, positions, cell, platform)
    structure = Structure(numbers=numbers, positions=positions, cell=cell, pbc=(cell is not None,) * 3, total_charge=charge)
    out = model(batch_of([structure], model), create_graph=False)
    assert state.getPotentialEnergy()._value == pytest.approx(float(out["energy"].detach()) * units.KCAL_TO_KJ, rel=1e-10)
    np.testing.assert_allclose(state.getForces(asNumpy=True)._value,
                               out["forces"].detach().numpy() * units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("backend", ["native", "python"])
@pytest.mark.parametrize("platform", ["Reference", "CPU"])
@pytest.mark.parametrize("periodic", [False, True])
def test_openmm_forces_equal_the_model(platform, periodic, backend):
    model = _model()
    molecules = [WATER, WATER, LI, WATER]
    rng = np.random.default_rng(0)
    # some atoms outside the box: the periodic images are the force's business
    positions = np.concatenate([conformer(m).positions + rng.uniform(-3, 12, 3) for m in molecules])
    cell = np.array([[10.0, 0, 0], [1.5, 10.5, 0], [-1.0, 2.0, 11.0]]) if periodic else None
    system = MLFFForceField(model, backend=backend).system(molecules, cell)
    assert system.getForce(0).getName() == "mlff"
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

    # untrained, so without the ZBL wall, which only a trained network balances at bond lengths
    model_path = save_model(_model(repulsion=False), tmp_path / "model.pt")
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


MOLECULES = [WATER, WATER, LI, WATER]
TRICLINIC = np.array([[10.0, 0, 0], [1.5, 10.5, 0], [-1.0, 2.0, 11.0]])


def _positions(molecules, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([conformer(m).positions + rng.uniform(-3, 12, 3) for m in molecules])


def _state(system, positions, cell=None, platform="Reference"):
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    if cell is not None:
        context.setPeriodicBoxVectors(*(openmm.Vec3(*r) * 0.1 for r in cell))
    context.setPositions(positions * 0.1)
    return context.getState(getEnergy=True, getForces=True)


@pytest.mark.parametrize("scale", [0.97, 1.4])
def test_native_force_follows_the_box(scale):
    """A package made for one box evaluates any other (NPT): the Ewald vectors are listed per step."""
    model = _model()
    system = MLFFForceField(model, backend="native").system(MOLECULES, TRICLINIC)
    positions, cell = _positions(MOLECULES), TRICLINIC * scale
    numbers = np.array([8, 1, 1, 8, 1, 1, 3, 8, 1, 1])
    _compare(system, positions, cell, model, numbers, 1.0, "CPU")


def test_native_force_survives_xml_round_trip():
    system = MLFFForceField(_model(), backend="native").system(MOLECULES, TRICLINIC)
    xml = openmm.XmlSerializer.serialize(system)
    assert "ElyteMLFFForce" in xml
    copy = openmm.XmlSerializer.deserialize(xml)
    force = copy.getForce(0)
    assert force.getName() == "mlff" and force.getForceGroup() == system.getForce(0).getForceGroup()
    positions = _positions(MOLECULES)
    a, b = _state(system, positions, TRICLINIC), _state(copy, positions, TRICLINIC)
    assert a.getPotentialEnergy()._value == b.getPotentialEnergy()._value
    np.testing.assert_array_equal(a.getForces(asNumpy=True)._value, b.getForces(asNumpy=True)._value)


def _with_metadata(source, target, **changes):
    """A copy of the package ``source`` whose metadata entries ``changes`` are replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            content = old.read(item)
            if item.filename.endswith("_metadata.json"):
                content = json.dumps({**json.loads(content), **changes}).encode()
            new.writestr(item, content)
    return target


def test_native_force_refuses_bad_input(tmp_path):
    from elyte.openmm_plugin import load_mlff

    plugin = load_mlff()
    model = _model()
    with pytest.raises(InputError, match="trained for elements"):
        MLFFForceField(model, backend="native").system([Species.from_smiles("Na", "[Na+]"), WATER], None)
    with pytest.raises(Exception, match="does not exist"):
        plugin.MLFFForce(str(tmp_path / "missing.pt2"))
    (tmp_path / "junk.pt2").write_bytes(b"not a package")
    with pytest.raises(Exception, match="not a readable model package"):
        plugin.MLFFForce(str(tmp_path / "junk.pt2"))
    system = MLFFForceField(model, backend="native").system(MOLECULES, TRICLINIC)
    force = plugin.MLFFForce.cast(system.getForce(0))
    old = _with_metadata(force.getPackagePath(), tmp_path / "old.pt2", format_version="99")
    with pytest.raises(Exception, match="format version 99 but this plugin reads version 1"):
        plugin.MLFFForce(str(old))
    with pytest.raises(Exception, match="compiled for 10 atoms but 2 particles"):
        force.setParticles([0, 1])
    positions = _positions(MOLECULES)
    with pytest.raises(Exception, match="less than twice the model's cutoff"):
        _state(system, positions, TRICLINIC * 0.4)
    positions[1] = np.nan
    with pytest.raises(Exception, match="NaN or infinite; the simulation has blown up"):
        _state(system, positions, TRICLINIC)


def _water_topology(n: int):
    topology = openmm.app.Topology()
    chain = topology.addChain()
    for _ in range(n):
        residue = topology.addResidue("HOH", chain)
        o = topology.addAtom("O", openmm.app.element.oxygen, residue)
        for name in ("H1", "H2"):
            topology.addBond(o, topology.addAtom(name, openmm.app.element.hydrogen, residue))
    return topology


def test_openmmml_potential_whole_and_mixed(tmp_path):
    """MLPotential('elyte-mlff') through openmm-ml's API: the whole system, and one ML water among MM
    waters (mechanical embedding), the ML force's energy equal to the model's on its atoms."""
    from openmmml import MLPotential

    from mlff.model.io import load_model, save_model

    path = save_model(_model(), tmp_path / "model.pt")
    model = load_model(path).double()
    potential = MLPotential("elyte-mlff", modelPath=str(path))
    topology = _water_topology(3)
    positions = _positions([WATER] * 3, seed=2)
    numbers = np.array([8, 1, 1] * 3)

    system = potential.createSystem(topology)
    reference = model(batch_of([Structure(numbers=numbers, positions=positions)], model), create_graph=False)
    state = _state(system, positions)
    assert state.getPotentialEnergy()._value == pytest.approx(float(reference["energy"]) * units.KCAL_TO_KJ, rel=1e-10)

    mm = openmm.app.ForceField("tip3p.xml").createSystem(topology, nonbondedMethod=openmm.app.NoCutoff,
                                                          rigidWater=False, constraints=None)
    mixed = potential.createMixedSystem(topology, mm, [0, 1, 2])
    ml = [f for f in mixed.getForces() if f.getName() == "mlff"]
    assert len(ml) == 1
    ml[0].setForceGroup(31)
    context = openmm.Context(mixed, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(positions * 0.1)
    energy = context.getState(getEnergy=True, groups={31}).getPotentialEnergy()._value
    alone = model(batch_of([Structure(numbers=numbers[:3], positions=positions[:3])], model), create_graph=False)
    assert energy == pytest.approx(float(alone["energy"]) * units.KCAL_TO_KJ, rel=1e-10)


def test_a_package_for_another_device_is_refused(tmp_path):
    """A package compiled for CUDA on the CPU platform (and the device option without a GPU)."""
    from elyte.openmm_plugin import load_mlff

    plugin = load_mlff()
    system = MLFFForceField(_model(), backend="native").system(MOLECULES, TRICLINIC)
    path = plugin.MLFFForce.cast(system.getForce(0)).getPackagePath()
    system.removeForce(0)
    system.addForce(plugin.MLFFForce(str(_with_metadata(path, tmp_path / "gpu.pt2", AOTI_DEVICE_KEY="cuda"))))
    with pytest.raises(Exception, match="compiled for cuda; the Reference and CPU platforms need one compiled for cpu"):
        _state(system, _positions(MOLECULES), TRICLINIC, "CPU")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device=cuda needs a CUDA build of torch"):
            MLFFForceField(_model(), backend="native", device="cuda")


@pytest.mark.gpu
def test_cuda_platform_runs_the_package_compiled_for_the_gpu():
    """The CUDA platform's kernel (positions and forces on the GPU) against the CPU platform's, periodic."""
    if "CUDA" not in [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())]:
        pytest.skip("OpenMM has no CUDA platform here (install openmm-cuda-12/13)")
    model = _model()
    positions = _positions(MOLECULES)
    cpu = _state(MLFFForceField(model, backend="native").system(MOLECULES, TRICLINIC), positions, TRICLINIC, "CPU")
    gpu_system = MLFFForceField(model, backend="native", device="cuda").system(MOLECULES, TRICLINIC)
    gpu = _state(gpu_system, positions, TRICLINIC, "CUDA")
    assert gpu.getPotentialEnergy()._value == pytest.approx(cpu.getPotentialEnergy()._value, rel=1e-5)
    f_cpu, f_gpu = cpu.getForces(asNumpy=True)._value, gpu.getForces(asNumpy=True)._value
    assert np.abs(f_gpu - f_cpu).max() <= 1e-4 * np.abs(f_cpu).max()  # the CUDA platform's single-precision positions
