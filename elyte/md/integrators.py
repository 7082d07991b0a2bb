"""Integrators: Langevin (BAOAB, middle scheme) for NVT/NPT, its multiple-time-step form (bonded
forces on an inner step, everything else on the outer one), and Langevin with a cosine-shaped
external acceleration for periodic-perturbation (NEMD) viscosity, with or without multiple time stepping.

Units at this boundary are OpenMM's (nm, ps, K); the caller converts from its configuration.
"""

from __future__ import annotations

import copy
import logging
import math

import openmm
import openmm.unit as u
from openmm.mtsintegrator import MTSLangevinIntegrator

log = logging.getLogger(__name__)
# Forces between atoms a few bonds apart, cheap and fast-varying: the inner step of multiple time
# stepping. Every other force (nonbonded, polarization) goes on the outer step.
BONDED_FORCES = (openmm.HarmonicBondForce, openmm.HarmonicAngleForce, openmm.PeriodicTorsionForce,
                 openmm.RBTorsionForce, openmm.CMAPTorsionForce, openmm.CustomBondForce, openmm.CustomAngleForce,
                 openmm.CustomTorsionForce, openmm.CustomCompoundBondForce)
SLOW_GROUP, FAST_GROUP = 30, 31


def langevin(temperature_k: float, friction_per_ps: float, timestep_fs: float) -> openmm.Integrator:
    """OpenMM's LangevinMiddleIntegrator."""
    return openmm.LangevinMiddleIntegrator(temperature_k * u.kelvin, friction_per_ps / u.picosecond,
                                           timestep_fs * u.femtosecond)


def split_time_scales(system: openmm.System) -> openmm.System:
    """A copy of ``system`` with its bonded forces (BONDED_FORCES) in FAST_GROUP and every other force
    in SLOW_GROUP, for :func:`mts_langevin`. A system without bonded forces (an ML force field is one
    force) goes whole into FAST_GROUP: it then runs on the inner step. The copy loses the original's
    per-term force groups."""
    split = copy.deepcopy(system)
    forces = [split.getForce(k) for k in range(split.getNumForces())]
    bonded = [isinstance(f, BONDED_FORCES) for f in forces]
    whole = not any(bonded)
    if whole:
        log.info("no bonded forces to split off: every force on the inner step of multiple time stepping")
    for force, fast in zip(forces, bonded):
        force.setForceGroup(FAST_GROUP if fast or whole else SLOW_GROUP)
    return split


def mts_langevin(temperature_k: float, friction_per_ps: float, timestep_fs: float,
                 inner_steps: int) -> openmm.CustomIntegrator:
    """BAOAB-RESPA Langevin (OpenMM's MTSLangevinIntegrator) for a system split by
    :func:`split_time_scales`: the slow forces once per ``timestep_fs`` (the outer step), the bonded ones
    ``inner_steps`` times, the thermostat on the inner step. Temperature: global variable ``kT``."""
    return MTSLangevinIntegrator(temperature_k * u.kelvin, friction_per_ps / u.picosecond,
                                 timestep_fs * u.femtosecond, [(SLOW_GROUP, 1), (FAST_GROUP, inner_steps)])


def cosine_langevin(temperature_k: float, friction_per_ps: float, timestep_fs: float,
                    acceleration_nm_ps2: float, box_z_nm: float, inner_steps: int = 1) -> openmm.CustomIntegrator:
    """Langevin integrator that adds a_x(z) = A cos(2 pi z / L_z) to every atom: the middle scheme, or
    with ``inner_steps`` > 1 BAOAB-RESPA as :func:`mts_langevin` (a system split by
    :func:`split_time_scales`; the acceleration joins the slow forces on the outer step).

    The friction also damps the imposed flow: at steady state the velocity amplitude V obeys
    A = (eta k^2 / rho + friction) V, which the viscosity analysis corrects for exactly.
    Global variables: ``A`` (nm/ps^2) and ``kz`` (1/nm) can be changed with setGlobalVariableByName.
    """
    dt = timestep_fs * 1e-3  # ps
    inner = dt / inner_steps
    integrator = openmm.CustomIntegrator(dt)
    kT = (u.MOLAR_GAS_CONSTANT_R * temperature_k * u.kelvin).value_in_unit(u.kilojoule_per_mole)
    integrator.addGlobalVariable("a", math.exp(-friction_per_ps * inner))
    integrator.addGlobalVariable("b", math.sqrt(1.0 - math.exp(-2.0 * friction_per_ps * inner)))
    integrator.addGlobalVariable("kT", kT)
    integrator.addGlobalVariable("A", acceleration_nm_ps2)
    integrator.addGlobalVariable("kz", 2.0 * math.pi / box_z_nm)
    integrator.addPerDofVariable("x1", 0.0)
    integrator.addUpdateContextState()
    push = "A*cos(kz*_z(x))*vector(1, 0, 0)"
    if inner_steps == 1:
        integrator.addComputePerDof("v", f"v + dt*f/m + dt*{push}")
        integrator.addConstrainVelocities()
        _drift_thermostat_drift(integrator, "dt")
        return integrator
    fast, h = f"f{FAST_GROUP}", f"(dt/{inner_steps})"

    def slow_kick() -> None:  # a force group's f<k> cannot share an expression with vector functions
        integrator.addComputePerDof("v", f"v + 0.5*dt*f{SLOW_GROUP}/m")
        integrator.addComputePerDof("v", f"v + 0.5*dt*{push}")

    slow_kick()
    for _ in range(inner_steps):
        integrator.addComputePerDof("v", f"v + 0.5*{h}*{fast}/m")
        _drift_thermostat_drift(integrator, h)
        integrator.addConstrainVelocities()
        integrator.addComputePerDof("v", f"v + 0.5*{h}*{fast}/m")
    slow_kick()
    integrator.addConstrainVelocities()
    return integrator


def _drift_thermostat_drift(integrator: openmm.CustomIntegrator, step: str) -> None:
    """Half a drift, the Ornstein-Uhlenbeck velocity update (globals ``a``, ``b``, ``kT``), half a
    drift, constraints, over a step of ``step`` (an expression in ps)."""
    integrator.addComputePerDof("x", f"x + 0.5*{step}*v")
    integrator.addComputePerDof("v", "a*v + b*sqrt(kT/m)*gaussian")
    integrator.addComputePerDof("x", f"x + 0.5*{step}*v")
    integrator.addComputePerDof("x1", "x")
    integrator.addConstrainPositions()
    integrator.addComputePerDof("v", f"v + (x - x1)/{step}")
