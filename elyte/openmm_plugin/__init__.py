"""The project's OpenMM plugins (``csrc/openmm_plugin``): :class:`PolarizationForce`, point charges
plus Thole-damped induced point dipoles with per-pair scale factors, and ``MLFFForce``, a compiled
mlff model package run by libtorch (:func:`load_mlff`, :mod:`mlff.openmm`); Reference and CPU
platforms, with XML serialization.

:func:`load` registers the plugin library with OpenMM (kernels and serialization proxy) and
returns its SWIG module, whose ``PolarizationForce`` is an ``openmm.Force``. OpenMM units: nm,
kJ/mol, e; polarizabilities and damping volumes in nm^3, induced dipoles in e*nm.
"""

from __future__ import annotations

from elyte.openmm_plugin.forces import induced_dipoles, polarization_force
from elyte.openmm_plugin.library import PluginMissing, available, load, load_mlff

__all__ = ["PluginMissing", "available", "induced_dipoles", "load", "load_mlff", "polarization_force"]
