"""OpenMM export of the polarizable force field: stock forces for every term they express exactly.

One force group per term (see GROUPS) so energies can be compared term by term. Bonded terms use
HarmonicBond/HarmonicAngle/PeriodicTorsion forces; repulsion, dispersion and charge transfer use
one CustomNonbondedForce together (the fast path: one neighbour list and one pass over the pairs,
all three in the group of 'repulsion') or, with ``split_terms``, one each (the reference, one group
per term), with pairs whose scale is 0 excluded and pairs with another scale (1-4) added back by a
CustomBondForce; charge-charge electrostatics use a NonbondedForce with
exceptions; the induced dipoles use the project's plugin force (:mod:`elyte.openmm_plugin`,
``PolarizationForce``) with the charge-charge energy left to the NonbondedForce, so the two
electrostatic terms keep their own groups.

Units: OpenMM's nm, kJ/mol, ps, converted from the internal units once here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import openmm

from elyte import units
from polff.parameters import MoleculeParameters
from polff.system import MAX_RELATION, bond_distances
from polff.terms.dispersion import DAMPING
from polff.terms.electrostatics import THOLE_A
from polff.terms.repulsion import WALL_SIGMA
from polff.terms.scaling import ScalingRules

NM = units.ANGSTROM_TO_NM  # A -> nm
KJ = units.KCAL_TO_KJ  # kcal/mol -> kJ/mol
GROUPS = {
    "bond": 0, "angle": 1, "proper": 2, "improper": 3, "repulsion": 4, "dispersion": 5,
    "charge_transfer": 6, "electrostatics_permanent": 7, "polarization": 8,
}

_COMBINE = "R=0.5*(R1+R2)"
_PAIR_TERMS = {
    # term: (energy of one pair, per-particle parameters with their factors from internal units, rule)
    "repulsion": (
        f"6*sqrt(eps1*eps2)*exp(sqrt(lamb1*lamb2)*(1-r/R)) + {KJ}*({WALL_SIGMA * NM}/r)^12; {_COMBINE}",
        {"eps": ("eps", KJ), "lamb": ("lamb", 1.0), "R": ("rvdw", NM)},
        "vdw",
    ),
    "dispersion": (
        f"-sqrt(c61*c62)/({DAMPING}*R^6 + r^6); {_COMBINE}",
        {"c6": ("c6", KJ * NM**6), "R": ("rvdw", NM)},
        "vdw",
    ),
    "charge_transfer": (
        f"-sqrt(cte1*cte2)/r^4*exp(-(sqrt(ctl1*ctl2)*r/R)^3); {_COMBINE}",
        {"cte": ("ct_eps", KJ * NM**4), "ctl": ("ct_lamb", 1.0), "R": ("rvdw", NM)},
        "charge_transfer",
    ),
}
# The three terms in one expression, with the combination rules folded into the per-particle
# parameters (square roots of the geometric means' factors, half radii): fewer operations per pair.
_FUSED_REPULSION = f"6*e1*e2*exp(l1*l2*(1-r/R)) + {KJ}*({WALL_SIGMA * NM}/r)^12"
_FUSED_DISPERSION = f"c1*c2/({DAMPING}*R^6 + r^6)"
_FUSED_CT = "t1*t2/r^4*exp(-(k1*k2*r/R)^3)"
_FUSED_PARAMETERS = {  # name: (field, factor from internal units, transform)
    "e": ("eps", KJ, np.sqrt), "l": ("lamb", 1.0, np.sqrt), "c": ("c6", KJ * NM**6, np.sqrt),
    "t": ("ct_eps", KJ * NM**4, np.sqrt), "k": ("ct_lamb", 1.0, np.sqrt), "h": ("rvdw", NM / 2, lambda x: x),
}


def _related_pairs(molecules: Sequence[MoleculeParameters], rules: ScalingRules) -> list[tuple[int, int, int]]:
    """(i, j, relation) of the intramolecular pairs that some non-bonded rule scales (global indices).

    OpenMM's CPU and CUDA platforms need one exclusion list shared by every non-bonded force, so
    each force excludes all of these pairs and adds back the ones its own rule keeps (scale > 0).
    """
    scaled_relations = {
        r for r in range(1, MAX_RELATION + 1)
        if any(getattr(rules, kind)[r] != 1.0 for kind in ("vdw", "charge", "dipole", "charge_transfer"))
    }
    pairs, offset = [], 0
    for m in molecules:
        dist = bond_distances(m.n_atoms, m.bonds)
        for i, j in zip(*np.nonzero(np.triu(dist <= MAX_RELATION, k=1))):
            if int(dist[i, j]) in scaled_relations:
                pairs.append((offset + int(i), offset + int(j), int(dist[i, j])))
        offset += m.n_atoms
    return pairs


def _pair_force(term: str, atom_params, related, rules: ScalingRules, periodic: bool, cutoff: float,
                long_range_correction: bool):
    energy, parameters, rule = _PAIR_TERMS[term]
    scales = getattr(rules, rule)
    force = openmm.CustomNonbondedForce(energy)
    names = list(parameters)
    for name in names:
        force.addPerParticleParameter(name)
    values = np.stack([atom_params[field] * factor for field, factor in parameters.values()], axis=1)
    for row in values:
        force.addParticle(row.tolist())
    # the same pair energy for scaled (1-4) pairs, parameters of both atoms given per bond
    scaled = openmm.CustomBondForce(f"scale*({energy.split(';')[0]}); {_COMBINE}")
    scaled.addPerBondParameter("scale")
    for name in names:
        scaled.addPerBondParameter(f"{name}1")
        scaled.addPerBondParameter(f"{name}2")
    for i, j, relation in related:
        force.addExclusion(i, j)
        if scales[relation] != 0.0:
            scaled.addBond(i, j, [scales[relation]] + [v for k in range(len(names)) for v in (values[i, k], values[j, k])])
    _set_cutoff(force, scaled, periodic, cutoff, long_range_correction and term == "dispersion")
    return [force, scaled] if scaled.getNumBonds() else [force]


def _fused_pair_force(atom_params, related, rules: ScalingRules, periodic: bool, cutoff: float,
                      long_range_correction: bool):
    """Repulsion, dispersion and charge transfer in one CustomNonbondedForce (and one CustomBondForce
    for the scaled pairs, each rule's scale a parameter of the bond)."""
    # step(): OpenMM's long-range correction integrates the expression past the cutoff, where only
    # dispersion belongs (charge transfer with a tiny ct_lamb, as for Li+, decays as 1/r^4 there)
    truncated = f"step({cutoff}-r)*" if periodic else ""
    force = openmm.CustomNonbondedForce(f"{truncated}({_FUSED_REPULSION} - {_FUSED_CT}) - {_FUSED_DISPERSION}; R=h1+h2")
    names = list(_FUSED_PARAMETERS)
    for name in names:
        force.addPerParticleParameter(name)
    values = np.stack([transform(atom_params[field] * factor) for field, factor, transform in _FUSED_PARAMETERS.values()],
                      axis=1)
    for row in values:
        force.addParticle(row.tolist())
    scaled = openmm.CustomBondForce(f"svdw*({_FUSED_REPULSION} - {_FUSED_DISPERSION}) - sct*{_FUSED_CT}; R=h1+h2")
    for name in ("svdw", "sct", *(f"{n}{k}" for n in names for k in (1, 2))):
        scaled.addPerBondParameter(name)
    for i, j, relation in related:
        force.addExclusion(i, j)
        if rules.vdw[relation] != 0.0 or rules.charge_transfer[relation] != 0.0:
            scaled.addBond(i, j, [rules.vdw[relation], rules.charge_transfer[relation]]
                           + [v for k in range(len(names)) for v in (values[i, k], values[j, k])])
    _set_cutoff(force, scaled, periodic, cutoff, long_range_correction)
    return [force, scaled] if scaled.getNumBonds() else [force]


def _set_cutoff(force, scaled, periodic: bool, cutoff: float, long_range_correction: bool) -> None:
    if periodic:
        force.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
        force.setCutoffDistance(cutoff)
        force.setUseLongRangeCorrection(long_range_correction)
        scaled.setUsesPeriodicBoundaryConditions(True)
    else:
        force.setNonbondedMethod(openmm.CustomNonbondedForce.NoCutoff)


def _electrostatics(charges, related, rules: ScalingRules, periodic: bool, cutoff: float, tolerance: float):
    force = openmm.NonbondedForce()
    for q in charges:
        force.addParticle(float(q), 1.0, 0.0)
    for i, j, relation in related:
        force.addException(i, j, rules.charge[relation] * charges[i] * charges[j], 1.0, 0.0)
    if periodic:
        force.setNonbondedMethod(openmm.NonbondedForce.PME)
        force.setCutoffDistance(cutoff)
        force.setEwaldErrorTolerance(tolerance)
    else:
        force.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    return force


def _polarization(atom_params, related, rules: ScalingRules, periodic: bool, cutoff: float, ewald_tolerance: float,
                  tolerance: float, extrapolation: Sequence[float] | None):
    """The plugin's PolarizationForce: induced dipoles only (the charge-charge energy is the
    NonbondedForce's); the permanent field scaled like the charge-charge term, the dipole-dipole
    coupling by its own rule."""
    from elyte.openmm_plugin import polarization_force  # the compiled plugin, loaded on first use

    exceptions = [(i, j, rules.charge[rel], rules.charge[rel], rules.dipole[rel]) for i, j, rel in related]
    force = polarization_force(
        atom_params["charge"], atom_params["alpha"] * NM**3, atom_params["pol_damping"] * NM**3, exceptions,
        thole_a=THOLE_A, cutoff=cutoff if periodic else None, ewald_tolerance=ewald_tolerance,
        tolerance=tolerance * NM, include_charge_charge=False, extrapolation=extrapolation,
    )
    force.setName("polarization")
    return force


def _bonded_forces(molecules: Sequence[MoleculeParameters]) -> dict[str, openmm.Force]:
    bonds, angles = openmm.HarmonicBondForce(), openmm.HarmonicAngleForce()
    torsions = {"proper": openmm.PeriodicTorsionForce(), "improper": openmm.PeriodicTorsionForce()}
    offset = 0
    for m in molecules:
        for (a, b), r0, k in zip(m.bonds, m.bond_length, m.bond_k):
            bonds.addBond(offset + a, offset + b, r0 * NM, k * KJ / NM**2)
        for (a, b, c), theta, k in zip(m.angles, m.angle_theta, m.angle_k):
            angles.addAngle(offset + a, offset + b, offset + c, theta, k * KJ)
        for term, tors in (("proper", m.propers), ("improper", m.impropers)):
            for atoms, k, n, phase in zip(tors.atoms, tors.k, tors.periodicity, tors.phase):
                torsions[term].addTorsion(*(offset + int(a) for a in atoms), int(n), float(phase), k * KJ)
        offset += m.n_atoms
    return {"bond": bonds, "angle": angles, **torsions}


def build_system(
    molecules: Sequence[MoleculeParameters],
    box: np.ndarray | None = None,
    cutoff: float = 10.0,
    rules: ScalingRules | None = None,
    long_range_correction: bool = True,
    ewald_tolerance: float = 5e-5,
    polarization_tolerance: float = 1e-8,
    split_terms: bool = False,
    extrapolation: Sequence[float] | None = None,
) -> openmm.System:
    """An ``openmm.System`` for ``molecules`` (in order), every term of the torch model included.

    ``box``: [3, 3] periodic box vectors in Angstrom (rows), or None for a cluster; ``cutoff`` in
    Angstrom (periodic only), where dispersion gets OpenMM's isotropic long-range correction when
    ``long_range_correction``, and charges and induced dipoles use PME with ``ewald_tolerance``
    (on the Reference platform the dipoles' reciprocal sum is the exact Ewald sum PME approximates). The induced dipoles converge until every atom's residual is below
    ``polarization_tolerance`` (e*A), as in :class:`polff.energy.PolarizableEnergy`. Force groups
    follow GROUPS; the polarization force is named 'polarization'. Repulsion, dispersion and charge
    transfer share one force (and the group of 'repulsion') unless ``split_terms``. ``extrapolation``:
    coefficients of extrapolated polarization (polff.extrapolation) instead of converged dipoles.
    """
    rules = rules or ScalingRules()
    system = openmm.System()
    for m in molecules:
        for mass in m.masses:
            system.addParticle(float(mass))
    periodic = box is not None
    if periodic:
        system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*row) * NM for row in np.asarray(box, float)))
    atom_params = {f: np.concatenate([getattr(m, f) for m in molecules]) for f in
                   ("eps", "lamb", "rvdw", "c6", "ct_eps", "ct_lamb", "charge", "alpha", "pol_damping")}
    related = _related_pairs(molecules, rules)
    forces: list[tuple[str, openmm.Force]] = list(_bonded_forces(molecules).items())
    if split_terms:
        for term in _PAIR_TERMS:
            forces += [(term, f) for f in _pair_force(term, atom_params, related, rules, periodic, cutoff * NM,
                                                      long_range_correction)]
    else:
        forces += [("repulsion", f) for f in _fused_pair_force(atom_params, related, rules, periodic, cutoff * NM,
                                                               long_range_correction)]
    forces.append(("electrostatics_permanent",
                   _electrostatics(atom_params["charge"], related, rules, periodic, cutoff * NM, ewald_tolerance)))
    forces.append(("polarization", _polarization(atom_params, related, rules, periodic, cutoff * NM, ewald_tolerance,
                                                 polarization_tolerance, extrapolation)))
    for term, force in forces:
        force.setForceGroup(GROUPS[term])
        system.addForce(force)
    return system
