"""The plugin's PolarizationForce through polff's OpenMM export: every term and the total equal the
torch model's on the Reference and CPU platforms (clusters and a periodic box), induced dipoles
equal torch's, forces equal finite differences, the CPU fast path (cell list, threads) equals the
Reference oracle, XML round trips, and non-convergence raises a clear error. Extrapolated
polarization likewise: its analytic forces against torch's autograd through the chain and
against finite differences. The kernel of OpenMM's compute platforms (OpenCL here, through pocl
when installed; CUDA on a GPU, marker ``gpu``) likewise for clusters and PME boxes, converged and
extrapolated, in double precision; mixed against double precision; its neighbour list against all
pairs; after the context has reordered its atoms."""

from __future__ import annotations

import itertools

import ase.io
import numpy as np
import openmm
import pytest
import torch

from elyte import units
from elyte.md.platform import available as installed_platforms
from elyte.openmm_plugin import available, induced_dipoles, load, polarization_force
from polff.energy import TERMS, PolarizableEnergy
from polff.openmm import GROUPS, build_system
from polff.system import PolSystem
from polff.terms.electrostatics import PairGeometry, _dense_t, permanent_field, solve_direct, thole_damping
from polff.terms.scaling import ScalingRules

pytestmark = pytest.mark.skipif(not available(), reason="the elyte OpenMM plugin is not built")

PLATFORMS = ["Reference", "CPU"]
ENERGY_TOL, FORCE_TOL = 1e-5, 1e-4  # relative; forces relative to the largest torch force
KCAL = openmm.unit.kilocalorie_per_mole
KCAL_A = KCAL / openmm.unit.angstrom
TORCH_EWALD_TOLERANCE = 1e-8  # converged: the reference for OpenMM's PME
# per platform: Reference sums the Ewald series explicitly, less accurate than CPU's PME at one tolerance
OPENMM_EWALD_TOLERANCE = {"Reference": 1e-6, "CPU": 1e-5}
OPT3 = (-0.154, 0.017, 0.658, 0.474)  # AMOEBA's coefficients; any set exercises the same code


def _runs_polarization(platform: str) -> bool:
    """Whether ``platform`` has a device and the plugin's kernel (a two-atom cluster)."""
    try:
        _plugin_energy_and_forces(polarization_force([0.5, -0.5], [1e-3, 1e-3], [1e-3, 1e-3]),
                                  np.array([[0.0, 0, 0], [0.3, 0, 0]]), platform=platform)
    except Exception:
        return False
    return True


def _compute_platforms() -> list:
    """OpenCL and CUDA where openmm has them with a device and the plugin has their kernels."""
    if not available():
        return []
    return [pytest.param(name, marks=marks) for name, marks in (("OpenCL", ()), ("CUDA", (pytest.mark.gpu,)))
            if name in installed_platforms() and _runs_polarization(name)]


def _properties(platform: str, precision: str = "double") -> dict[str, str]:
    return {"Precision": precision} if platform in ("OpenCL", "CUDA") else {}


def _plugin_energy_and_forces(force, positions, box=None, platform="Reference", precision="double"):
    system = openmm.System()
    for _ in range(len(positions)):
        system.addParticle(1.0)
    if box is not None:
        system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in box))
    system.addForce(force)
    context = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName(platform),
                             _properties(platform, precision))
    context.setPositions(positions)
    state = context.getState(getEnergy=True, getForces=True)
    return state.getPotentialEnergy()._value, state.getForces(asNumpy=True)._value, context


COMPUTE = _compute_platforms()  # the compute platforms' kernel (OpenCL, CUDA) where it runs


def _compute_with(*values) -> list:
    """Each of COMPUTE's platforms followed by ``values`` (the other parameters of a test)."""
    return [pytest.param(p.values[0], *values, marks=p.marks) for p in COMPUTE]


