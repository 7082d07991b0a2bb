"""Build a model from a configuration mapping (the Hydra entry point of ``configs/model/``)."""

from __future__ import annotations

from collections.abc import Mapping

from mlff.model.config import ModelConfig
from mlff.model.forcefield import ForceField


def build_model(config: Mapping | ModelConfig | None = None, reference_energies: dict[int, float] | None = None,
                **overrides) -> ForceField:
    """A freshly initialized :class:`ForceField` from a config mapping (e.g. ``configs/model/default.yaml``
    through ``hydra.utils.instantiate``, which passes the keys as ``overrides``)."""
    if isinstance(config, ModelConfig):
        config = config.to_dict()
    merged = {**dict(config or {}), **overrides}
    return ForceField(ModelConfig.from_dict(merged), reference_energies)
