"""Model configuration: one dataclass tree, built from a plain mapping (a Hydra config) and back.

Lengths in Angstrom. Unknown keys and invalid values raise with the name of the offending key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

from elyte.elements import atomic_number, covalent_radius


class ConfigError(ValueError):
    """A model configuration that cannot build a model."""


@dataclass
class ChargeConfig:
    """Learned charges by charge equilibration (electronegativity and hardness per atom)."""

    enabled: bool = True
    min_hardness: float = 0.1  # floor of the predicted hardness (network units), keeps the solve well posed


@dataclass
class ElectrostaticsConfig:
    """Coulomb energy of the learned charges, smeared as Gaussians of width ``gaussian_width`` (A).

    Clusters: sum over all pairs. Periodic boxes: Ewald, real space to the model's ``long_cutoff``.
    """

    enabled: bool = True
    gaussian_width: float = 0.7  # A; pair kernel erf(r / (2 sigma)) / r
    ewald_tolerance: float = 1e-6


@dataclass
class DispersionConfig:
    """D3-like pairwise C6 dispersion with Becke-Johnson damping, switched off smoothly at ``long_cutoff``."""

    enabled: bool = True
    trainable: bool = False  # learn per-element C6 and radii, starting from the table
    s6: float = 1.0
    a1: float = 0.4
    a2: float = 2.5  # A
    switch_width: float = 1.5  # A: the switch runs from long_cutoff - switch_width to long_cutoff


@dataclass
class RepulsionConfig:
    """ZBL screened nuclear repulsion (off for model files written before the term existed, on in
    configs/model/default.yaml). ``covalent_scale``: each pair's repulsion vanishes at that multiple of
    the sum of the two covalent radii, so it acts only below bonding distances; ``None`` (the default,
    and every model file before 2026-12-07) lets it reach the message-passing cutoff, where its tail adds
    1-3 kcal/mol per intermolecular contact in a liquid that the network has to cancel."""

    enabled: bool = False
    covalent_scale: float | None = None


@dataclass
class ModelConfig:
    """Architecture of the equivariant network and its physics terms."""

    elements: list[int] = field(default_factory=list)  # atomic numbers (symbols accepted on input)
    cutoff: float = 5.0  # A, message passing
    long_cutoff: float = 8.0  # A, Ewald real space and dispersion
    features: int = 64
    layers: int = 3
    lmax: int = 2  # 1: scalars + vectors; 2: + traceless symmetric rank-2 tensors
    radial_basis: str = "bessel"  # or "gaussian"
    n_radial: int = 8
    envelope_exponent: int = 6
    avg_num_neighbors: float = 20.0  # message sums are divided by this
    readout_hidden: int = 64
    charges: ChargeConfig = field(default_factory=ChargeConfig)
    electrostatics: ElectrostaticsConfig = field(default_factory=ElectrostaticsConfig)
    dispersion: DispersionConfig = field(default_factory=DispersionConfig)
    repulsion: RepulsionConfig = field(default_factory=RepulsionConfig)

    @classmethod
    def from_dict(cls, data: Mapping) -> ModelConfig:
        data = {k: v for k, v in dict(data).items() if not str(k).startswith("_")}  # drop Hydra's _target_ etc.
        nested = {"charges": ChargeConfig, "electrostatics": ElectrostaticsConfig, "dispersion": DispersionConfig,
                  "repulsion": RepulsionConfig}
        kwargs = {}
        for key, value in data.items():
            if key in nested:
                kwargs[key] = _section(nested[key], value, key)
            else:
                kwargs[key] = value
        _check_keys(cls, kwargs, "model")
        config = cls(**kwargs)
        config.validate()
        return config

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        try:
            self.elements = sorted({atomic_number(e) for e in self.elements})
        except ValueError as err:
            raise ConfigError(f"model.elements: {err}") from err
        if not self.elements:
            raise ConfigError("model.elements is empty: list the elements the model is built for, e.g. [H, C, O]")
        if not 0 < self.cutoff <= self.long_cutoff:
            raise ConfigError(f"need 0 < cutoff ({self.cutoff}) <= long_cutoff ({self.long_cutoff}) (Angstrom)")
        if self.lmax not in (1, 2):
            raise ConfigError(f"model.lmax must be 1 or 2, got {self.lmax}")
        if self.radial_basis not in ("bessel", "gaussian"):
            raise ConfigError(f"model.radial_basis must be 'bessel' or 'gaussian', got {self.radial_basis!r}")
        if self.electrostatics.enabled and not self.charges.enabled:
            raise ConfigError(
                "electrostatics needs learned charges: set charges.enabled=true or disable electrostatics"
            )
        width = 2.0 * self.electrostatics.gaussian_width
        if self.electrostatics.enabled and math.erfc(self.long_cutoff / width) > self.electrostatics.ewald_tolerance:
            raise ConfigError(
                f"electrostatics.gaussian_width {self.electrostatics.gaussian_width} A is too wide for long_cutoff "
                f"{self.long_cutoff} A: the smearing correction would be cut off; narrow it or lengthen long_cutoff"
            )
        scale = self.repulsion.covalent_scale
        if scale is not None and not 0 < 2 * scale * max(covalent_radius(z) for z in self.elements) <= self.cutoff:
            raise ConfigError(f"repulsion.covalent_scale must be > 0 and keep every pair's reach within the cutoff "
                              f"({self.cutoff} A), got {scale}")
        if self.dispersion.enabled and not 0 < self.dispersion.switch_width <= self.long_cutoff:
            width = self.dispersion.switch_width
            raise ConfigError(f"dispersion.switch_width must lie in (0, long_cutoff], got {width}")


def _section(cls, value, name: str):
    if isinstance(value, cls):
        return value
    value = dict(value or {})
    _check_keys(cls, value, name)
    return cls(**value)


def _check_keys(cls, values: Mapping, name: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {name} config; known: {sorted(known)}")
