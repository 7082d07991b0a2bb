"""Molecular dynamics in OpenMM for any force field that gives an ``openmm.System``: topologies,
platforms, integrators, staged runs with checkpoints, resume and blow-up detection."""
