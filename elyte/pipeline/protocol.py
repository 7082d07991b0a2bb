"""Protocols: the sequence of MD stages that turns a packed box into property-ready trajectories.

minimize -> heat (NVT ramp) -> NPT equilibration -> NPT production (density, enthalpy) -> NVT at the
mean production volume (transport: MSD, conductivity) -> optional cosine NEMD (viscosity); plus
gas-phase NVT of single molecules for the heat of vaporization. An MD stage's length is ``ps`` of
simulated time (or ``steps`` of ``timestep``; not both), so that changing the time step or turning on
multiple time stepping keeps every stage's duration; ``ps`` is rounded to whole ``report_every``
intervals. A stage of 0 steps or ps is left out; ``minimize`` takes ``steps`` (iterations).
Config (``configs/protocol/*.yaml``) units: fs, K, bar, 1/ps, nm/ps^2. ``inner_steps`` > 1 turns on
multiple time stepping: ``timestep`` is then the outer step of the nonbonded (and polarization) forces
and the bonded forces are evaluated ``inner_steps`` times per step (:func:`elyte.md.integrators.mts_langevin`;
the NEMD stage's :func:`elyte.md.integrators.cosine_langevin` likewise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from elyte.errors import InputError
from elyte.md.stage import Stage

LIQUID_STAGES = ("minimize", "heat", "npt_equilibration", "npt_production", "nvt_transport", "nemd")


@dataclass(frozen=True)
class Protocol:
    """Stage settings per name (``stages``) and shared MD settings."""

    name: str
    stages: Mapping[str, Mapping]
    timestep: float = 1.0
    inner_steps: int = 1
    hydrogen_mass: float | None = None
    friction: float = 1.0
    barostat_every: int = 25
    segment_steps: int = 10000
    gas: Mapping | None = None

    @classmethod
    def from_config(cls, cfg: Mapping) -> Protocol:
        cfg = dict(cfg)
        unknown = set(cfg["stages"]) - set(LIQUID_STAGES)
        if unknown:
            raise InputError(f"protocol {cfg.get('name')}: unknown stages {sorted(unknown)}; known: {LIQUID_STAGES}")
        return cls(name=str(cfg["name"]), stages={k: dict(v) for k, v in cfg["stages"].items()},
                   timestep=float(cfg.get("timestep", 1.0)), inner_steps=int(cfg.get("inner_steps", 1)),
                   hydrogen_mass=None if cfg.get("hydrogen_mass") is None else float(cfg["hydrogen_mass"]),
                   friction=float(cfg.get("friction", 1.0)),
                   barostat_every=int(cfg.get("barostat_every", 25)),
                   segment_steps=int(cfg.get("segment_steps", 10000)),
                   gas=dict(cfg["gas"]) if cfg.get("gas") else None)

    def steps(self, where: str, settings: Mapping, ps_key: str = "ps", steps_key: str = "steps") -> int:
        """The steps of ``settings`` (a stage's, or the gas phase's): ``steps_key`` as given, or
        ``ps_key`` picoseconds in steps of ``timestep`` rounded to whole report intervals."""
        if ps_key in settings and steps_key in settings:
            raise InputError(f"protocol {self.name}, {where}: give {ps_key} or {steps_key}, not both")
        if ps_key not in settings:
            return int(settings.get(steps_key) or 0)
        ps, report_every = float(settings[ps_key]), int(settings.get("report_every", 100))
        if ps <= 0:
            return 0
        return max(1, round(ps * 1000.0 / self.timestep / report_every)) * report_every

    def _stage(self, name: str, kind: str, settings: Mapping, temperature: float, pressure: float) -> Stage:
        settings = dict(settings)
        if kind != "minimize":
            settings["steps"] = self.steps(name, settings)
            settings.pop("ps", None)
        report_every = int(settings.pop("report_every", 100))
        segment = max(report_every, self.segment_steps // report_every * report_every)
        return Stage(name=name, kind=kind, temperature=temperature, pressure=pressure, timestep=self.timestep,
                     inner_steps=self.inner_steps, hydrogen_mass=self.hydrogen_mass,
                     friction=float(settings.pop("friction", self.friction)), barostat_every=self.barostat_every,
                     report_every=report_every, segment_steps=segment, **settings)

    def liquid(self, temperature: float, pressure: float) -> list[Stage]:
        """The liquid stages at ``temperature`` (K) and ``pressure`` (bar), in order, without empty ones."""
        kinds = {"minimize": "minimize", "heat": "nvt", "npt_equilibration": "npt", "npt_production": "npt",
                 "nvt_transport": "nvt", "nemd": "nemd"}
        stages = []
        for name in LIQUID_STAGES:
            settings = dict(self.stages.get(name) or {})
            if not (settings.get("steps") if name == "minimize" else self.steps(name, settings)):
                continue
            if name == "heat":
                settings.setdefault("temperature_start", min(50.0, temperature))
            stages.append(self._stage(name, kinds[name], settings, temperature, pressure))
        return stages

    def gas_stages(self, temperature: float) -> list[Stage]:
        """Single molecule in vacuum: equilibration then production NVT (no barostat, no box)."""
        if not self.gas or not self.steps("gas", self.gas):
            return []
        g = dict(self.gas)
        equilibration = self.steps("gas", g, "equilibration_ps", "equilibration_steps")
        for key in ("equilibration_ps", "equilibration_steps"):
            g.pop(key, None)
        stages = [self._stage("gas_minimize", "minimize", {"steps": 200}, temperature, 1.0)]
        if equilibration:
            settings = {key: value for key, value in g.items() if key not in ("ps", "steps")}
            stages.append(self._stage("gas_equilibration", "nvt", {**settings, "steps": equilibration}, temperature, 1.0))
        stages.append(self._stage("gas_production", "nvt", g, temperature, 1.0))
        return stages
