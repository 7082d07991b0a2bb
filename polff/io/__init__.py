"""Import and export of force-field parameter files (GROMACS itp, ByteFF-Pol json)."""
