"""Dispersion: the pair energy against the written formula, the D2 table units, the smooth switch."""

from __future__ import annotations

import math

import pytest
import torch

from mlff.model.config import DispersionConfig
from mlff.model.dispersion import Dispersion
from mlff.model.radial import smooth_switch


def pair_energy(module, species, r):
    edges = torch.tensor([[0, 1], [1, 0]])
    distances = torch.tensor([r, r], dtype=torch.float64)
    return float(module(torch.tensor(species), edges, distances, torch.zeros(2, dtype=torch.long), 1)[0])


def test_pair_energy_matches_formula():
    config = DispersionConfig(s6=0.8, a1=0.4, a2=2.5, switch_width=1.5)
    module = Dispersion([1, 8], config, cutoff=8.0).double()
    c6 = math.sqrt(0.14 * 0.70) * 1e-3 / 4.184 * 1e6  # J nm^6/mol -> kcal/mol A^6
    radius = 0.4 * (1.001 + 1.342) + 2.5
    for r in (2.0, 3.5, 6.0):
        assert pair_energy(module, [0, 1], r) == pytest.approx(-0.8 * c6 / (r**6 + radius**6), rel=1e-6)  # table stored in float32 at build
    halfway = -0.8 * c6 / (7.25**6 + radius**6) * 0.5  # the switch is 1/2 midway through its width
    assert pair_energy(module, [0, 1], 7.25) == pytest.approx(halfway, rel=1e-6)  # table stored in float32 at build
    assert pair_energy(module, [0, 1], 8.0) == 0.0


def test_switch_is_smooth_and_bounded():
    r = torch.tensor([5.0, 6.5, 7.0, 7.25, 7.9, 8.0, 9.0], dtype=torch.float64, requires_grad=True)
    s = smooth_switch(r, 6.5, 8.0)
    (ds,) = torch.autograd.grad(s.sum(), r, create_graph=True)
    (d2s,) = torch.autograd.grad(ds.sum(), r)
    torch.testing.assert_close(s[[0, 1, 3, 5, 6]].detach(), torch.tensor([1.0, 1.0, 0.5, 0.0, 0.0], dtype=torch.float64))
    assert bool((ds[2:5] < 0).all())
    # value, slope and curvature continuous where the switch starts and ends
    torch.testing.assert_close(ds[[1, 5]].detach(), torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(d2s[[1, 5]], torch.zeros(2, dtype=torch.float64))


def test_trainable_dispersion_has_parameters():
    module = Dispersion([1, 6], DispersionConfig(trainable=True), cutoff=8.0)
    assert {name for name, _ in module.named_parameters()} == {"log_c6", "log_r0"}
