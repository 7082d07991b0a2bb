"""pyscf backend at HF/STO-3G (+D4) for speed: forces against finite differences, dipole against
the density, ESP charges, finite-field polarizability, counterpoise; and the GPU path against the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from elyte.labels.compute import label_structure
from elyte.labels.engines import make_backend
from elyte.labels.engines.base import BackendError
from elyte.labels.runner import run
from elyte.labels.store import LabelStore
from elyte.labels.structure import QMStructure
from elyte.units import BOHR3_TO_ANGSTROM3

from .conftest import finite_difference_forces

pytest.importorskip("pyscf")
pytest.importorskip("dftd4")
pytestmark = pytest.mark.qm

HF = {"name": "pyscf", "xc": "hf", "basis": "sto-3g", "gpu": False}


@pytest.fixture(scope="module")
def hf_d4():
    return make_backend({**HF, "dispersion": "d4"})


def test_forces_are_minus_energy_gradient_with_dispersion(hf_d4, water):
    assert hf_d4.method == "hf-d4/sto-3g"
    forces = hf_d4.compute(water, ["energy", "forces"])["forces"]
    reference = finite_difference_forces(lambda s: float(hf_d4.compute(s, ["energy"])["energy"]), water,
                                         atoms=[0, 2])
    np.testing.assert_allclose(forces[[0, 2]], reference, atol=5e-3 * np.abs(reference).max())


def test_charges_dipole_and_polarizability(hf_d4, water):
    out = hf_d4.compute(water, ["energy", "dipole", "charges_mulliken", "charges_esp", "esp", "polarizability"])
    for name in ("charges_mulliken", "charges_esp"):
        assert out[name].sum() == pytest.approx(0.0, abs=1e-8) and out[name][0] < 0
    assert out["charges_esp"][1] == pytest.approx(out["charges_esp"][2], abs=1e-12)  # symmetry classes
    # the ESP-fitted charges reproduce the molecular dipole closely (a neutral molecule)
    assert np.linalg.norm(out["charges_esp"] @ water.positions - out["dipole"]) < 0.1 * np.linalg.norm(out["dipole"])
    assert out["esp_points"].shape == (len(out["esp_values"]), 3)
    alpha = out["polarizability"]
    np.testing.assert_allclose(alpha, alpha.T, atol=1e-6)
    assert np.trace(alpha) > 0 and np.linalg.eigvalsh(alpha).min() > -1e-4


def test_own_dipole_and_mulliken_match_pyscf(water):
    """Dipole and Mulliken charges come from the host density (so the GPU path shares them): same as pyscf's."""
    backend = make_backend({**HF, "dispersion": None})
    mf = backend._scf(backend._mol(water))
    np.testing.assert_allclose(backend._dipole_au(mf), mf.dip_moment(unit="AU", verbose=0), atol=1e-10)
    np.testing.assert_allclose(backend._mulliken(mf), mf.mulliken_pop(verbose=0)[1], atol=1e-10)


def test_hirshfeld_charges_sum_to_the_total_charge():
    """Hydroxide at HF/6-31G: the charges integrate to -1 and sit mostly on the oxygen."""
    backend = make_backend({**HF, "basis": "6-31g", "dispersion": None})
    hydroxide = QMStructure([8, 1], [[0, 0, 0], [0, 0, 0.97]], charge=-1)
    out = backend.compute(hydroxide, ["energy", "charges_hirshfeld"])
    q, ratios = out["charges_hirshfeld"], out["volume_ratios"]
    assert q.sum() == pytest.approx(-1.0, abs=1e-4)
    assert q[0] < -0.7 and -0.3 < q[1] < 0.1
    assert ratios[0] > 1.0 and 0.3 < ratios[1] < 1.5  # the oxide holds more than a free oxygen's density


def test_polarizability_matches_energy_curvature(water):
    """alpha_zz from dipoles equals -d2E/dF2 from energies in the same field (independent route)."""
    backend = make_backend({**HF, "dispersion": None})
    mol = backend._mol(water)
    ints = mol.intor("int1e_r")
    step = 2e-3
    energies = [float(backend._scf(mol, f * step * ints[2]).e_tot) for f in (-1, 0, 1)]
    curvature = -(energies[0] - 2 * energies[1] + energies[2]) / step**2  # Bohr^3
    alpha = backend.compute(water, ["energy", "polarizability"])["polarizability"]
    assert alpha[2, 2] == pytest.approx(curvature * BOHR3_TO_ANGSTROM3, rel=2e-3)


