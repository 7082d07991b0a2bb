"""Geometries to label: conformers, normal-mode displacements, dimer scans and clusters cut from MD boxes."""
