"""ZBL nuclear repulsion: each pair once with the ZBL formula and the envelope, a wall at short range,
zero with zero slope at the cutoff or at the pair's covalent reach; old model configs (no key) keep it
off, and those without covalent_scale keep the cutoff."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from elyte.elements import covalent_radius
from elyte.units import COULOMB_KCAL_ANGSTROM
from mlff.model.config import ModelConfig
from mlff.model.repulsion import ZBLRepulsion


def _pair_energy(z1: int, z2: int, r: torch.Tensor, cutoff: float = 5.0, covalent_scale: float | None = None
                 ) -> torch.Tensor:
    repulsion = ZBLRepulsion(sorted({z1, z2}), cutoff, 6, covalent_scale).double()
    species = torch.tensor([sorted({z1, z2}).index(z1), sorted({z1, z2}).index(z2)])
    edges = torch.tensor([[0, 1], [1, 0]])
    return torch.stack([repulsion(species, edges, torch.stack([d, d]), torch.zeros(2, dtype=torch.long), 1)[0]
                        for d in r])


def test_pair_energy_is_the_zbl_formula_counted_once():
    r = torch.tensor([0.5, 1.0, 1.8, 3.0], dtype=torch.float64)
    a = 0.46850 / (3**0.23 + 8**0.23)
    x = r.numpy() / a
    phi = (0.18175 * np.exp(-3.19980 * x) + 0.50986 * np.exp(-0.94229 * x) + 0.28022 * np.exp(-0.40290 * x)
           + 0.02817 * np.exp(-0.20162 * x))
    d = r.numpy() / 5.0
    envelope = 1 - 28 * d**6 + 48 * d**7 - 21 * d**8
    expected = COULOMB_KCAL_ANGSTROM * 24 / r.numpy() * phi * envelope
    np.testing.assert_allclose(_pair_energy(3, 8, r).numpy(), expected, rtol=1e-12)
    assert 200 < float(_pair_energy(3, 8, torch.tensor([1.0], dtype=torch.float64))[0]) < 300  # Li-O wall


def test_repulsion_decreases_and_vanishes_smoothly_at_the_cutoff():
    r = torch.linspace(0.3, 5.2, 200, dtype=torch.float64, requires_grad=True)
    energy = _pair_energy(1, 6, r)
    (force,) = torch.autograd.grad(energy.sum(), r)
    assert bool((force[r.detach() < 5.0] < 0).all())  # dE/dr < 0: repulsive everywhere inside
    assert float(energy[r.detach() >= 5.0].abs().max()) == 0.0
    points = torch.tensor([4.0, 4.999], dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(_pair_energy(1, 6, points).sum(), points)
    assert abs(float(slope[1])) < 1e-4 * abs(float(slope[0]))  # value and slope vanish at the cutoff


def test_covalent_reach_keeps_the_wall_and_drops_the_tail():
    reach = covalent_radius(3) + covalent_radius(8)  # Li-O: 1.94 A
    r = torch.tensor([1.0, 0.99 * reach, reach, 2.5, 3.0], dtype=torch.float64)
    energy = _pair_energy(3, 8, r, covalent_scale=1.0)
    d = 1.0 / reach
    envelope = 1 - 28 * d**6 + 48 * d**7 - 21 * d**8
    assert float(energy[0]) == pytest.approx(float(_pair_energy(3, 8, r[:1], cutoff=1e9)[0]) * envelope, rel=1e-9)
    assert 150 < float(energy[0]) < 260  # still a wall at 1 A
    assert 0 < float(energy[1]) < 1e-2 and float(energy[2:].abs().max()) == 0.0  # nothing at contact distances
    assert float(_pair_energy(3, 8, r, covalent_scale=None)[3]) > 4.0  # the cutoff-wide tail it replaces
    with pytest.raises(ValueError, match="covalent_scale"):
        ModelConfig.from_dict({"elements": [1, 3], "repulsion": {"enabled": True, "covalent_scale": 2.5}})


def test_model_files_without_the_key_keep_it_off():
    assert not ModelConfig.from_dict({"elements": [1, 8]}).repulsion.enabled
    assert ModelConfig.from_dict({"elements": [1, 8], "repulsion": {"enabled": True}}).repulsion.enabled
    assert ModelConfig.from_dict({"elements": [1, 8], "repulsion": {"enabled": True}}).repulsion.covalent_scale is None
    assert math.isclose(COULOMB_KCAL_ANGSTROM, 332.06, rel_tol=1e-3)
    with pytest.raises(ValueError, match="unknown key"):
        ModelConfig.from_dict({"elements": [1, 8], "repulsion": {"on": True}})
