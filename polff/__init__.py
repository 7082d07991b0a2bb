"""polff: the GNN-parameterized polarizable classical force field."""