@pytest.fixture(scope="module")
def pf6_dmc(byteff_dir, electrolyte_molecules):
    """PF6- next to a DMC molecule, both with their geometries from the published box."""
    atoms = ase.io.read(byteff_dir / "electrolyte" / "solvent_salt.gro")
    dmc, pf6 = electrolyte_molecules["DMC"], electrolyte_molecules["PF6"]
    start_pf6 = 505 * dmc.n_atoms + 345 * electrolyte_molecules["EC"].n_atoms + 69 * electrolyte_molecules["LI"].n_atoms
    x_dmc = atoms.positions[: dmc.n_atoms]
    x_pf6 = atoms.positions[start_pf6 : start_pf6 + pf6.n_atoms]
    x_dmc = x_dmc - x_dmc.mean(axis=0)
    x_pf6 = x_pf6 - x_pf6.mean(axis=0) + np.array([5.5, 0.8, -0.4])
    return "pf6_dmc", [pf6, dmc], torch.tensor(np.concatenate([x_pf6, x_dmc]))


def _torch_terms(molecules, positions, cell=None, rules=None, extrapolation=None):
    model = PolarizableEnergy(PolSystem.from_molecules(molecules), rules=rules, cell=cell, cutoff=9.0,
                              ewald_tolerance=TORCH_EWALD_TOLERANCE, extrapolation=extrapolation)
    pos = positions.clone().requires_grad_(True)
    energies = model(pos)
    out = {}
    for term in (*TERMS, "total"):
        grad = torch.autograd.grad(energies[term], pos, retain_graph=True, allow_unused=True)[0]
        out[term] = (float(energies[term]), np.zeros(pos.shape) if grad is None else -grad.numpy())
    return out, model.dipoles.numpy()


def _context(system, positions, platform, precision="double"):
    context = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName(platform),
                             _properties(platform, precision))
    context.setPositions(positions.numpy() * units.ANGSTROM_TO_NM)
    return context


def _openmm_term(context, groups):
    state = context.getState(getEnergy=True, getForces=True, groups=groups)
    return state.getPotentialEnergy().value_in_unit(KCAL), state.getForces(asNumpy=True).value_in_unit(KCAL_A)


def _compare(label, molecules, positions, platform, cell=None, rules=None, extrapolation=None):
    reference, dipoles = _torch_terms(molecules, positions, cell, rules, extrapolation)
    box = None if cell is None else cell.numpy()
    system = build_system(molecules, box=box, cutoff=9.0, rules=rules, long_range_correction=False,
                          ewald_tolerance=OPENMM_EWALD_TOLERANCE.get(platform, 1e-5), split_terms=True,
                          extrapolation=extrapolation)
    context = _context(system, positions, platform)
    for term, groups in [*((t, {g}) for t, g in GROUPS.items()), ("total", set(GROUPS.values()))]:
        e_torch, f_torch = reference[term]
        e_mm, f_mm = _openmm_term(context, groups)
        assert e_mm == pytest.approx(e_torch, rel=ENERGY_TOL, abs=1e-6), f"{label} {platform}: {term}"
        scale = max(np.abs(f_torch).max(), 1.0)
        assert np.abs(f_mm - f_torch).max() <= FORCE_TOL * scale, f"{label} {platform}: {term} forces"
    mu = induced_dipoles(context) * units.NM_TO_ANGSTROM
    dipole_tol = 1e-6 if cell is None else 1e-4  # boxes: Ewald sums at different accuracies
    assert np.abs(mu - dipoles).max() <= dipole_tol * np.abs(dipoles).max(), f"{label} {platform}: dipoles"


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("extrapolation", [None, OPT3])
def test_clusters_match_torch(cluster, platform, extrapolation):
    name, molecules, positions, _ = cluster
    _compare(name, molecules, positions, platform, extrapolation=extrapolation)


@pytest.mark.parametrize("platform", [*PLATFORMS, *COMPUTE])
def test_anion_solvent_cluster_matches_torch(pf6_dmc, platform):
    name, molecules, positions = pf6_dmc
    _compare(name, molecules, positions, platform)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("extrapolation", [None, OPT3])
