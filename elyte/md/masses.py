"""Hydrogen mass repartitioning: heavier hydrogens, lighter partners, same total mass per molecule.

The fastest motions of a flexible molecule are its X-H stretches (C-H: 11 fs); raising the hydrogen
mass slows them (C-H at 3 amu: 18 fs) so that a 2 fs step integrates them as 1 fs does without.
Masses do not enter the configurational distribution, so densities, energies and structure are
those of the original masses; dynamics change a little (molecular rotation is slower), so transport
properties are best computed with the true masses.
"""

from __future__ import annotations

import copy

import numpy as np
import openmm
import openmm.app as app

from elyte.errors import InputError


def repartition_hydrogen_mass(system: openmm.System, topology: app.Topology, hydrogen_mass: float) -> openmm.System:
    """A copy of ``system`` in which every hydrogen bonded to a heavier atom weighs ``hydrogen_mass``
    (amu), the difference taken from that partner. Hydrogens already at least that heavy, and atoms
    with no hydrogen, keep their mass."""
    masses = np.array([system.getParticleMass(i).value_in_unit(openmm.unit.dalton)
                       for i in range(system.getNumParticles())])
    new = masses.copy()
    atoms = list(topology.atoms())
    for a, b in topology.bonds():
        for hydrogen, partner in ((a, b), (b, a)):
            if hydrogen.element is not app.element.hydrogen or partner.element is app.element.hydrogen:
                continue
            shift = hydrogen_mass - masses[hydrogen.index]
            if shift > 0:
                new[hydrogen.index] += shift
                new[partner.index] -= shift
    light = np.flatnonzero((new < masses) & (new < hydrogen_mass))  # partners that gave too much
    if len(light):
        k = light[0]
        raise InputError(f"hydrogen mass repartitioning to {hydrogen_mass} amu leaves atom {k} "
                         f"({atoms[k].element.symbol}, residue {atoms[k].residue.name}) with {new[k]:.2f} amu, "
                         "lighter than its hydrogens; use a smaller hydrogen_mass")
    split = copy.deepcopy(system)
    for i in np.flatnonzero(new != masses):
        split.setParticleMass(int(i), float(new[i]))
    return split
