"""Hirshfeld atomic charges and volume ratios from a pyscf density: the molecular density shared among
atoms in proportion to spherically averaged free (neutral) atom densities of the same method and basis.

``q_A = Z_A - integral w_A rho`` with ``w_A = rho_A^free(|r - R_A|) / sum_B rho_B^free``, and the
Tkatchenko-Scheffler volume ratio ``V_eff / V_free = integral |r - R_A|^3 w_A rho / integral
|r - R_A|^3 rho_A^free``, integrated on a Becke grid; charges sum to the total charge up to the
grid's integration error.
"""

from __future__ import annotations

import numpy as np

GRID_CHUNK = 4000  # grid points per block of AO values


def free_atom_density_matrices(mol, xc: str) -> dict[str, np.ndarray]:
    """Spherically averaged ground-state density matrix of each element (HF or KS with ``xc``)."""
    from pyscf.scf import atom_hf, atom_ks

    results = atom_hf.get_atm_nrhf(mol) if xc == "hf" else atom_ks.get_atm_nrks(mol, xc=xc)
    return {element: (coeff * occ) @ coeff.T for element, (_, _, coeff, occ) in results.items()}


def hirshfeld(mol, dm: np.ndarray, xc: str, grid_level: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Charges [natm] (e) and volume ratios [natm] of the total density matrix ``dm`` (AO basis of ``mol``)."""
    from pyscf import dft

    free = free_atom_density_matrices(mol, xc)
    grids = dft.gen_grid.Grids(mol)
    grids.level = grid_level
    grids.build()
    slices = mol.aoslice_by_atom()
    symbols = [mol._atom[a][0] for a in range(mol.natm)]  # the keys pyscf's atomic solvers use
    population, moment, free_moment = np.zeros(mol.natm), np.zeros(mol.natm), np.zeros(mol.natm)
    centers = mol.atom_coords()
    for start in range(0, len(grids.weights), GRID_CHUNK):
        coords, weights = grids.coords[start:start + GRID_CHUNK], grids.weights[start:start + GRID_CHUNK]
        ao = dft.numint.eval_ao(mol, coords)
        rho = dft.numint.eval_rho(mol, ao, dm)
        promolecule = np.empty((mol.natm, len(weights)))
        for a in range(mol.natm):
            p0, p1 = slices[a, 2], slices[a, 3]
            promolecule[a] = np.einsum("gi,ij,gj->g", ao[:, p0:p1], free[symbols[a]], ao[:, p0:p1])
        total = promolecule.sum(axis=0)
        share = np.divide(promolecule, total, out=np.zeros_like(promolecule), where=total > 1e-30)
        r3 = np.linalg.norm(coords[None, :, :] - centers[:, None, :], axis=-1) ** 3
        population += share @ (weights * rho)
        moment += (share * r3) @ (weights * rho)
        free_moment += (promolecule * r3) @ weights
    return mol.atom_charges() - population, moment / free_moment
