"""A trained mlff model compiled ahead of time for one system, for the OpenMM plugin's ``MLFFForce``.

The package is an AOTInductor ``.pt2`` file that libtorch runs without Python. It holds the model's
energy *and* its forces: ``torch.export`` cannot trace ``torch.autograd.grad``, so the function is
first traced to aten operators with ``make_fx`` (the backward pass becomes explicit operators),
then exported with the edge counts dynamic and compiled. TorchScript is not an option: neither
the model (dataclass batches, Python dictionaries) nor its exported aten graph is scriptable.

A package serves one system: its atoms (elements and order), total charge and periodicity are
fixed; the box may change (NPT) as long as it stays wider than twice the long cutoff.

Package inputs, OpenMM units: positions [N, 3] (nm), box [3, 3] (nm, rows; ignored by clusters),
``edge_index`` [2, E] and ``shifts`` [E, 3] int64 (directed pairs closer than the message-passing
cutoff, pair vector x_j - x_i + shift @ box), ``long_edge_index`` [2, L] and ``long_shifts``
[L, 3] (the same within the long cutoff), ``integers`` [K, 3] int64 (the Ewald reciprocal-lattice
triples of the box, :func:`elyte.electrostatics.ewald.reciprocal_integers` with ``kmax_per_nm``;
one unused row for a cluster). Outputs: energy [] (kJ/mol), forces [N, 3] (kJ/mol/nm).
The string metadata (written by :func:`export`) lets the plugin check the package against the system.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.fx.experimental import _config as fx_config
from torch.fx.experimental.proxy_tensor import make_fx

import elyte
from elyte import units
from elyte.electrostatics.ewald import reciprocal_integers
from mlff.data.batch import collate
from mlff.data.structure import Structure
from mlff.model.forcefield import ForceField

FORMAT = "elyte-mlff-package"
FORMAT_VERSION = 1
ANGSTROM_PER_NM = 1.0 / units.ANGSTROM_TO_NM


class EnergyAndForces(nn.Module):
    """The model's energy (kJ/mol) and forces (kJ/mol/nm) for one fixed system (inputs as the module
    docstring); the autograd graph is built and differentiated inside ``forward``."""

    def __init__(self, model: ForceField, numbers: np.ndarray, total_charge: float, periodic: bool):
        super().__init__()
        self.model = model
        stand_in = Structure(numbers=np.asarray(numbers), positions=_spread_positions(len(numbers), _spacing(model)),
                             total_charge=float(total_charge))
        # the batch supplies everything but positions, box and edges (replaced at every call)
        template = collate([stand_in], model.config.cutoff, model.config.long_cutoff,
                           dtype=model.atomic_scale.dtype)
        self.template = dataclasses.replace(template, pbc=torch.full((1, 3), periodic),
                                            periodic=(periodic,))
        self.periodic = periodic

    def forward(self, positions: torch.Tensor, box: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor,
                long_edge_index: torch.Tensor, long_shifts: torch.Tensor, integers: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        positions = (positions * ANGSTROM_PER_NM).detach().requires_grad_(True)
        cell = (box * ANGSTROM_PER_NM if self.periodic else torch.zeros_like(box))[None]
        batch = dataclasses.replace(self.template, positions=positions, cell=cell, edge_index=edge_index,
                                    shifts=shifts, long_edge_index=long_edge_index, long_shifts=long_shifts)
        energy = self.model.energy(batch, positions, cell, integers if self.periodic else None)["energy"].sum()
        (gradient,) = torch.autograd.grad(energy, positions)
        return energy * units.KCAL_TO_KJ, -gradient * units.KCAL_PER_ANGSTROM_TO_KJ_PER_NM


def _spread_positions(n: int, spacing: float) -> np.ndarray:
    """n points on a cubic grid of ``spacing`` (A): a stand-in structure for tracing, no overlapping atoms."""
    side = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    return spacing * grid[:n].astype(float)


def _spacing(model: ForceField) -> float:
    """Tracing grid spacing (A): neighbours within the cutoff, none closer than 1 A."""
    return max(1.0, 0.5 * model.config.cutoff)


def export(model: ForceField, numbers: np.ndarray, total_charge: float, box: np.ndarray | None, path: str | Path,
           device: str = "cpu") -> Path:
    """Compile ``model`` (in its dtype) for the atoms ``numbers`` with ``total_charge`` (e), periodic in
    ``box`` ([3, 3] nm, rows) or a cluster (None), into the package ``path`` (``.pt2``), for the CPU
    (the plugin's Reference and CPU kernels; about half a minute on two cores) or ``device="cuda"``
    (its CUDA-platform kernel; compiled on the GPU)."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    model = copy.deepcopy(model).to(device).eval() if device != "cpu" else model.eval()
    periodic = box is not None
    module = EnergyAndForces(model, numbers, total_charge, periodic).to(device)
    module.template = module.template.to(device)
    example = tuple(t.to(device) for t in _example_inputs(module, box))
    # one symbol per input size (no "duck" sharing), so equal example edge counts are not tied together
    with fx_config.patch(use_duck_shape=False):
        traced = make_fx(module, tracing_mode="symbolic", _allow_non_fake_inputs=True)(*example)
    edges_dim, long_dim = torch.export.Dim("edges", min=2), torch.export.Dim("long_edges", min=2)
    k_dim = {0: torch.export.Dim("k_vectors", min=2)} if periodic else {}
    program = torch.export.export(traced, example, strict=False, dynamic_shapes=(
        {}, {}, {1: edges_dim}, {0: edges_dim}, {1: long_dim}, {0: long_dim}, k_dim))
    metadata = {
        "format": FORMAT, "format_version": str(FORMAT_VERSION), "code_version": elyte.__version__,
        "torch_version": torch.__version__, "dtype": str(model.atomic_scale.dtype).removeprefix("torch."),
        "atomic_numbers": ",".join(str(int(z)) for z in numbers), "total_charge": repr(float(total_charge)),
        "periodic": str(int(periodic)), "cutoff_nm": repr(model.config.cutoff * units.ANGSTROM_TO_NM),
        "long_cutoff_nm": repr(model.config.long_cutoff * units.ANGSTROM_TO_NM),
        "kmax_per_nm": repr(model.ewald.kmax * ANGSTROM_PER_NM),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # vectorized code generation trips an inductor assertion on scatter-adds into one-element
    # buffers (per-structure sums of a single structure); scalar loops compile
    configs = {"aot_inductor.metadata": metadata, "cpp.simdlen": 1}
    return Path(torch._inductor.aoti_compile_and_package(program, package_path=str(path), inductor_configs=configs))


def _example_inputs(module: EnergyAndForces, box: np.ndarray | None) -> tuple[torch.Tensor, ...]:
    """Inputs of the right kinds for tracing, from the module's stand-in structure (values do not matter)."""
    template = module.template
    if template.edge_index.shape[1] < 2:  # tracing would specialize an edge count of 0 or 1
        raise ValueError(f"an mlff package needs a system of at least 2 atoms, got {template.positions.shape[0]}")
    dtype = template.positions.dtype
    cell = torch.eye(3, dtype=dtype) if box is None else torch.as_tensor(np.asarray(box), dtype=dtype)
    integers = torch.zeros(1, 3, dtype=torch.long) if box is None else \
        reciprocal_integers(cell * ANGSTROM_PER_NM, module.model.ewald.kmax)
    return (template.positions * units.ANGSTROM_TO_NM, cell, template.edge_index, template.shifts,
            template.long_edge_index, template.long_shifts, integers)


def cache_dir() -> Path:
    """Where compiled packages are kept: ``$ELYTE_CACHE/mlff`` or ``~/.cache/elyte/mlff``."""
    root = os.environ.get("ELYTE_CACHE") or Path.home() / ".cache" / "elyte"
    return Path(root) / "mlff"


def cached_package(model: ForceField, numbers: np.ndarray, total_charge: float, box: np.ndarray | None,
                   device: str = "cpu") -> Path:
    """The package for this model, system and device, compiled once and then reused from :func:`cache_dir`."""
    key = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        key.update(name.encode())
        key.update(value.detach().cpu().contiguous().numpy().tobytes())
    for part in (repr(model.config.to_dict()).encode(), repr(model.reference_energies).encode(),
                 np.asarray(numbers, dtype=np.int64).tobytes(), repr(float(total_charge)).encode(),
                 repr(box is None).encode(), repr((elyte.__version__, torch.__version__, FORMAT_VERSION)).encode(),
                 *((device.encode(),) if device != "cpu" else ())):
        key.update(part)
    path = cache_dir() / f"{key.hexdigest()[:24]}.pt2"
    if not path.is_file():
        partial = path.with_suffix(f".{os.getpid()}.partial.pt2")
        export(model, numbers, total_charge, box, partial, device)
        partial.replace(path)
    return path
