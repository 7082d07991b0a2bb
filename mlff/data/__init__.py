"""mlff data: structures with explicit labels, readers (ASE files and databases, the HDF5 label
store, qm_monomer_100), reference energies, splits, and batches with neighbour lists."""

from mlff.data.ase_io import UnitsError, read_ase, read_ase_db
from mlff.data.batch import Batch, Collater, StructureError, collate
from mlff.data.from_config import load_dataset, split_dataset
from mlff.data.label_store import LabelStoreDataset, read_label_store, read_monomer_100, record_to_structure
from mlff.data.references import fit_reference_energies
from mlff.data.split import split_indices
from mlff.data.structure import LABELS, LabelError, MissingLabelError, Structure

__all__ = [
    "LABELS",
    "Batch",
    "Collater",
    "LabelError",
    "LabelStoreDataset",
    "MissingLabelError",
    "Structure",
    "StructureError",
    "UnitsError",
    "collate",
    "fit_reference_energies",
    "load_dataset",
    "read_ase",
    "read_ase_db",
    "read_label_store",
    "read_monomer_100",
    "record_to_structure",
    "split_dataset",
    "split_indices",
]
