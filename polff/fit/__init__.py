"""Training the GNN parameterizer on QM labels (docs/polff_training.md).

``data`` (label stores -> molecules and dimers), ``seminario`` (bond and angle constants from
Hessians), ``targets`` (per-molecule physics targets), ``losses`` (weighted terms through the
differentiable energy model), ``trainer`` (split, loop, checkpoints, exact resume), ``report``
(metrics, loss curves, validation summary), ``run`` (one run end to end, ensembles).
"""
