"""DFT (and HF) through pyscf with density fitting; gpu4pyscf takes over when it is importable and a
CUDA device exists (the same code path: ``mf.to_gpu()``, arrays brought back with :func:`_host`).

Default level: wB97X-D4/def2-SVPD (range-separated hybrid, diffuse functions for anions and
non-covalent contacts; the D4 dispersion from dftd4 is added to energy and forces). ``xc='hf'``
gives Hartree-Fock. Serves energy, forces, dipole, Mulliken, Hirshfeld and ESP-fitted charges, the ESP on a
grid, finite-field polarizability, the Casimir-Polder C6 of small closed-shell species (linear
response, :mod:`elyte.labels.casimir_polder`), dftd4 properties; ghost atoms (counterpoise) are supported.
"""

from __future__ import annotations

import importlib.util

from collections.abc import Collection

import numpy as np

from elyte.labels import esp
from elyte.labels.casimir_polder import casimir_polder_c6, response_spectrum
from elyte.labels.engines.base import BackendError, check_requests, require
from elyte.labels.engines.d4 import d4_dispersion, d4_properties
from elyte.labels.finite_field import polarizability
from elyte.labels.hirshfeld import hirshfeld
from elyte.labels.structure import QMStructure
from elyte.labels.symmetry import classes_from_geometry
from elyte.units import (
    ANGSTROM_TO_BOHR,
    BOHR_TO_ANGSTROM,
    HARTREE_BOHR6_TO_KCAL_ANGSTROM6,
    HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM,
    HARTREE_TO_KCAL,
)

ESP_CHUNK = 256  # grid points per batch of potential integrals (memory ~ chunk * nao^2 doubles)


def gpu_available() -> bool:
    """True when gpu4pyscf imports and a CUDA device is visible."""
    try:
        import cupy

        return importlib.util.find_spec("gpu4pyscf") is not None and cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # not installed, or no driver / device
        return False


def _host(x) -> np.ndarray:
    """A numpy copy of a numpy or cupy array."""
    return x.get() if type(x).__module__.startswith("cupy") else np.asarray(x)


