"""QM labels: one HDF5 store for every label set, shared by mlff and polff."""
