"""The GNN parameterizer: charge conservation, symmetry by construction, permutation and reversal
invariance, bounds, gradients through the energy, model files, ensembles, bad input."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import ase.io
import numpy as np
import pytest
import torch
from rdkit import Chem

from polff.energy import PolarizableEnergy
from polff.molecule import MoleculeError, from_smiles
from polff.params import (Ensemble, ModelFileError, Parameterizer, ParameterizerConfig, differentiable_system,
                          load_model, make_batch, parameterize, parameterize_batch, save_model)
from polff.params.features import BOND_ORDER_COLUMN, FORMAL_CHARGE_COLUMN, N_ATOM_FEATURES, atom_features
from polff.params.graph import MoleculeGraph
from polff.params.priors import BOUNDS, PAULING, _ANALOGUE, _REFERENCE
from polff.system import PolSystem
from polff.terms.bonds import bond_energy

SMILES = {
    "EC": "O=C1OCCO1",
    "DMC": "COC(=O)OC",
    "Li": "[Li+]",
    "acetate": "CC(=O)[O-]",
    "FSI": "O=S(=O)([N-]S(=O)(=O)F)F",
    "TFSI": "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F",
    "PF6": "F[P-](F)(F)(F)(F)F",
}
CHARGE = {"EC": 0, "DMC": 0, "Li": 1, "acetate": -1, "FSI": -1, "TFSI": -1, "PF6": -1}
# an ideal octahedron (P-F 1.6 A) in the atom order of SMILES["PF6"]: F0 P1 F2..F6
PF6_POSITIONS = np.array([[1.6, 0, 0], [0, 0, 0], [-1.6, 0, 0], [0, 1.6, 0], [0, -1.6, 0], [0, 0, 1.6], [0, 0, -1.6]])
# EC in the atom order of the ByteFF-Pol files (c0 c1 o2 c3 o4 o5 h6..h9)
EC_BYTEFF_ORDER = "[C:1]1([H:7])([H:8])[C:2]([H:9])([H:10])[O:3][C:4](=[O:5])[O:6]1"
ATOM_FIELDS = ("charge", "alpha", "pol_damping", "eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb")


def positions_of(name):
    return PF6_POSITIONS if name == "PF6" else None


def make_model(seed: int = 0, dtype=torch.float64, **config) -> Parameterizer:
    torch.manual_seed(seed)
    return Parameterizer(ParameterizerConfig(hidden=32, layers=3, readout_hidden=32, **config)).to(dtype)


def _term_values(atoms: np.ndarray, values: np.ndarray, reverse: bool = True) -> dict:
    """term -> parameter values; key: the term in a canonical direction (``reverse``) or, for
    impropers, centre first and neighbours sorted."""
    out = {}
    for row, value in zip(atoms.tolist(), values):
        key = min(tuple(row), tuple(row[::-1])) if reverse else (row[0], *sorted(row[1:]))
        out.setdefault(key, []).append(value)
    return out


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def all_params(model):
    names = list(SMILES)
    params = parameterize_batch([SMILES[n] for n in names], model, [positions_of(n) for n in names])
    return dict(zip(names, params))


def test_total_charge_is_exact_in_a_batch_and_alone(all_params, model):
    for name, p in all_params.items():
        assert p.total_charge == pytest.approx(CHARGE[name], abs=1e-12), name
        alone = parameterize(SMILES[name], model, positions_of(name))
        assert alone.total_charge == pytest.approx(CHARGE[name], abs=1e-12), name
        np.testing.assert_allclose(alone.charge, p.charge, atol=1e-12)
        np.testing.assert_allclose(alone.bond_k, p.bond_k, rtol=1e-12)
    assert all_params["Li"].charge.tolist() == [1.0]
    # fragments of one SMILES keep their own charges: no charge flows from FSI- to Li+
    salt = parameterize("[Li+]." + SMILES["FSI"], model)
    assert salt.charge[0] == 1.0 and salt.charge[1:].sum() == pytest.approx(-1.0, abs=1e-12)
    # charges are not trivially the formal ones
    assert np.ptp(all_params["EC"].charge) > 0.05


def test_charge_equilibration_matches_the_analytic_two_atom_answer():
    from polff.params.model import equilibrated_charges

    # two molecules: a diatomic with q1 = -q2 = (chi2 - chi1) / (s1 + s2), and a lone ion
    chi = torch.tensor([2.0, 3.0, 1.0], dtype=torch.float64)
    hardness = torch.tensor([1.5, 2.5, 4.0], dtype=torch.float64)
    q = equilibrated_charges(chi, hardness, torch.tensor([0, 0, 1]), torch.tensor([0.0, -2.0], dtype=torch.float64))
    assert q.tolist() == pytest.approx([0.25, -0.25, -2.0], abs=1e-15)
    # with net charge Q the extra charge splits in proportion to 1/s
    q = equilibrated_charges(chi[:2], hardness[:2], torch.tensor([0, 0]), torch.tensor([1.0], dtype=torch.float64))
    assert q.tolist() == pytest.approx([0.25 + 2.5 / 4.0, -0.25 + 1.5 / 4.0], abs=1e-15)


def test_symmetry_equivalent_atoms_and_terms_are_identical(model, all_params):
    def same(values):
        values = np.asarray(values)
        return bool((values == values[0]).all())

    pf6, acetate, ec, dmc = all_params["PF6"], all_params["acetate"], all_params["EC"], all_params["DMC"]
    for field in ATOM_FIELDS:
        assert same(getattr(pf6, field)[[0, 2, 3, 4, 5, 6]]), field  # all F of PF6-
        assert same(getattr(acetate, field)[[2, 3]]), field  # both O of the carboxylate
        assert same(getattr(acetate, field)[[4, 5, 6]]), field  # the methyl H
        assert same(getattr(ec, field)[[3, 4]]), field  # EC's two CH2 carbons
        assert same(getattr(ec, field)[[2, 5]]), field  # its two ring O
        assert same(getattr(ec, field)[6:]), field  # its four H
        assert same(getattr(dmc, field)[[0, 5]]), field  # DMC's two methyl C
    assert same(pf6.bond_k) and same(pf6.bond_length) and len(pf6.bonds) == 6
    assert same(pf6.angle_k) and same(pf6.angle_theta) and len(pf6.angles) == 12  # cis F-P-F only
    # the other resonance structure of acetate gives the same parameters
    other = parameterize("CC([O-])=O", model)
    for field in ATOM_FIELDS + ("bond_k", "bond_length", "angle_k", "angle_theta"):
        np.testing.assert_array_equal(getattr(other, field), getattr(acetate, field))
    co = [k for k, (a, b) in enumerate(acetate.bonds) if {a, b} in ({1, 2}, {1, 3})]
    assert same(acetate.bond_k[co]) and same(acetate.bond_length[co])
    ch = [k for k, (a, b) in enumerate(ec.bonds) if a in (3, 4) and b >= 6]
    assert len(ch) == 4 and same(ec.bond_k[ch]) and same(ec.bond_length[ch])
    hch = [k for k, (a, c, b) in enumerate(acetate.angles) if a >= 4 and b >= 4]
    assert len(hch) == 3 and same(acetate.angle_k[hch]) and same(acetate.angle_theta[hch])
    # EC: its two O=C-O angles and its four H-C-C-H torsions
    oco = [k for k, (a, c, b) in enumerate(ec.angles) if c == 1 and 0 in (a, b)]
    assert len(oco) == 2 and same(ec.angle_k[oco]) and same(ec.angle_theta[oco])
    torsions = _term_values(ec.propers.atoms[::4], ec.propers.k.reshape(-1, 4))
    hcch = [v[0] for key, v in torsions.items() if key[0] >= 6 and key[3] >= 6]
    assert len(hcch) == 4 and all(np.array_equal(v, hcch[0]) for v in hcch)


def test_features_are_resonance_averaged():
    acetate = from_smiles(SMILES["acetate"])
    raw = atom_features(acetate)
    assert raw.shape == (7, N_ATOM_FEATURES) and not np.array_equal(raw[2], raw[3])
    graph = MoleculeGraph.from_molecule(acetate)
    assert np.array_equal(graph.atom_features[2], graph.atom_features[3])
    assert graph.atom_features[2, FORMAL_CHARGE_COLUMN] == -0.5
    co = [k for k, (a, b) in enumerate(acetate.bonds) if {a, b} in ({1, 2}, {1, 3})]
    assert graph.bond_features[co, BOND_ORDER_COLUMN].tolist() == [1.5, 1.5]


def _shuffled_smiles(smiles: str, seed: int) -> tuple[str, np.ndarray]:
    """An atom-mapped SMILES of the same molecule with a random atom order, and ``order`` such that
    atom k of the mapped molecule is atom order[k] of ``from_smiles(smiles)``."""
    mol = Chem.Mol(from_smiles(smiles).rdkit)
    perm = np.random.default_rng(seed).permutation(mol.GetNumAtoms())
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(int(perm[atom.GetIdx()]) + 1)
    return Chem.MolToSmiles(mol), np.argsort(perm)


@pytest.mark.parametrize("name", ["EC", "acetate", "TFSI", "DMC"])
def test_permuted_input_gives_permuted_parameters(model, all_params, name):
    mapped, order = _shuffled_smiles(SMILES[name], seed=3)
    shuffled = parameterize(mapped, model)
    expected = all_params[name].permuted(order)
    assert shuffled.elements == expected.elements
    for field in ATOM_FIELDS:
        np.testing.assert_allclose(getattr(shuffled, field), getattr(expected, field), rtol=1e-10, atol=1e-12)
    for atoms, values, ref_atoms, ref_values in [
        (shuffled.bonds, np.stack([shuffled.bond_k, shuffled.bond_length], 1),
         expected.bonds, np.stack([expected.bond_k, expected.bond_length], 1)),
        (shuffled.angles, np.stack([shuffled.angle_k, shuffled.angle_theta], 1),
         expected.angles, np.stack([expected.angle_k, expected.angle_theta], 1)),
        (shuffled.propers.atoms, shuffled.propers.k, expected.propers.atoms, expected.propers.k),
    ]:
        got, ref = _term_values(atoms, values), _term_values(ref_atoms, ref_values)
        assert got.keys() == ref.keys()
        for key in ref:
            np.testing.assert_allclose(np.sort(np.asarray(got[key]), 0), np.sort(np.asarray(ref[key]), 0), rtol=1e-10)
    got = _term_values(shuffled.impropers.atoms, shuffled.impropers.k, reverse=False)
    ref = _term_values(expected.impropers.atoms, expected.impropers.k, reverse=False)
    assert got.keys() == ref.keys() and all(np.allclose(got[k], ref[k], rtol=1e-10) for k in ref)


def test_term_readouts_are_invariant_to_the_direction_of_each_term(model):
    batch = make_batch([SMILES["DMC"], SMILES["TFSI"], SMILES["EC"]])
    reference = model(batch)
    flipped = dict(batch.terms)
    flipped["bonds"] = batch.terms["bonds"].flip(1)
    flipped["angles"] = batch.terms["angles"].flip(1)
    flipped["propers"] = batch.terms["propers"].flip(1)
    flipped["impropers"] = batch.terms["impropers"][:, [0, 3, 1, 2]]
    outputs = model(dataclasses.replace(batch, terms=flipped))
    for name, value in reference.items():
        torch.testing.assert_close(outputs[name], value, rtol=1e-12, atol=1e-12)


def test_outputs_stay_inside_their_bounds_even_for_extreme_weights(all_params):
    wild = make_model(seed=5)
    with torch.no_grad():
        for p in wild.parameters():
            p.mul_(30.0)
    names = list(SMILES)
    batch = make_batch([SMILES[n] for n in names], [positions_of(n) for n in names])
    outputs = wild(batch)
    for name, bound in BOUNDS.items():
        values = outputs[name]
        assert torch.isfinite(values).all(), name
        assert values.min() >= bound.lo and values.max() <= bound.hi, name
    assert torch.isfinite(outputs["charge"]).all()
    # an untrained model stays near the priors: polarizabilities within 30 % of the element values
    tame = all_params["TFSI"]
    prior_alpha = MoleculeGraph.from_molecule(from_smiles(SMILES["TFSI"])).priors["alpha"]
    np.testing.assert_allclose(tame.alpha, prior_alpha, rtol=0.3)


def test_untrained_model_is_close_to_byteff_pol(model, shared_data):
    """Priors are typical ByteFF-Pol values: an untrained model lands near the published EC."""
    from polff.io.byteff import read_byteff

    published = read_byteff(shared_data / "byteff_pol_example" / "electrolyte" / "EC.itp")
    ours = parameterize(EC_BYTEFF_ORDER, model)
    np.testing.assert_allclose(ours.rvdw, published.rvdw, rtol=0.25)
    np.testing.assert_allclose(ours.lamb, published.lamb, rtol=0.3)
    for atoms, values, ref_atoms, ref_values, tolerance in [
        (ours.bonds, ours.bond_length, published.bonds, published.bond_length, 0.07),  # A
        # degrees; ring strain and ester resonance are for training to learn
        (ours.angles, np.degrees(ours.angle_theta), published.angles, np.degrees(published.angle_theta), 15.0),
    ]:
        got, ref = _term_values(atoms, values), _term_values(ref_atoms, ref_values)
        assert got.keys() == ref.keys()
        assert all(abs(got[k][0] - ref[k][0]) < tolerance for k in ref)
    for field in ("alpha", "eps", "c6"):
        ratio = getattr(ours, field) / getattr(published, field)
        assert (ratio > 1 / 3).all() and (ratio < 3).all(), field
    assert np.sign(ours.charge).tolist() == np.sign(published.charge).tolist()


def test_shipped_config_builds_the_default_network():
    import yaml

    path = Path(__file__).parents[2] / "configs" / "polff" / "parameterizer.yaml"
    assert ParameterizerConfig(**yaml.safe_load(path.read_text())) == ParameterizerConfig()


def test_every_supported_element_has_a_prior():
    from polff.molecule import SUPPORTED_ELEMENTS

    assert set(SUPPORTED_ELEMENTS) == set(PAULING) == set(_REFERENCE) | set(_ANALOGUE)


def test_energy_gradients_reach_every_weight(model, shared_data):
    """The trainer's path: batch -> model -> differentiable PolSystem -> PolarizableEnergy -> backward."""
    record = ase.io.read(shared_data / "byteff_pol_example" / "reference_energies" / "a_ec_dimer.extxyz")
    positions = torch.tensor(record.positions, dtype=torch.float64)
    batch = make_batch([EC_BYTEFF_ORDER, EC_BYTEFF_ORDER])
    model.zero_grad()
    outputs = model(batch)
    system = differentiable_system(batch, outputs)
    energy = PolarizableEnergy(system)(positions)
    assert torch.isfinite(energy["total"]) and all(torch.isfinite(v) for v in energy.values())
    energy["total"].backward()
    for name, weight in model.named_parameters():
        assert weight.grad is not None and torch.isfinite(weight.grad).all(), name
        assert weight.grad.abs().sum() > 0, name
    # the same energy as the detached parameters through the ordinary path
    plain = PolSystem.from_molecules(parameterize_batch([EC_BYTEFF_ORDER] * 2, model))
    assert float(PolarizableEnergy(plain)(positions)["total"]) == pytest.approx(energy["total"].item(), rel=1e-10)
    model.zero_grad()