class PySCFBackend:
    """Kohn-Sham DFT / HF. ``dispersion``: ``"d4"`` (D4 parameters of ``xc``), a dftd4 functional name or ``None``;
    ``resp_restraint`` in atomic units (RESP's 0.0005) scaled internally; ``field_step`` in a.u."""

    supported = frozenset({"energy", "forces", "dipole", "charges_mulliken", "charges_esp", "charges_hirshfeld",
                           "esp", "polarizability", "molecular_c6", "dftd4"})
    ghost_atoms = True

    def __init__(self, xc: str = "wb97x", basis: str = "def2-svpd", dispersion: str | None = "d4",
                 density_fit: bool = True, auxbasis: str | None = None, grid_level: int = 3,
                 conv_tol: float = 1e-10, max_cycle: int = 100, gpu: str | bool = "auto",
                 resp_restraint: float = 0.0005, field_step: float = 1e-3, max_memory_mb: int = 4000):
        self.xc, self.basis = xc.lower(), basis.lower()
        if dispersion in (None, "none", False):
            self.dispersion = None
        else:  # "d4": the D4(BJ) parameters fitted for this functional; another name picks those instead
            self.dispersion = self.xc if dispersion == "d4" else str(dispersion).lower()
        require(["pyscf", "dftd4"] if self.dispersion else ["pyscf"], "pyscf")
        self.density_fit, self.auxbasis = density_fit, auxbasis
        self.grid_level, self.conv_tol, self.max_cycle = grid_level, conv_tol, max_cycle
        self.gpu = gpu_available() if gpu == "auto" else bool(gpu)
        self.resp_restraint = resp_restraint * HARTREE_TO_KCAL**2  # least squares runs in kcal/mol/e
        self.field_step, self.max_memory_mb = field_step, max_memory_mb
        suffix = "" if not self.dispersion else "-d4" if self.dispersion == self.xc else f"-d4({self.dispersion})"
        self.method = f"{self.xc}{suffix}/{self.basis}"

    def _mol(self, s: QMStructure):
        from pyscf import gto

        if s.periodic:
            raise BackendError("the pyscf backend labels molecules and clusters; periodic cells need xTB")
        ghosts = np.zeros(len(s.numbers), bool) if s.ghosts is None else np.asarray(s.ghosts, bool)
        atoms = [(("ghost-" if g else "") + gto.mole._symbol(int(z)), xyz)
                 for z, xyz, g in zip(s.numbers, s.positions, ghosts)]
        try:
            return gto.M(atom=atoms, unit="Angstrom", basis=self.basis, charge=int(s.charge),
                         spin=int(s.multiplicity) - 1, verbose=0, max_memory=self.max_memory_mb)
        except Exception as err:  # basis missing for an element, impossible spin
            raise BackendError(f"cannot build the molecule for pyscf: {err}") from err

    def _scf(self, mol, hcore_shift: np.ndarray | None = None, dm0=None):
        restricted = mol.spin == 0
        if self.xc == "hf":
            mf = mol.RHF() if restricted else mol.UHF()
        else:
            mf = mol.RKS(xc=self.xc) if restricted else mol.UKS(xc=self.xc)
            mf.grids.level = self.grid_level
        if self.density_fit:
            mf = mf.density_fit(auxbasis=self.auxbasis)
        mf.conv_tol, mf.max_cycle = self.conv_tol, self.max_cycle
        if self.gpu:
            mf = mf.to_gpu()
        if hcore_shift is not None:
            h0 = mf.get_hcore()
            if self.gpu:
                import cupy

                hcore_shift = cupy.asarray(hcore_shift)
            mf.get_hcore = lambda *args: h0 + hcore_shift
        mf.kernel(dm0=dm0)
        if not mf.converged:
            raise BackendError(f"SCF ({self.method}) did not converge in {self.max_cycle} cycles")
        return mf

    def _dipole_au(self, mf) -> np.ndarray:
        """Dipole (e*Bohr) about the origin from the host density (identical on CPU and GPU objects)."""
        mol = mf.mol
        electronic = np.einsum("xij,ji->x", mol.intor("int1e_r"), self._total_dm(mf))
        return mol.atom_charges() @ mol.atom_coords() - electronic

    def _mulliken(self, mf) -> np.ndarray:
        mol = mf.mol
        populations = np.einsum("ij,ji->i", self._total_dm(mf), mol.intor("int1e_ovlp"))
        per_atom = np.array([populations[p0:p1].sum() for _, _, p0, p1 in mol.aoslice_by_atom()])
        return mol.atom_charges() - per_atom

    def compute(self, structure: QMStructure, requests: Collection[str]) -> dict[str, np.ndarray]:
        """Labels in internal units (see :mod:`elyte.labels.engines.base`)."""
        check_requests(self, requests)
        real = np.ones(len(structure.numbers), bool) if structure.ghosts is None else ~np.asarray(structure.ghosts)
        mol = self._mol(structure)
        mf = self._scf(mol)
        energy = float(mf.e_tot) * HARTREE_TO_KCAL
        if self.dispersion:
            e_disp, f_disp = d4_dispersion(structure.numbers[real], structure.positions[real], structure.charge,
                                           self.dispersion)
            energy += e_disp
        out: dict[str, np.ndarray] = {"energy": np.asarray(energy)}
        if "forces" in requests:
            forces = -_host(mf.nuc_grad_method().kernel()) * HARTREE_PER_BOHR_TO_KCAL_PER_ANGSTROM
            if self.dispersion:
                forces[real] += f_disp
            out["forces"] = forces
        if "dipole" in requests:
            out["dipole"] = self._dipole_au(mf) * BOHR_TO_ANGSTROM
        if "charges_mulliken" in requests:
            out["charges_mulliken"] = self._mulliken(mf)
        if "charges_hirshfeld" in requests:
            out["charges_hirshfeld"], out["volume_ratios"] = self._hirshfeld(structure, mol, mf)
        if {"esp", "charges_esp"} & set(requests):
            out.update(self._esp_labels(structure, mol, mf, requests))
        if "polarizability" in requests:
            out["polarizability"] = self._polarizability(mol, mf)
        if "molecular_c6" in requests:
            out["molecular_c6"] = np.asarray(self._molecular_c6(mf))
        if "dftd4" in requests:
            out.update(d4_properties(structure.numbers, structure.positions, structure.charge))
        return out

    def _total_dm(self, mf) -> np.ndarray:
        dm = _host(mf.make_rdm1())
        return dm.sum(axis=0) if dm.ndim == 3 else dm

    def _hirshfeld(self, s: QMStructure, mol, mf) -> tuple[np.ndarray, np.ndarray]:
        if s.ghosts is not None and np.any(s.ghosts):
            raise BackendError("Hirshfeld charges of a structure with ghost atoms are not meaningful")
        return hirshfeld(mol, self._total_dm(mf), self.xc, self.grid_level)

    def _potential(self, mol, dm: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Electrostatic potential (Hartree/e) of nuclei and electrons at ``points`` (Angstrom)."""
        bohr = points * ANGSTROM_TO_BOHR
        charges, coords = mol.atom_charges(), mol.atom_coords()
        nuclear = (charges[None, :] / np.linalg.norm(bohr[:, None] - coords[None], axis=-1)).sum(axis=1)
        electronic = np.concatenate([
            np.einsum("gij,ij->g", mol.intor("int1e_grids", grids=bohr[k:k + ESP_CHUNK]), dm)
            for k in range(0, len(bohr), ESP_CHUNK)
        ])
        return nuclear - electronic

    def _esp_labels(self, s: QMStructure, mol, mf, requests: Collection[str]) -> dict[str, np.ndarray]:
        if s.ghosts is not None and np.any(s.ghosts):
            raise BackendError("ESP labels of a structure with ghost atoms are not meaningful")
        dm = self._total_dm(mf)
        points = esp.esp_grid(s.numbers, s.positions)
        values = self._potential(mol, dm, points) * HARTREE_TO_KCAL
        out = {}
        if "esp" in requests:
            out.update(esp_points=points, esp_values=values)
        if "charges_esp" in requests:
            symmetry = s.symmetry if s.symmetry is not None else classes_from_geometry(s.numbers, s.positions)
            out["charges_esp"] = esp.fit_charges(points, values, s.positions, s.charge, symmetry, s.numbers,
                                                 restraint=self.resp_restraint)
        return out

    def _response_spectrum(self, mf) -> tuple[np.ndarray, np.ndarray]:
        """Excitation energies (Eh) and oscillator strengths of the full RPA spectrum (TDHF / TDDFT
        response matrices built in memory: small species such as monatomic ions)."""
        from pyscf.tdscf.rhf import get_ab

        if mf.mol.spin != 0:
            raise BackendError("molecular_c6 needs a closed-shell structure (multiplicity 1)")
        mf = mf.to_cpu() if self.gpu else mf
        a, b = get_ab(mf)
        occupied = mf.mo_occ > 0
        orbitals_o, orbitals_v = mf.mo_coeff[:, occupied], mf.mo_coeff[:, ~occupied]
        pairs = a.shape[0] * a.shape[1]
        dipoles = np.einsum("xpq,pi,qa->xia", mf.mol.intor("int1e_r"), orbitals_o, orbitals_v).reshape(3, pairs)
        try:
            return response_spectrum(a.reshape(pairs, pairs), b.reshape(pairs, pairs), dipoles)
        except ValueError as err:
            raise BackendError(str(err)) from err

    def _molecular_c6(self, mf) -> float:
        """Casimir-Polder C6 (kcal/mol*A^6) of two copies of the structure."""
        return casimir_polder_c6(*self._response_spectrum(mf)) * HARTREE_BOHR6_TO_KCAL_ANGSTROM6

    def _polarizability(self, mol, mf) -> np.ndarray:
        # electrons feel +F.r (charge -1), so the energy falls by mu.F as finite_field expects
        ints = mol.intor("int1e_r")
        dm0 = mf.make_rdm1()
        return polarizability(
            lambda f: self._dipole_au(self._scf(mol, np.einsum("x,xij->ij", f, ints), dm0)), self.field_step)
