"""polff as a pipeline backend: parameter files matched to SMILES atom order, systems for boxes."""

from __future__ import annotations

import numpy as np
import openmm
import pytest
import torch

from elyte.box import conformer
from elyte.formulation import Species
from elyte.paths import data_dir
from polff.energy import PolarizableEnergy
from polff.forcefield import ParameterError, ParameterFiles, PolffForceField, atom_order
from polff.system import PolSystem

FILES = {"EC": "EC", "DMC": "DMC", "Li": "LI", "PF6": "PF6", "acetone": "ACT"}
SMILES = {"EC": "O=C1OCCO1", "DMC": "COC(=O)OC", "Li": "[Li+]", "PF6": "F[P-](F)(F)(F)(F)F", "acetone": "CC(C)=O"}


@pytest.fixture(scope="module")
def files():
    return ParameterFiles({n: data_dir() / "forcefields" / "byteff_pol" / f"{f}.itp" for n, f in FILES.items()})


@pytest.mark.parametrize("name", list(SMILES))
def test_parameters_follow_the_smiles_atom_order(files, name):
    species = Species.from_smiles(name, SMILES[name])
    params = files(species)
    mol = species.rdkit()
    assert params.elements == [a.GetSymbol() for a in mol.GetAtoms()]
    rdkit_bonds = {frozenset((b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in mol.GetBonds()}
    assert {frozenset(map(int, b)) for b in params.bonds} == rdkit_bonds
    assert params.total_charge == pytest.approx(species.charge, abs=1e-6)


def test_reordering_keeps_every_energy_term(electrolyte_molecules):
    """Energy of permuted parameters at permuted positions == the original, term by term."""
    dmc = electrolyte_molecules["DMC"]
    species = Species.from_smiles("DMC", SMILES["DMC"])
    order = atom_order(dmc, species)
    positions = torch.tensor(conformer(species).positions, dtype=torch.float64)  # RDKit order
    original_positions = torch.empty_like(positions)
    original_positions[torch.as_tensor(order)] = positions
    before = PolarizableEnergy(PolSystem.from_molecules([dmc]))(original_positions)
    after = PolarizableEnergy(PolSystem.from_molecules([dmc.permuted(order)]))(positions)
    for term, value in before.items():
        assert float(after[term]) == pytest.approx(float(value), rel=1e-10, abs=1e-10), term


def test_wrong_or_missing_parameters_are_named(files):
    with pytest.raises(ParameterError, match="describe another molecule"):
        ParameterFiles({"X": files.files["DMC"]})(Species.from_smiles("X", "OCC(=O)OC"))  # C3H6O3 like DMC
    with pytest.raises(ParameterError, match="no parameter file for species 'THF'"):
        files(Species.from_smiles("THF", "C1CCOC1"))
    with pytest.raises(ParameterError, match="charges sum to"):
        ParameterFiles({"Na": files.files["Li"]})(Species.from_smiles("Na", "[Li]"))


def test_system_for_a_box_and_for_a_gas_molecule(files):
    ec = Species.from_smiles("EC", SMILES["EC"])
    li = Species.from_smiles("Li", SMILES["Li"])
    pf6 = Species.from_smiles("PF6", SMILES["PF6"])
    forcefield = PolffForceField(files)
    box = forcefield.system([ec, ec, li, pf6], np.eye(3) * 25.0)
    assert box.getNumParticles() == 28 and box.usesPeriodicBoundaryConditions()
    gas = forcefield.system([ec], None)
    assert gas.getNumParticles() == 10 and not gas.usesPeriodicBoundaryConditions()
    context = openmm.Context(gas, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(conformer(ec).positions * 0.1)
    assert np.isfinite(context.getState(getEnergy=True).getPotentialEnergy()._value)


def test_dipole_settings_reach_the_plugin_force(files):
    """The config's polarization_tolerance (e*A) and extrapolation coefficients set the plugin force."""
    from elyte.openmm_plugin import available, load

    if not available():
        pytest.skip("the elyte OpenMM plugin is not built")
    plugin = load()
    ec = Species.from_smiles("EC", SMILES["EC"])
    for kwargs, kind in (({"polarization_tolerance": 2e-6}, plugin.PolarizationForce.Mutual),
                         ({"extrapolation": (0.1, 0.2, 0.7)}, plugin.PolarizationForce.Extrapolated)):
        system = PolffForceField(files, **kwargs).system([ec, ec], np.eye(3) * 25.0)
        force = next(plugin.PolarizationForce.cast(f) for f in system.getForces() if plugin.PolarizationForce.isinstance(f))
        assert force.getPolarizationType() == kind
        if "extrapolation" in kwargs:
            assert force.getExtrapolationCoefficients() == pytest.approx(kwargs["extrapolation"])
        else:
            assert force.getMutualInducedTolerance() == pytest.approx(2e-7)  # e*nm


@pytest.fixture(scope="module")
def gnn_file(tmp_path_factory):
    from polff.params import Parameterizer, ParameterizerConfig, save_model

    torch.manual_seed(0)
    return save_model(Parameterizer(ParameterizerConfig()), tmp_path_factory.mktemp("gnn") / "gnn.pt")


def test_gnn_parameters_from_smiles_alone(gnn_file):
    """An (untrained) GNN model file parameterizes any species, in its SMILES atom order, with the
    exact total charge; a box of them becomes an OpenMM system with finite energy."""
    from polff.forcefield import GNNParameters

    source = GNNParameters([gnn_file, gnn_file])
    species = [Species.from_smiles(n, s) for n, s in [("EC", SMILES["EC"]), ("PF6", SMILES["PF6"]),
                                                      ("Li", SMILES["Li"]), ("FEC", "O=C1OCC(F)O1")]]
    for s in species:
        params = source(s)
        assert params.elements == [a.GetSymbol() for a in s.rdkit().GetAtoms()]
        assert params.total_charge == pytest.approx(s.charge, abs=1e-9)
    assert np.all(source.spread["EC"]["charge"] == 0.0)  # identical members: no spread
    system = PolffForceField(source).system(species, None)
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    context.setPositions(np.concatenate([conformer(s).positions + 6.0 * k for k, s in enumerate(species)]) * 0.1)
    assert np.isfinite(context.getState(getEnergy=True).getPotentialEnergy()._value)


def test_parameterize_command_writes_files_that_read_back(gnn_file, tmp_path):
    import subprocess
    import sys

    from polff.io.byteff import read_byteff

    result = subprocess.run(
        [sys.executable, "-m", "elyte.cli.parameterize", f"hydra.run.dir={tmp_path}", f"gnn={gnn_file}",
         "molecules=[{name: FEC, smiles: 'O=C1OCC(F)O1'}, {name: PF6, smiles: 'F[P-](F)(F)(F)(F)F'}]"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ["FEC.itp", "FEC.json", "FEC_system.xml", "FEC_atoms.csv", "PF6.itp", "summary.md", "config.yaml"]:
        assert (tmp_path / name).is_file(), name
    pf6 = read_byteff(tmp_path / "PF6.itp")
    assert pf6.total_charge == pytest.approx(-1.0, abs=1e-6) and pf6.n_atoms == 7
    from elyte.openmm_plugin import load

    load()  # the plugin's serialization proxy reads its polarization force
    system = openmm.XmlSerializer.deserialize((tmp_path / "FEC_system.xml").read_text())
    assert system.getNumParticles() == 10  # C3H3FO3
    bad = subprocess.run([sys.executable, "-m", "elyte.cli.parameterize", f"hydra.run.dir={tmp_path / 'bad'}",
                          f"gnn={gnn_file}", "molecules=[{name: X, smiles: 'C1CC'}]"], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "invalid SMILES" in bad.stdout + bad.stderr