def test_periodic_box_matches_torch(small_box, platform, extrapolation):
    molecules, positions, cell = small_box
    _compare("small box", molecules, positions, platform, cell=cell, extrapolation=extrapolation)


def test_other_scaling_rules_match_torch(cluster):
    """Scaled dipole-dipole coupling and 1-5 charge scaling: any rule set is expressed by exceptions."""
    name, molecules, positions, _ = cluster
    rules = ScalingRules(charge=(1.0, 0.0, 0.2, 0.6, 0.9, 1.0), dipole=(1.0, 0.0, 0.3, 0.7, 1.0, 1.0))
    _compare(name, molecules, positions, "Reference", rules=rules)


def _triclinic(cell) -> np.ndarray:
    """The small box's cell sheared into a triclinic one (nm)."""
    return (cell.numpy() + np.array([[0, 0, 0], [3.0, 0, 0], [-2.0, 1.5, 0]])) * units.ANGSTROM_TO_NM


def _box_force(small_box, cutoff, ewald_tolerance=1e-6, **kwargs):
    molecules, positions, cell = small_box
    system = build_system(molecules, box=cell.numpy(), cutoff=cutoff)
    plugin = load()
    force = next(plugin.PolarizationForce.cast(f) for f in system.getForces() if plugin.PolarizationForce.isinstance(f))
    charges, alphas, damping, exceptions = [], [], [], []
    for i in range(force.getNumParticles()):
        q, a, d = force.getParticleParameters(i)
        charges.append(q), alphas.append(a), damping.append(d)
    for k in range(force.getNumExceptions()):
        exceptions.append(force.getExceptionParameters(k))
    return polarization_force(charges, alphas, damping, exceptions, cutoff=cutoff * units.ANGSTROM_TO_NM,
                              ewald_tolerance=ewald_tolerance, tolerance=1e-11, **kwargs)


def test_cpu_cell_list_equals_reference_in_a_triclinic_box(small_box):
    """Cutoff 6.0 A (+0.8 A padding) in the sheared 21 A box (20.7 A between faces): three cells a side, so
    the CPU platform uses its cell list."""
    _, positions, cell = small_box
    box = _triclinic(cell)
    x = positions.numpy() * units.ANGSTROM_TO_NM
    e_ref, f_ref, _ = _plugin_energy_and_forces(_box_force(small_box, 6.0, method="ewald"), x, box, "Reference")
    e_cpu, f_cpu, context = _plugin_energy_and_forces(_box_force(small_box, 6.0, method="ewald"), x, box, "CPU")
    assert e_cpu == pytest.approx(e_ref, rel=1e-10)
    assert np.abs(f_cpu - f_ref).max() <= 1e-8 * np.abs(f_ref).max()
    # atoms moved less than half the list's padding: the CPU platform reuses its neighbour list
    moved = x + np.random.default_rng(0).uniform(-0.01, 0.01, x.shape)
    context.setPositions(moved)
    e_reused = context.getState(getEnergy=True).getPotentialEnergy()._value
    e_fresh = _plugin_energy_and_forces(_box_force(small_box, 6.0, method="ewald"), moved, box, "Reference")[0]
    assert e_reused == pytest.approx(e_fresh, rel=1e-10)


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("platform, extrapolation", [("CPU", None), ("CPU", OPT3), *_compute_with(None),
                                                     *_compute_with(OPT3)])
