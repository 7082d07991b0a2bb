"""The shipped GNN parameterizer ensemble data/models/polff_gnn_v2: loads, conserves charge, gives
equivalent atoms identical charges, stays inside its own domain limits on its training species, and
keeps every short-range pair barrier, and makes close contacts between neutral molecules as repulsive
as GFN2-xTB does (no collapse in liquids). Its validation: docs/polff_validation.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elyte.box import conformer
from elyte.cli.label import load_recipe
from elyte.formulation import Species
from elyte.labels.store import LabelStore
from elyte.paths import config_dir, data_dir
from polff.energy import interaction_energy
from polff.fit.data import load_stores
from polff.fit.losses import WALL_BARRIER, pair_barriers
from polff.forcefield import GNNParameters
from polff.params import Ensemble, default_model_dir

MAX_REPULSIVE_BIAS = 1.0  # kcal/mol; the first shipped model: -3.3 (all solvents), the shipped one +0.1
MAX_DIMER_MAE = 0.6  # kcal/mol; the first shipped model: 0.85, the shipped one 0.32
MAX_MINIMA_MAE = 10.0  # kcal/mol, cation-solvent minima; v2: 28, the v4 candidate: 4.6
SPECIES = {"EC": "O=C1OCCO1", "Li": "[Li+]", "Na": "[Na+]", "PF6": "F[P-](F)(F)(F)(F)F", "TFSI": "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F",
           "acetonitrile": "CC#N", "water": "O", "DME": "COCCOC"}


@pytest.fixture(scope="module")
def predicted():
    ensemble = Ensemble.from_files(default_model_dir())
    assert len(ensemble.models) == 3
    out = {}
    for name, smiles in SPECIES.items():
        species = Species.from_smiles(name, smiles)
        out[name] = (species, ensemble.parameterize(species.rdkit(), positions=conformer(species).positions))
    return out


def test_charges_are_exact_and_symmetric(predicted):
    for name, (species, result) in predicted.items():
        assert result.mean.total_charge == pytest.approx(species.charge, abs=1e-9), name
        assert result.out_of_domain() == [], name
    pf6 = predicted["PF6"][1].mean
    fluorines = pf6.charge[[k for k, e in enumerate(pf6.elements) if e == "F"]]
    assert np.ptp(fluorines) < 1e-9 and fluorines[0] < 0
    water = predicted["water"][1].mean
    assert water.charge[0] < -0.4 and water.charge[1] == pytest.approx(water.charge[2], abs=1e-12)


@pytest.mark.xfail(strict=True, reason="v2's Na+ polarizability is 0.039 A^3, the free ion's 0.141, and its C6 3.2 "
                   "kcal/mol A^6, the free ion's 20.1 (no targets for bare ions when it was trained); a model that "
                   "passes must drop this mark")
def test_cations_keep_their_free_ion_polarizability_and_c6(predicted):
    """The bare cations' polarizabilities and C6 within 30 % of the free ions' (finite field and
    Casimir-Polder, data/qm/ion_polarizabilities_wb97x.h5.gz). Trained on cation-solvent binding-site
    dimers without the alpha target, three members put Li+ at 0.28-0.58 A^3 and Na+ at 0.69-1.20, 10
    and 5 times the free ions' values, deepening the GFN2-xTB wells by induction; without the C6
    target the members scatter Na+'s C6 over 0.5-12 kcal/mol A^6 (docs/polff_validation.md)."""
    qm = {m.name: m for m in load_stores([data_dir() / "qm" / "ion_polarizabilities_wb97x.h5.gz"]).molecules}
    for name in ("Li", "Na"):
        mean = predicted[name][1].mean
        assert float(mean.alpha[0]) == pytest.approx(qm[name].polarizability, rel=0.3), name
        assert float(mean.c6[0]) == pytest.approx(qm[name].molecular_c6, rel=0.3), name


