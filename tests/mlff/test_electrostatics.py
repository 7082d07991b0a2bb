"""Electrostatics of the learned charges: Madelung energy of rock salt by Ewald, the cluster and
periodic paths in the large-box limit, and charge equilibration against a direct constrained solve."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from elyte.electrostatics.ewald import EwaldParameters, reciprocal_integers, reciprocal_sum
from elyte.neighbors import full_list, neighbor_list
from elyte.units import COULOMB_KCAL_ANGSTROM
from mlff.model.build import build_model
from mlff.model.charges import equilibrate
from mlff.model.electrostatics import chunked_reciprocal_sum, cluster_energy, cluster_pairs, ewald_energy
from tests.mlff.random_structures import SMALL, batch_of, cluster

MADELUNG_NACL = 1.747565
A_NACL = 5.64  # A, conventional cubic cell


def rock_salt(primitive: bool, repeat: int):
    """Na+ / Cl- charges, positions and cell of a rock-salt supercell (conventional or primitive fcc)."""
    if primitive:
        cell = 0.5 * A_NACL * np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
        basis, charges = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]) @ cell, [1.0, -1.0]
    else:
        cell = A_NACL * np.eye(3)
        fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * A_NACL
        basis = np.concatenate([fcc, fcc + [0.5 * A_NACL, 0, 0]])
        charges = [1.0] * 4 + [-1.0] * 4
    grid = np.array(np.meshgrid(*[np.arange(repeat)] * 3, indexing="ij")).reshape(3, -1).T @ cell
    positions = (grid[:, None, :] + basis[None]).reshape(-1, 3)
    return torch.tensor(charges * len(grid), dtype=torch.float64), torch.tensor(positions), torch.tensor(cell * repeat)


def ewald(q, positions, cell, cutoff, sigma, tolerance=1e-8):
    pairs, shifts = full_list(*neighbor_list(positions, cutoff, cell=cell))
    r = (positions[pairs[1]] - positions[pairs[0]] + shifts.double() @ cell).norm(dim=1)
    batch = torch.zeros(len(q), dtype=torch.long)
    return ewald_energy(q, positions, cell[None], batch, [0, len(q)], [True], pairs, r, sigma,
                        EwaldParameters.from_tolerance(cutoff, tolerance))


@pytest.mark.parametrize("primitive, repeat", [(False, 3), (True, 5)], ids=["cubic", "triclinic"])
def test_rock_salt_madelung_energy(primitive, repeat):
    q, positions, cell = rock_salt(primitive, repeat)
    # narrow Gaussians (sigma 0.1 A) act as point charges at the 2.82 A ion spacing
    energy = float(ewald(q, positions, cell, cutoff=7.5, sigma=0.1)[0])
    expected = -(len(q) / 2) * MADELUNG_NACL * COULOMB_KCAL_ANGSTROM / (A_NACL / 2)
    assert energy == pytest.approx(expected, rel=2e-6)


def test_cluster_and_periodic_agree_in_large_box():
    """A neutral cluster in a cubic box of side L: Ewald (tin-foil boundary) + 2 pi M^2 / 3V equals the
    vacuum energy up to O(L^-5): doubling L must shrink the gap ~32-fold."""
    rng = np.random.default_rng(0)
    positions = torch.tensor(rng.random((6, 3)) * 4.0)
    q = torch.tensor([0.8, -0.5, 0.3, -0.9, 0.6, -0.3], dtype=torch.float64)
    batch = torch.zeros(6, dtype=torch.long)
    vacuum = float(cluster_energy(q, positions, cluster_pairs([6], [False], q.device), batch, 1, 0.7)[0])
    dipole = (q[:, None] * positions).sum(0)
    gaps = []
    for side in (20.0, 40.0):
        cell = side * torch.eye(3, dtype=torch.float64)
        periodic = float(ewald(q, positions, cell, cutoff=8.0, sigma=0.7)[0])
        correction = COULOMB_KCAL_ANGSTROM * 2 * math.pi * float(dipole @ dipole) / (3 * side**3)
        gaps.append(abs(periodic + correction - vacuum))
    assert gaps[1] < 2e-3 and gaps[1] < gaps[0] / 25


def test_model_cluster_and_periodic_paths_agree():
    """The whole model on a cluster and on the same cluster in a 30 A box: the network and dispersion
    energies and the charges are identical (local), the electrostatics differ by the box terms only."""
    torch.manual_seed(1)
    model = build_model(SMALL).double()
    s = cluster(3)
    boxed = dataclasses.replace(s, cell=30.0 * np.eye(3), pbc=(True, True, True))
    a, b = ({k: v.detach() for k, v in model(batch_of([x], model), compute_forces=False).items()} for x in (s, boxed))
    torch.testing.assert_close(a["charges"], b["charges"])
    torch.testing.assert_close(a["energy_network"], b["energy_network"])
    torch.testing.assert_close(a["energy_dispersion"], b["energy_dispersion"])
    dipole = a["dipole"][0]
    correction = COULOMB_KCAL_ANGSTROM * 2 * math.pi * float(dipole @ dipole) / (3 * 30.0**3)
    assert float(a["energy_electrostatics"][0]) != 0.0
    assert float(b["energy_electrostatics"][0]) + correction == pytest.approx(float(a["energy_electrostatics"][0]),
                                                                           abs=2e-3)


def test_equilibration_matches_constrained_minimum():
    """q minimizes sum chi q + J q^2 / 2 at fixed total charge: compare with the KKT linear system."""
    rng = np.random.default_rng(2)
    chi, hardness = rng.normal(size=7), rng.uniform(0.5, 3.0, size=7)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    totals = torch.tensor([-1.0, 0.5], dtype=torch.float64)
    q = equilibrate(torch.tensor(chi), torch.tensor(hardness), totals, batch).numpy()
    for b, members in enumerate([slice(0, 3), slice(3, 7)]):
        n = len(chi[members])
        kkt = np.zeros((n + 1, n + 1))
        kkt[:n, :n] = np.diag(hardness[members])
        kkt[:n, n] = kkt[n, :n] = 1.0
        solution = np.linalg.solve(kkt, np.concatenate([-chi[members], [totals[b]]]))
        np.testing.assert_allclose(q[members], solution[:n], atol=1e-12)
        assert q[members].sum() == pytest.approx(float(totals[b]), abs=1e-14)


def test_reciprocal_integers_given_as_input_match_the_cells_own():
    """The triples passed in (what a compiled package receives) give the blocked sum's energy and
    gradients (positions and cell), triclinic cell; they are the half set within kmax."""
    rng = np.random.default_rng(4)
    cell = torch.tensor([[9.5, 0.0, 0.0], [1.2, 9.6, 0.0], [-0.8, 0.9, 9.8]], dtype=torch.float64, requires_grad=True)
    positions = (torch.tensor(rng.random((9, 3)), dtype=torch.float64) @ cell.detach()).requires_grad_(True)
    q = torch.tensor(rng.normal(size=9), dtype=torch.float64)
    ewald_parameters = EwaldParameters.from_tolerance(4.5, 1e-6)
    integers = reciprocal_integers(cell, ewald_parameters.kmax)
    assert not bool((integers == 0).all(dim=1).any())
    pairs = torch.cat([integers, -integers]).tolist()
    assert len({tuple(n) for n in pairs}) == len(pairs)  # no n together with -n
    values = []
    for given in (None, integers):
        energy = chunked_reciprocal_sum(q, positions, cell, ewald_parameters, k_chunk=50, integers=given)
        values.append((energy.detach(), *torch.autograd.grad(energy, (positions, cell))))
    for got, want in zip(values[1], values[0]):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("k_chunk", [7, 100000])
def test_chunked_reciprocal_sum_matches_reference(k_chunk):
    """The blocked, checkpointed reciprocal sum equals the shared one-shot sum in value, first and
    second derivatives (charges and positions), for blocks smaller than and larger than K."""
    rng = np.random.default_rng(3)
    cell = torch.tensor([[9.5, 0.0, 0.0], [1.2, 9.6, 0.0], [-0.8, 0.9, 9.8]], dtype=torch.float64)
    positions = torch.tensor(rng.random((9, 3)), dtype=torch.float64) @ cell
    q = torch.tensor(rng.normal(size=9), dtype=torch.float64)
    ewald_parameters = EwaldParameters.from_tolerance(4.5, 1e-6)

    def derivatives(function):
        x, charges = positions.clone().requires_grad_(True), q.clone().requires_grad_(True)
        energy = function(charges, x, cell, ewald_parameters)
        gx, gq = torch.autograd.grad(energy, (x, charges), create_graph=True)
        (hx,) = torch.autograd.grad((gx * gx).sum() + gq.sum(), x)
        return energy.detach(), gx.detach(), gq.detach(), hx

    reference = derivatives(reciprocal_sum)
    chunked = derivatives(lambda *a: chunked_reciprocal_sum(*a, k_chunk=k_chunk))
    assert float(reference[0]) != 0.0
    for got, want in zip(chunked, reference):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
