"""Analysis of structures and trajectories (each routine tested on data with a known answer)."""
