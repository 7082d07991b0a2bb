"""A fluid of stiff C-H-like diatomics for the integrator tests: their bond vibrates with an 11 fs
period, the fastest motion of a flexible organic molecule."""

from __future__ import annotations

import numpy as np
import openmm
import openmm.app as app
import pytest

from elyte.md.stage import StartState

N_SIDE = 4  # 64 molecules on a cubic grid
SPACING = 0.42  # nm
BOND = (0.109, 2.8e5)  # nm, kJ/mol/nm^2: a C-H stretch
ATOMS = (("C", 12.0, 0.30, 0.40), ("H", 1.0, 0.25, 0.10))  # element, amu, LJ sigma (nm), epsilon (kJ/mol)


@pytest.fixture(scope="session")
def diatomic_fluid() -> tuple[openmm.System, app.Topology, StartState]:
    """(system, topology, start): 64 molecules (C 12 amu, H 1 amu) on a grid in a 1.68 nm periodic box,
    a harmonic bond and Lennard-Jones between molecules (cutoff 0.8 nm)."""
    system, topology = openmm.System(), app.Topology()
    chain = topology.addChain()
    bonds, lj = openmm.HarmonicBondForce(), openmm.NonbondedForce()
    lj.setNonbondedMethod(openmm.NonbondedForce.CutoffPeriodic)
    lj.setCutoffDistance(0.8)
    sites = np.array([(i, j, k) for i in range(N_SIDE) for j in range(N_SIDE) for k in range(N_SIDE)], float)
    positions = []
    for n, site in enumerate((sites + 0.5) * SPACING):
        residue = topology.addResidue("CH", chain)
        atoms = []
        for (symbol, mass, sigma, epsilon), offset in zip(ATOMS, (0.0, BOND[0])):
            system.addParticle(mass)
            lj.addParticle(0.0, sigma, epsilon)
            atoms.append(topology.addAtom(symbol, app.Element.getBySymbol(symbol), residue))
            positions.append(site + np.array([offset, 0.0, 0.0]))
        topology.addBond(*atoms)
        bonds.addBond(2 * n, 2 * n + 1, *BOND)
        lj.addException(2 * n, 2 * n + 1, 0.0, 1.0, 0.0)
    system.addForce(bonds)
    system.addForce(lj)
    length = N_SIDE * SPACING
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) for row in np.eye(3) * length))
    return system, topology, StartState(np.array(positions) * 10.0, np.eye(3) * length * 10.0)

