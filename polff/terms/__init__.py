"""Energy terms of the polarizable force field, one module per term (torch; Angstrom, kcal/mol, e)."""
