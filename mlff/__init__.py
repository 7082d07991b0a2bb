"""mlff: the equivariant machine-learned force field (model, data, training, export)."""