def test_forces_equal_finite_differences(small_box, periodic, platform, extrapolation):
    """PME (a coarse grid) in a triclinic box, and 60 atoms without cutoff; the charge-charge energy
    included, so that every kernel's derivative is exercised."""
    _, positions, cell = small_box
    force = _box_force(small_box, 6.0, ewald_tolerance=1e-4, include_charge_charge=True, extrapolation=extrapolation)
    x, box = positions.numpy() * units.ANGSTROM_TO_NM, _triclinic(cell)
    if not periodic:
        x, box = x[:60], None
        force = polarization_force(*zip(*(force.getParticleParameters(i) for i in range(60))), tolerance=1e-12,
                                   extrapolation=extrapolation)
    _, forces, context = _plugin_energy_and_forces(force, x, box, platform)
    h = 1e-6
    for atom, axis in [(0, 0), (17, 1), (len(x) - 1, 2)]:
        energies = []
        for sign in (1, -1):
            moved = x.copy()
            moved[atom, axis] += sign * h
            context.setPositions(moved)
            energies.append(context.getState(getEnergy=True).getPotentialEnergy()._value)
        assert -(energies[0] - energies[1]) / (2 * h) == pytest.approx(forces[atom, axis], rel=1e-5, abs=1e-3)


@pytest.mark.parametrize("extrapolation", [None, (0.1, 0.3, 0.6)])
def test_xml_round_trip(cluster, extrapolation):
    _, molecules, positions, _ = cluster
    system = build_system(molecules, extrapolation=extrapolation)
    again = openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system))
    plugin = load()
    original = [plugin.PolarizationForce.cast(f) for f in system.getForces() if plugin.PolarizationForce.isinstance(f)]
    copied = [plugin.PolarizationForce.cast(f) for f in again.getForces() if plugin.PolarizationForce.isinstance(f)]
    assert len(original) == len(copied) == 1
    a, b = original[0], copied[0]
    assert b.getName() == "polarization" and b.getForceGroup() == GROUPS["polarization"]
    assert [a.getParticleParameters(i) for i in range(a.getNumParticles())] == \
        [b.getParticleParameters(i) for i in range(b.getNumParticles())]
    assert [a.getExceptionParameters(k) for k in range(a.getNumExceptions())] == \
        [b.getExceptionParameters(k) for k in range(b.getNumExceptions())]
    for getter in ("getTholeA", "getNonbondedMethod", "getMutualInducedTolerance", "getMutualInducedMaxIterations",
                   "getIncludeChargeChargeEnergy", "getCutoffDistance", "getEwaldErrorTolerance", "getPolarizationType",
                   "getExtrapolationCoefficients"):
        assert getattr(a, getter)() == getattr(b, getter)()
    e = [_openmm_term(_context(s, positions, "Reference"), {GROUPS["polarization"]})[0] for s in (system, again)]
    assert e[0] == pytest.approx(e[1], rel=1e-12)


@pytest.mark.parametrize("platform", ["CPU", *COMPUTE])
def test_update_parameters_in_context(cluster, platform):
    _, molecules, positions, _ = cluster
    system = build_system(molecules)
    context = _context(system, positions, platform)
    plugin = load()
    force = next(plugin.PolarizationForce.cast(f) for f in system.getForces() if plugin.PolarizationForce.isinstance(f))
    before = _openmm_term(context, {GROUPS["polarization"]})[0]
    q, alpha, damping = force.getParticleParameters(0)
    force.setParticleParameters(0, q + 0.2, 1.5 * alpha, damping)
    force.updateParametersInContext(context)
    updated = _openmm_term(context, {GROUPS["polarization"]})[0]
    fresh = _openmm_term(_context(system, positions, "Reference"), {GROUPS["polarization"]})[0]
    assert updated == pytest.approx(fresh, rel=1e-9) and updated != pytest.approx(before, rel=1e-3)


@pytest.mark.parametrize("platform", ["Reference", *COMPUTE])
def test_non_convergence_names_atoms_and_fix(cluster, platform):
    _, molecules, positions, _ = cluster
    system = build_system(molecules)
    plugin = load()
    force = next(plugin.PolarizationForce.cast(f) for f in system.getForces() if plugin.PolarizationForce.isinstance(f))
    force.setMutualInducedMaxIterations(2)
    force.setMutualInducedTolerance(1e-14)
    with pytest.raises(Exception, match=r"did not converge.*worst atoms: \d+.*setMutualInducedMaxIterations"):
        _context(system, positions, platform).getState(getEnergy=True)