def test_energy_gradient_with_respect_to_weights_matches_finite_differences(model, shared_data):
    record = ase.io.read(shared_data / "byteff_pol_example" / "reference_energies" / "a_ec_dimer.extxyz")
    positions = torch.tensor(record.positions, dtype=torch.float64)
    batch = make_batch([EC_BYTEFF_ORDER, EC_BYTEFF_ORDER])

    def energy() -> torch.Tensor:
        return PolarizableEnergy(differentiable_system(batch, model(batch)), solver="direct")(positions)["total"]

    weights = [model.atom_head.net[-1].weight, model.interactions[0].message[0].weight, model.proper_head.net[0].weight]
    model.zero_grad()
    energy().backward()
    h = 1e-6
    for weight in weights:
        index = tuple(int(i) for i in torch.nonzero(weight.grad.abs() == weight.grad.abs().max())[0])
        with torch.no_grad():
            weight[index] += h
            plus = float(energy())
            weight[index] -= 2 * h
            minus = float(energy())
            weight[index] += h
        assert (plus - minus) / (2 * h) == pytest.approx(float(weight.grad[index]), rel=1e-5)
    model.zero_grad()


def test_save_load_round_trip_and_refusals(model, tmp_path):
    path = save_model(model, tmp_path / "gnn.pt", metadata={"trained_on": "nothing"})
    loaded = load_model(path)
    a = parameterize(SMILES["TFSI"], model)
    b = parameterize(SMILES["TFSI"], loaded)
    for field in ATOM_FIELDS + ("bond_k", "bond_length", "angle_k", "angle_theta"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.propers.k, b.propers.k)

    record = torch.load(path, weights_only=True)
    for key, value, message in [
        ("format", "something.else", "not a parameterizer file"),
        ("format_version", 99, "format version 99"),
        ("feature_spec", {**record["feature_spec"], "version": 0}, "different feature_spec"),
        ("priors", {**record["priors"], "angle_k": 1.0}, "different priors"),
        ("config", {**record["config"], "depth": 2}, "unknown network config"),
        ("config", {**record["config"], "hidden": 16}, "do not fit"),
    ]:
        bad = tmp_path / "bad.pt"
        torch.save({**record, key: value}, bad)
        with pytest.raises(ModelFileError, match=message):
            load_model(bad)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a parameterizer file"):
        load_model(garbage)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.pt")


