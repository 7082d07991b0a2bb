"""GNN parameterizer: molecular graph -> every parameter of the polarizable force field.

``features`` (graph features), ``graph`` (terms, symmetry classes, priors, batches), ``priors``
(bounds and priors), ``model`` (the network), ``parameterize`` (SMILES -> MoleculeParameters and
the differentiable path for training), ``files`` (save/load), ``ensemble`` (mean and spread).
"""

from polff.params.ensemble import Ensemble, EnsembleParameters, default_model_dir, model_files
from polff.params.files import ModelFileError, load_model, save_model
from polff.params.model import Parameterizer, ParameterizerConfig
from polff.params.parameterize import differentiable_system, make_batch, parameterize, parameterize_batch

__all__ = ["Ensemble", "EnsembleParameters", "default_model_dir", "model_files", "ModelFileError", "load_model", "save_model", "Parameterizer",
           "ParameterizerConfig", "differentiable_system", "make_batch", "parameterize", "parameterize_batch"]