@pytest.mark.xfail(strict=True, reason="v2 was trained on PF6- records read with another record's cis/trans pairing: "
                   "its cis F-P-F angles have theta0 147 deg and k 6 kcal/mol/rad^2 (Seminario: 90 deg, 125), and "
                   "PF6- collapses in MD; a model that passes must drop this mark")
def test_pf6_keeps_its_octahedral_angles(predicted):
    """The 12 cis F-P-F angles of PF6- near the modified-Seminario values of its GFN2-xTB Hessian
    (90 deg, 125 kcal/mol/rad^2; docs/polff_validation.md)."""
    mean = predicted["PF6"][1].mean
    assert len(mean.angles) == 12
    np.testing.assert_allclose(np.degrees(mean.angle_theta), 90.0, atol=5.0)
    assert 40.0 < float(np.min(mean.angle_k)) and float(np.max(mean.angle_k)) < 400.0


def test_every_pair_keeps_a_short_range_barrier(predicted):
    params = {}
    for name in ("acetonitrile", "water", "DME", "EC"):
        mean = predicted[name][1].mean
        for field in ("eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb"):
            params.setdefault(field, []).append(getattr(mean, field))
    params = {k: torch.tensor(np.concatenate(v)) for k, v in params.items()}
    i, j = torch.triu_indices(len(params["eps"]), len(params["eps"]))
    barriers = pair_barriers(params, i, j)
    # across molecules too (the loss only sees each molecule's own pairs); 15 kcal/mol leaves room for
    # the soft maximum and the combination rules
    assert float(barriers.min()) > 0.75 * WALL_BARRIER


def qm_and_model(store: str, smiles: dict[str, str], keep) -> tuple[np.ndarray, np.ndarray]:
    """GFN2-xTB and shipped-model (ensemble-mean parameters) interaction energies (kcal/mol) of the
    dimers of ``data/qm/<store>`` whose partner names pass ``keep``; SMILES by partner name."""
    with LabelStore(data_dir() / "qm" / store, "r") as store_:
        records = [r for r in store_ if r.provenance["kind"] == "dimer" and keep(r.provenance["partners"])]
    source = GNNParameters(default_model_dir())
    params = {n: source(Species.from_smiles(n, smiles[n])) for n in {p for r in records for p in r.provenance["partners"]}}
    rows = [(float(r.labels["interaction_energy"]),
             interaction_energy([params[n] for n in r.provenance["partners"]], torch.tensor(r.positions))) for r in records]
    return np.array(rows).T


def test_close_solvent_contacts_are_repulsive():
    """The first shipped model collapsed neat liquids: at closest contacts below ~0.8 of the Bondi
    radii sum it bound two solvent molecules that GFN2-xTB repels (mean error -3.3 kcal/mol on the
    dimers above +2 kcal/mol). Dimers of six solvents from data/qm/solvent_dimers_v1_gfn2.h5.gz."""
    names = {"DMC", "EC", "acetonitrile", "THF", "water", "benzene"}
    smiles = load_recipe("electrolyte_v1")["species"]
    qm, model = qm_and_model("solvent_dimers_v1_gfn2.h5.gz", smiles, lambda partners: set(partners) <= names)
    assert len(qm) == 21 * 6
    repulsive = qm > 2.0
    assert repulsive.sum() >= 10
    assert abs(np.mean(model[repulsive] - qm[repulsive])) < MAX_REPULSIVE_BIAS
    assert np.mean(np.abs(model - qm)) < MAX_DIMER_MAE


@pytest.mark.xfail(strict=True, reason="v2 is erratic at the cation-solvent minima (MAE 28 kcal/mol, "
                   "docs/polff_validation.md); a model that passes must drop this mark")