def test_ensemble_mean_and_spread(model):
    twin = make_model()
    twin.load_state_dict(model.state_dict())
    same = Ensemble([model, twin, make_model()])
    same.models[2].load_state_dict(model.state_dict())
    result = same.parameterize(SMILES["EC"])
    single = parameterize(SMILES["EC"], model)
    for field, spread in result.spread.items():
        assert (spread == 0).all(), field
    np.testing.assert_array_equal(result.mean.charge, single.charge)
    np.testing.assert_array_equal(result.mean.propers.k, single.propers.k)

    mixed = Ensemble([make_model(seed=s) for s in range(3)])
    result = mixed.parameterize(SMILES["EC"])
    members = [parameterize(SMILES["EC"], m) for m in mixed.models]
    for field in ATOM_FIELDS:
        stacked = np.stack([getattr(p, field) for p in members])
        np.testing.assert_allclose(getattr(result.mean, field), stacked.mean(0), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(result.spread[field], stacked.std(0), rtol=1e-9, atol=1e-14)
        assert (result.spread[field] > 0).all(), field
    assert result.spread["proper_k"].shape == (len(result.mean.propers.k) // 4, 4)
    assert (result.spread["bond_k"] > 0).all()
    assert result.mean.total_charge == pytest.approx(0.0, abs=1e-12)


def test_ensemble_disagreement_flags_a_molecule_outside_the_training_domain(model, caplog):
    twin = make_model()
    twin.load_state_dict(model.state_dict())
    with caplog.at_level(logging.WARNING, logger="polff.params.ensemble"):
        agreed = Ensemble([model, twin]).parameterize(SMILES["EC"])
    assert agreed.out_of_domain() == [] and "training domain" not in caplog.text
    # members that disagree (untrained, other seeds: larger spreads than DOMAIN_LIMITS)
    with caplog.at_level(logging.WARNING, logger="polff.params.ensemble"):
        result = Ensemble([make_model(seed=s, output_init_scale=3.0) for s in range(3)]).parameterize(SMILES["EC"])
    reasons = result.out_of_domain()
    assert reasons and "outside the parameterizer's training domain" in caplog.text
    assert any(r.startswith("alpha spread") for r in reasons)


def test_octahedral_centre_takes_its_geometry_from_a_conformer(model, tmp_path, all_params):
    from polff.molecule import from_sdf

    mol = Chem.Mol(from_smiles(SMILES["PF6"]).rdkit)
    conformer = Chem.Conformer(mol.GetNumAtoms())
    for k, xyz in enumerate(PF6_POSITIONS[[0, 1, 3, 2, 5, 4, 6]]):  # another pairing of trans F
        conformer.SetAtomPosition(k, xyz.tolist())
    mol.AddConformer(conformer)
    Chem.MolToMolFile(mol, str(tmp_path / "pf6.sdf"))
    pf6 = parameterize(from_sdf(tmp_path / "pf6.sdf"), model)
    assert len(pf6.angles) == 12
    trans = {(0, 3), (2, 5), (4, 6)}
    assert not any((min(a, b), max(a, b)) in trans for a, _, b in pf6.angles.tolist())
    np.testing.assert_allclose(pf6.angle_theta, all_params["PF6"].angle_theta[0], rtol=1e-12)


def test_no_torsions_across_linear_centres(model):
    nitrile = parameterize("CC#N", model)
    assert len(nitrile.propers.atoms) == 0 and len(nitrile.angles) == 7
    adiponitrile = parameterize("N#CCCCCC#N", model)
    sp = {1, 6}  # the nitrile carbons
    assert len(adiponitrile.propers.atoms) and not np.isin(adiponitrile.propers.atoms[:, 1:3], list(sp)).any()


def test_bad_molecules_raise_clear_errors(model):
    for smiles, message in [
        ("C1CC(", "invalid SMILES"),
        ("[CH3]", "radical"),
        ("[Xe]", "not supported"),
        ("F[P-](F)(F)(F)(F)F", "3D coordinates"),
        ("FP(F)(F)(F)F", "five-coordinate"),
    ]:
        with pytest.raises(MoleculeError, match=message):
            parameterize(smiles, model)
    squashed = PF6_POSITIONS.copy()
    squashed[2] = [1.0, 1.0, 0.0]  # one F moved next to another: no trans partner
    with pytest.raises(MoleculeError, match="not octahedral"):
        parameterize(SMILES["PF6"], model, squashed)
    with pytest.raises(MoleculeError, match="shape"):
        parameterize(SMILES["PF6"], model, PF6_POSITIONS[:3])
    with pytest.raises(TypeError, match="SMILES string"):
        parameterize(42, model)
    with pytest.raises(ValueError, match="hidden"):
        ParameterizerConfig(hidden=0)


def test_rdkit_molecules_are_accepted_in_their_atom_order(model, all_params):
    mol = Chem.MolFromSmiles(SMILES["EC"])  # hydrogens implicit
    np.testing.assert_array_equal(parameterize(mol, model).charge, all_params["EC"].charge)


@pytest.mark.gpu
def test_cuda_model_matches_cpu_and_backpropagates(model):
    batch = make_batch([SMILES["TFSI"], SMILES["EC"]])
    cpu = model(batch)
    gpu_model = make_model().to("cuda")
    gpu_model.load_state_dict(model.state_dict())
    gpu = gpu_model(batch)
    for name, value in cpu.items():
        torch.testing.assert_close(gpu[name].cpu(), value.detach(), rtol=1e-9, atol=1e-12)
    system = differentiable_system(batch, gpu)
    assert system.bond_k.is_cuda and system.bonds.is_cuda and system.torsions["propers"]["atoms"].is_cuda
    positions = torch.randn(batch.n_atoms, 3, dtype=torch.float64, device="cuda") * 3.0
    bond_energy(positions, system.bonds, system.bond_length, system.bond_k).backward()
    assert gpu_model.bond_head.net[-1].weight.grad.abs().sum() > 0