@pytest.mark.parametrize("platform", [*PLATFORMS, *COMPUTE])
def test_a_box_shrunk_below_twice_the_cutoff_is_refused(platform):
    """As a barostat might: the box goes from 2.0 to 1.5 nm with a 0.9 nm cutoff."""
    force = polarization_force([0.5, -0.5], [1e-3, 1e-3], [1e-3, 1e-3], cutoff=0.9)
    x = np.array([[0.5, 0.5, 0.5], [0.8, 0.5, 0.5]])
    context = _plugin_energy_and_forces(force, x, np.eye(3) * 2.0, platform)[2]
    context.setPeriodicBoxVectors(*(openmm.Vec3(*row) for row in np.eye(3) * 1.5))
    with pytest.raises(Exception, match=r"box has shrunk to 1.5\d* nm, less than twice the cutoff \(0.9\d* nm\)"):
        context.getState(getEnergy=True)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_dipoles_converge_where_the_preconditioner_is_indefinite(platform):
    """27 strongly polarizable, heavily damped atoms on a jittered 1.5 A lattice (alpha 20 A^3, damping
    volume 50 A^3): the dipole equations are positive definite, but the solver's preconditioner
    I + B_near / 2 (B = sqrt(a) T sqrt(a), near: pairs within 4.5 A) is not, and preconditioned
    conjugate gradients stall. The solver lowers the coefficient and still reaches the direct solve."""
    grid = np.array(list(itertools.product(range(3), repeat=3)), float)
    x = grid * 1.5 + np.random.default_rng(0).normal(0.0, 0.1, grid.shape)
    n = len(x)
    charges = np.where(grid.sum(axis=1) % 2 == 0, 0.3, -0.3)
    charges -= charges.mean()
    i, j = np.triu_indices(n, 1)
    vec = torch.tensor(x[j] - x[i])
    pairs = PairGeometry(torch.tensor(i), torch.tensor(j), vec, vec.norm(dim=1))
    alpha, damping = torch.full((n,), 20.0, dtype=torch.float64), torch.full((n,), 50.0, dtype=torch.float64)
    damp3, damp5 = thole_damping(pairs.r, damping[pairs.i], damping[pairs.j])
    scale = torch.ones_like(pairs.r)
    b = np.linalg.eigvalsh(20.0 * _dense_t(pairs, damp3, damp5, scale, n).numpy())
    b_near = np.linalg.eigvalsh(20.0 * _dense_t(pairs, damp3, damp5, (pairs.r < 4.5).double(), n).numpy())
    assert (1.0 - b).min() > 0 > (1.0 + 0.5 * b_near).min()
    field = permanent_field(torch.tensor(charges), pairs, damp3, scale, n)
    expected = solve_direct(alpha, field, pairs, damp3, damp5, scale).numpy()  # e*A
    nm3 = units.ANGSTROM_TO_NM**3
    force = polarization_force(charges, alpha.numpy() * nm3, damping.numpy() * nm3, tolerance=1e-12)
    context = _plugin_energy_and_forces(force, x * units.ANGSTROM_TO_NM, platform=platform)[2]
    dipoles = induced_dipoles(context) / units.ANGSTROM_TO_NM
    assert np.abs(dipoles - expected).max() <= 1e-8 * np.abs(expected).max()


@pytest.mark.parametrize("platform", ["Reference", *COMPUTE])
def test_polarization_catastrophe_is_reported(platform):
    force = polarization_force([1.0, -1.0], [0.5, 0.5], [1e-6, 1e-6])  # huge polarizabilities, no damping
    with pytest.raises(Exception, match="polarization catastrophe"):
        _plugin_energy_and_forces(force, np.array([[0.0, 0, 0], [0.15, 0, 0]]), platform=platform)


@pytest.mark.parametrize("include_charge_charge", [False, True])
@pytest.mark.parametrize("platform, extrapolation", [("CPU", None), ("CPU", OPT3), *_compute_with(None),
                                                     *_compute_with(OPT3)])
