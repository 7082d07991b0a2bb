"""Integrators: Langevin (BAOAB, middle scheme) for NVT/NPT, and the same with a cosine-shaped
external acceleration for periodic-perturbation (NEMD) viscosity.

Units at this boundary are OpenMM's (nm, ps, K); the caller converts from its configuration.
"""

from __future__ import annotations

import math

import openmm
import openmm.unit as u


def langevin(temperature_k: float, friction_per_ps: float, timestep_fs: float) -> openmm.Integrator:
    """OpenMM's LangevinMiddleIntegrator."""
    return openmm.LangevinMiddleIntegrator(temperature_k * u.kelvin, friction_per_ps / u.picosecond,
                                           timestep_fs * u.femtosecond)


def cosine_langevin(temperature_k: float, friction_per_ps: float, timestep_fs: float,
                    acceleration_nm_ps2: float, box_z_nm: float) -> openmm.CustomIntegrator:
    """Langevin middle-scheme integrator that adds a_x(z) = A cos(2 pi z / L_z) to every atom.

    The friction also damps the imposed flow: at steady state the velocity amplitude V obeys
    A = (eta k^2 / rho + friction) V, which the viscosity analysis corrects for exactly.
    Global variables: ``A`` (nm/ps^2) and ``kz`` (1/nm) can be changed with setGlobalVariableByName.
    """
    dt = timestep_fs * 1e-3  # ps
    integrator = openmm.CustomIntegrator(dt)
    kT = (u.MOLAR_GAS_CONSTANT_R * temperature_k * u.kelvin).value_in_unit(u.kilojoule_per_mole)
    integrator.addGlobalVariable("a", math.exp(-friction_per_ps * dt))
    integrator.addGlobalVariable("b", math.sqrt(1.0 - math.exp(-2.0 * friction_per_ps * dt)))
    integrator.addGlobalVariable("kT", kT)
    integrator.addGlobalVariable("A", acceleration_nm_ps2)
    integrator.addGlobalVariable("kz", 2.0 * math.pi / box_z_nm)
    integrator.addPerDofVariable("x1", 0.0)
    integrator.addUpdateContextState()
    integrator.addComputePerDof("v", "v + dt*f/m + dt*A*cos(kz*_z(x))*vector(1, 0, 0)")
    integrator.addConstrainVelocities()
    integrator.addComputePerDof("x", "x + 0.5*dt*v")
    integrator.addComputePerDof("v", "a*v + b*sqrt(kT/m)*gaussian")
    integrator.addComputePerDof("x", "x + 0.5*dt*v")
    integrator.addComputePerDof("x1", "x")
    integrator.addConstrainPositions()
    integrator.addComputePerDof("v", "v + (x - x1)/dt")
    return integrator
