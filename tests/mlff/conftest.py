"""Fixtures for the mlff tests: a small float64 model (helpers live in random_structures.py)."""

from __future__ import annotations

import pytest
import torch

from mlff.model.build import build_model
from tests.mlff.random_structures import SMALL


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(SMALL).double()
