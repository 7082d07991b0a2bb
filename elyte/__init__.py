"""elyte: the shared core of the electrolyte force-field toolkit.

Units inside every model and energy term: Angstrom, kcal/mol, elementary charge, amu, fs
(see :mod:`elyte.units`). ``mlff`` and ``polff`` build on this package and never import each other.
"""

__version__ = "0.1.0"
