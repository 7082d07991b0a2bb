"""QM labels: one HDF5 store for every label set, shared by mlff and polff.

- :mod:`~elyte.labels.store`: the append-only, resumable HDF5 label store
- :mod:`~elyte.labels.structure`: :class:`QMStructure`, one unit of QM work (charge, spin, fragments)
- :mod:`~elyte.labels.engines`: backends behind one interface (GFN2-xTB via tblite, DFT via pyscf /
  gpu4pyscf) and dftd4 properties
- :mod:`~elyte.labels.esp`, :mod:`~elyte.labels.hirshfeld`, :mod:`~elyte.labels.finite_field`,
  :mod:`~elyte.labels.interaction`: charges, polarizabilities and interaction energies
- :mod:`~elyte.labels.sampling`: conformers, normal modes, dimers and clusters to label
- :mod:`~elyte.labels.runner`: parallel, resumable labelling into a store (``elyte-label``)
"""