@pytest.mark.parametrize("pme_tolerance", [1e-5, 1.2e-5])  # CPU grids of 80^3 and 75^3 (odd: a lone real FFT line)
def test_pme_equals_reference_ewald(small_box, include_charge_charge, platform, extrapolation, pme_tolerance):
    """PME (CPU, compute platforms) against the converged Ewald sum it approximates (Reference), triclinic box."""
    _, positions, cell = small_box
    box = _triclinic(cell)
    x = positions.numpy() * units.ANGSTROM_TO_NM
    results = []
    for name, tolerance in (("Reference", 1e-9), (platform, pme_tolerance)):
        force = _box_force(small_box, 6.0, ewald_tolerance=tolerance, include_charge_charge=include_charge_charge,
                           extrapolation=extrapolation)
        results.append(_plugin_energy_and_forces(force, x, box, name)[:2])
    (e_ref, f_ref), (e_pme, f_pme) = results
    assert e_pme == pytest.approx(e_ref, rel=1e-5)
    assert np.abs(f_pme - f_ref).max() <= 3e-4 * np.abs(f_ref).max()  # PME's force error at 1e-5: ~1.5e-4


@pytest.mark.parametrize("platform", COMPUTE)
@pytest.mark.parametrize("extrapolation", [None, OPT3])
def test_clusters_match_torch_on_compute_platforms(cluster, platform, extrapolation):
    name, molecules, positions, _ = cluster
    _compare(name, molecules, positions, platform, extrapolation=extrapolation)


@pytest.mark.parametrize("platform", COMPUTE)
@pytest.mark.parametrize("extrapolation", [None, OPT3])
def test_periodic_box_matches_torch_on_compute_platforms(small_box, platform, extrapolation):
    molecules, positions, cell = small_box
    _compare("small box", molecules, positions, platform, cell=cell, extrapolation=extrapolation)


def _mixed_matches_double(molecules, positions, cell, platform):
    """The precision 'auto' asks of a GPU platform, against double precision on the same platform (the
    same PME grid): energies to 1e-4 kcal/mol and forces to 5e-5 of the largest (measured 1e-5 and
    2e-5: single-precision sums of pair terms up to ~100 kcal/mol that cancel within molecules)."""
    system = build_system(molecules, box=None if cell is None else cell.numpy(), cutoff=9.0)
    polarization = {GROUPS["polarization"]}
    e_double, f_double = _openmm_term(_context(system, positions, platform), polarization)
    e_mixed, f_mixed = _openmm_term(_context(system, positions, platform, precision="mixed"), polarization)
    assert e_mixed == pytest.approx(e_double, abs=1e-4)
    assert np.abs(f_mixed - f_double).max() <= 5e-5 * np.abs(f_double).max()


@pytest.mark.parametrize("platform", COMPUTE)
def test_mixed_precision_matches_double_on_clusters(cluster, platform):
    _mixed_matches_double(cluster[1], cluster[2], None, platform)


@pytest.mark.parametrize("platform", COMPUTE)
def test_mixed_precision_matches_double_in_a_box(small_box, platform):
    _mixed_matches_double(*small_box, platform)


@pytest.mark.parametrize("platform", COMPUTE)
def test_compute_platforms_refuse_the_explicit_ewald_sum(platform):
    force = polarization_force([0.5, -0.5], [1e-3, 1e-3], [1e-3, 1e-3], cutoff=0.9, method="ewald")
    with pytest.raises(Exception, match="NoCutoff and PME, not Ewald.*use PME"):
        _plugin_energy_and_forces(force, np.array([[0.5, 0.5, 0.5], [0.8, 0.5, 0.5]]), np.eye(3) * 2.0, platform)