def test_counterpoise_reduces_binding(water_dimer):
    backend = make_backend({**HF, "dispersion": None})
    plain = float(label_structure(backend, water_dimer, ["energy", "interaction_energy"])["interaction_energy"])
    cp = float(label_structure(backend, water_dimer, ["energy", "interaction_energy"], counterpoise=True)
               ["interaction_energy"])
    assert plain < cp < 0  # basis-set superposition error overbinds; a hydrogen bond still binds


def test_a_run_records_counterpoise_in_the_provenance(water_dimer, tmp_path):
    run([water_dimer], {**HF, "dispersion": None}, ["energy", "interaction_energy"], tmp_path / "cp.h5",
        counterpoise=True)
    with LabelStore(tmp_path / "cp.h5", "r") as store:
        assert next(iter(store)).provenance["counterpoise"] is True


def test_periodic_structures_are_refused(hf_d4, water):
    with pytest.raises(BackendError, match="periodic"):
        hf_d4.compute(QMStructure(water.numbers, water.positions, cell=np.eye(3) * 10), ["energy"])


@pytest.mark.gpu
def test_gpu_path_matches_cpu(water):
    pytest.importorskip("gpu4pyscf")
    spec = {"name": "pyscf", "xc": "b3lyp", "basis": "def2-svp"}
    cpu = make_backend({**spec, "gpu": False}).compute(water, ["energy", "forces", "dipole", "charges_esp"])
    gpu = make_backend({**spec, "gpu": True}).compute(water, ["energy", "forces", "dipole", "charges_esp"])
    assert float(gpu["energy"]) == pytest.approx(float(cpu["energy"]), abs=1e-3)
    for name in ("forces", "dipole", "charges_esp"):
        np.testing.assert_allclose(gpu[name], cpu[name], atol=2e-3)


def test_counterpoise_of_an_ion_solvent_dimer(water):
    """Li+ next to water: the water fragment in the dimer's basis carries a ghost Li (odd Z, no
    electrons), the Li+ fragment ghost waters; counterpoise weakens the binding, which stays strong."""
    li = QMStructure([3], [[0.0, 0.0, 0.0]], charge=1)
    relative = water.positions - water.positions[water.numbers == 8][0]
    bisector = relative[water.numbers == 1].mean(axis=0)
    rotation = np.linalg.qr(np.column_stack([bisector, np.random.default_rng(0).normal(size=(3, 2))]))[0]
    relative = relative @ rotation * np.sign(bisector @ rotation[:, 0])  # the hydrogens along +x, away from Li+
    shifted = relative + np.array([1.95, 0.0, 0.0])  # O 1.95 A from Li+
    dimer = QMStructure(np.concatenate([[3], water.numbers]), np.concatenate([li.positions, shifted]), charge=1,
                        fragments=[0, 1, 1, 1], fragment_charges=[1, 0])
    assert dimer.fragment(1, ghosts=True).ghosts.tolist() == [True, False, False, False]
    backend = make_backend({**HF, "dispersion": None})
    plain = float(label_structure(backend, dimer, ["energy", "interaction_energy"])["interaction_energy"])
    cp = float(label_structure(backend, dimer, ["energy", "interaction_energy"], counterpoise=True)["interaction_energy"])
    assert plain < cp < -10.0  # kcal/mol


def test_molecular_c6_of_helium_and_its_static_limit():
    """He at HF: the response spectrum's static polarizability is the finite-field one, its oscillator
    strengths sum to the two electrons, and C6 is near the HF limit (1.38 Eh Bohr^6; exact 1.46)."""
    from elyte.labels.casimir_polder import polarizability_at
    from elyte.units import HARTREE_BOHR6_TO_KCAL_ANGSTROM6

    helium = QMStructure(numbers=np.array([2]), positions=np.zeros((1, 3)))
    backend = make_backend({**HF, "basis": "aug-cc-pvtz", "dispersion": None, "density_fit": False})
    out = backend.compute(helium, ["energy", "polarizability", "molecular_c6"])
    assert float(out["molecular_c6"]) / HARTREE_BOHR6_TO_KCAL_ANGSTROM6 == pytest.approx(1.38, rel=0.03)
    omega, strengths = backend._response_spectrum(backend._scf(backend._mol(helium)))
    assert strengths.sum() == pytest.approx(2.0, abs=0.01)
    alpha_ff = np.trace(out["polarizability"]) / 3
    assert polarizability_at(omega, strengths, 0.0) * BOHR3_TO_ANGSTROM3 == pytest.approx(alpha_ff, rel=1e-3)


def test_molecular_c6_needs_a_closed_shell():
    backend = make_backend({**HF, "dispersion": None})
    hydrogen = QMStructure(numbers=np.array([1]), positions=np.zeros((1, 3)), multiplicity=2)
    with pytest.raises(BackendError, match="closed-shell"):
        backend.compute(hydrogen, ["energy", "molecular_c6"])
