"""Conveniences around :class:`PolarizationForce`: build one from arrays, read the induced dipoles.

OpenMM units: charges e, polarizabilities and damping volumes nm^3, cutoff nm, dipoles e*nm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import openmm

from elyte.openmm_plugin.library import load


def polarization_force(
    charges: np.ndarray,
    polarizabilities: np.ndarray,
    damping_volumes: np.ndarray,
    exceptions: Iterable[tuple[int, int, float, float, float]] = (),
    thole_a: float = 0.39,
    cutoff: float | None = None,
    method: str = "pme",
    ewald_tolerance: float = 5e-4,
    tolerance: float = 1e-9,
    max_iterations: int = 500,
    include_charge_charge: bool = True,
    extrapolation: Sequence[float] | None = None,
):
    """A PolarizationForce: NoCutoff when ``cutoff`` is None, else periodic with that cutoff (nm)
    and ``method`` 'pme' (smooth PME on the CPU platform; the exact Ewald sum on Reference) or
    'ewald' (the explicit k-space sum everywhere).

    ``exceptions``: (i, j, charge-charge scale, permanent-field scale, dipole-dipole scale);
    ``tolerance``: largest per-atom residual of the induced dipoles (e*nm); ``extrapolation``:
    coefficients c_0..c_n of extrapolated polarization instead of converged (mutual) dipoles.
    """
    plugin = load()
    charges, polarizabilities, damping_volumes = (np.asarray(a, dtype=float) for a in
                                                  (charges, polarizabilities, damping_volumes))
    if not charges.shape == polarizabilities.shape == damping_volumes.shape or charges.ndim != 1:
        raise ValueError("charges, polarizabilities and damping_volumes must be 1-D arrays of one length")
    force = plugin.PolarizationForce()
    for q, alpha, damping in zip(charges, polarizabilities, damping_volumes):
        force.addParticle(float(q), float(alpha), float(damping))
    for i, j, charge_scale, field_scale, dipole_scale in exceptions:
        force.addException(int(i), int(j), float(charge_scale), float(field_scale), float(dipole_scale))
    force.setTholeA(thole_a)
    if cutoff is None:
        force.setNonbondedMethod(plugin.PolarizationForce.NoCutoff)
    else:
        methods = {"pme": plugin.PolarizationForce.PME, "ewald": plugin.PolarizationForce.Ewald}
        if method not in methods:
            raise ValueError(f"method must be 'pme' or 'ewald', got {method!r}")
        force.setNonbondedMethod(methods[method])
        force.setCutoffDistance(cutoff)
        force.setEwaldErrorTolerance(ewald_tolerance)
    force.setMutualInducedTolerance(tolerance)
    force.setMutualInducedMaxIterations(max_iterations)
    force.setIncludeChargeChargeEnergy(include_charge_charge)
    if extrapolation is not None:
        force.setPolarizationType(plugin.PolarizationForce.Extrapolated)
        force.setExtrapolationCoefficients([float(c) for c in extrapolation])
    return force


def induced_dipoles(context: openmm.Context, force=None) -> np.ndarray:
    """[N, 3] induced dipoles (e*nm) at the context's positions, from ``force`` or the first
    PolarizationForce in the context's System."""
    plugin = load()
    if force is None:
        system = context.getSystem()
        matches = [f for f in system.getForces() if plugin.PolarizationForce.isinstance(f)]
        if not matches:
            raise ValueError("the context's System has no PolarizationForce; add one (polarization_force)")
        force = plugin.PolarizationForce.cast(matches[0])
    return np.array([[v.x, v.y, v.z] for v in force.getInducedDipoles(context)])