@pytest.mark.parametrize("platform", COMPUTE)
def test_compute_platforms_after_atoms_are_reordered(small_box, platform):
    """260 steps of MD with the whole export (its cutoff forces let the context sort the atoms
    spatially, which it does after 250 steps): the polarization term at the final positions equals
    the Reference platform's, so parameters follow their atoms through the reordering."""
    molecules, positions, cell = small_box
    system = build_system(molecules, box=cell.numpy(), cutoff=9.0, split_terms=True)
    context = _context(system, positions, platform)
    context.setVelocitiesToTemperature(300.0, 1)
    context.getIntegrator().step(260)
    state = context.getState(getPositions=True, getEnergy=True, getForces=True, groups={GROUPS["polarization"]})
    moved = state.getPositions(asNumpy=True)
    reference = openmm.Context(system, openmm.VerletIntegrator(1e-3), openmm.Platform.getPlatformByName("Reference"))
    reference.setPeriodicBoxVectors(*state.getPeriodicBoxVectors())
    reference.setPositions(moved)
    e_ref, f_ref = _openmm_term(reference, {GROUPS["polarization"]})
    e_mm = state.getPotentialEnergy().value_in_unit(KCAL)
    f_mm = state.getForces(asNumpy=True).value_in_unit(KCAL_A)
    assert e_mm == pytest.approx(e_ref, rel=1e-4)
    assert np.abs(f_mm - f_ref).max() <= 1e-3 * np.abs(f_ref).max()


@pytest.mark.parametrize("platform", COMPUTE)
def test_compute_neighbour_list_equals_all_pairs(small_box, platform, monkeypatch):
    """The padded neighbour list of the compute platforms against all pairs (its reference,
    ELYTE_POLARIZATION_ALL_PAIRS=1): the sheared small box, cutoff 6 A, at the start, after moves
    that keep the list (< 0.2 A) and after moves that rebuild it (up to 0.9 A)."""
    _, positions, cell = small_box
    box, x = _triclinic(cell), positions.numpy() * units.ANGSTROM_TO_NM
    rng = np.random.default_rng(3)
    steps = [x, x + rng.uniform(-0.01, 0.01, x.shape), x + rng.uniform(-0.05, 0.05, x.shape)]
    results = []
    for all_pairs in ("1", "0"):
        monkeypatch.setenv("ELYTE_POLARIZATION_ALL_PAIRS", all_pairs)
        context = _plugin_energy_and_forces(_box_force(small_box, 6.0), x, box, platform)[2]
        states = []
        for step in steps:
            context.setPositions(step)
            state = context.getState(getEnergy=True, getForces=True)
            states.append((state.getPotentialEnergy()._value, state.getForces(asNumpy=True)._value))
        results.append(states)
    for (e_all, f_all), (e_list, f_list) in zip(*results):
        assert e_list == pytest.approx(e_all, rel=1e-12)
        assert np.abs(f_list - f_all).max() <= 1e-10 * np.abs(f_all).max()


@pytest.mark.parametrize("platform", COMPUTE)
def test_non_finite_positions_are_reported(platform):
    """An exploded simulation (a NaN coordinate) stops with the reason, not with NaN dipoles."""
    force = polarization_force([0.5, -0.5], [1e-3, 1e-3], [1e-3, 1e-3])
    with pytest.raises(Exception, match="residual is not finite"):
        _plugin_energy_and_forces(force, np.array([[0.0, 0, 0], [np.nan, 0, 0]]), platform=platform)


@pytest.mark.parametrize("platform", COMPUTE)
@pytest.mark.parametrize("coefficients", [(0.3, 0.7), (0.1, 0.2, 0.7)])
def test_low_orders_of_extrapolation_on_compute_platforms(small_box, platform, coefficients):
    """First order (one coupling) and second order, against the Reference platform."""
    _, positions, cell = small_box
    x, box = positions.numpy() * units.ANGSTROM_TO_NM, _triclinic(cell)
    results = [_plugin_energy_and_forces(_box_force(small_box, 6.0, ewald_tolerance=1e-6, extrapolation=coefficients),
                                         x, box, name)[:2] for name in ("Reference", platform)]
    (e_ref, f_ref), (e, f) = results
    assert e == pytest.approx(e_ref, rel=1e-5)
    assert np.abs(f - f_ref).max() <= 1e-4 * np.abs(f_ref).max()
