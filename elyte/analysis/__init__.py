"""Analysis of structures and trajectories (each routine tested on data with a known answer).

One module per job, pure functions on numpy arrays, every property an ``Estimate`` (value, standard
error, unit); see ``docs/analysis.md`` for the estimators, units and references:
``statistics`` (errors of correlated averages), ``density``, ``vaporization``, ``trajectory``
(unwrapping, centres of mass), ``msd`` (FFT MSD, Einstein fits), ``diffusion``, ``conductivity``,
``transference``, ``viscosity``, ``rdf``, ``solvation``.
"""