def test_cations_bind_at_their_first_shell_distances():
    """The 22 Li+/Na+-solvent dimers at their GFN2-xTB minima (Li-O 1.63-1.87 A,
    data/qm/ion_solvent_minima_v1_gfn2.h5.gz, never trained on): the shipped v2 model, trained without
    binding-site dimers, is erratic there (MAE 28 kcal/mol, Na+-DMC repulsive by +83); a model trained
    with them (v4 candidate) binds every one, within 11 kcal/mol of GFN2-xTB (which overbinds DFT by 6-21)."""
    smiles = load_recipe("electrolyte_v1")["species"]
    qm, model = qm_and_model("ion_solvent_minima_v1_gfn2.h5.gz", smiles, lambda partners: True)
    assert len(qm) == 22 and np.all(model < 0)
    assert np.abs(model - qm).max() < 20.0
    assert np.mean(np.abs(model - qm)) < MAX_MINIMA_MAE


@pytest.fixture(scope="module")
def minimized_electrolyte(tmp_path_factory):
    """1 M LiPF6 in EC:DMC (the main job's formulation, ~400 atoms), packed and minimized with the
    shipped ensemble: (topology, positions in A, cubic cell edge in A)."""
    from omegaconf import OmegaConf

    from elyte.formulation import compose, from_config
    from elyte.pipeline.protocol import Protocol
    from elyte.pipeline.simulate import run_liquid
    from polff.forcefield import PolffForceField

    formulation = from_config(OmegaConf.to_container(OmegaConf.load(config_dir() / "formulation" / "lipf6_ec_dmc.yaml"))
                              | {"size": 400})
    protocol = Protocol.from_config({"name": "minimize only", "stages": {"minimize": {"steps": 500}}})
    run = run_liquid(PolffForceField(GNNParameters(default_model_dir()), cutoff=6.0), protocol, compose(formulation),
                     298.15, 1.0, tmp_path_factory.mktemp("electrolyte") / "T298", seed=3, platform="CPU", threads=1)
    final = run.stages["minimize"].final
    return run.topology, final.positions, np.diag(final.box)  # packed boxes are cubic


def _minimum_image(d: np.ndarray, cell: np.ndarray) -> np.ndarray:
    return d - cell * np.round(d / cell)


@pytest.mark.slow
def test_ions_keep_their_shell_in_a_minimized_electrolyte(minimized_electrolyte):
    """Every Li+ keeps its distance from every atom (closest > 1.6 A; Li-O is ~1.9-2.2 A in the first
    shell). A model trained with binding-site dimers from Li-O 1.45 A only (v4 candidate,
    docs/polff_validation.md) let Li+ collapse onto carbonyl oxygens (1.26 A) and into PF6- (Li-P 1.0 A)."""
    topology, positions, cell = minimized_electrolyte
    symbols = np.array([a.element.symbol for a in topology.atoms()])
    lithium = np.flatnonzero(symbols == "Li")
    assert len(lithium) >= 2
    for li in lithium:
        distance = np.linalg.norm(_minimum_image(positions - positions[li], cell), axis=1)
        distance[li] = np.inf
        assert distance.min() > 1.6, (li, symbols[np.argmin(distance)], distance.min())


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="v2's PF6- cis angles (theta0 147 deg, k 6) let its fluorines fall onto each "
                   "other (F-F 0.0-0.1 A after minimization); a model that passes must drop this mark")
def test_pf6_stays_octahedral_in_a_minimized_electrolyte(minimized_electrolyte):
    """Within every PF6- the fluorines stay apart (cis F-F 2.3 A in the octahedron; above 2.0 A)."""
    topology, positions, cell = minimized_electrolyte
    anions = [r for r in topology.residues() if any(a.element.symbol == "P" for a in r.atoms())]
    assert anions
    for residue in anions:
        fluorines = positions[[a.index for a in residue.atoms() if a.element.symbol == "F"]]
        d = np.linalg.norm(_minimum_image(fluorines[:, None] - fluorines[None], cell), axis=-1)
        assert (d + 10 * np.eye(len(d))).min() > 2.0, residue.index
