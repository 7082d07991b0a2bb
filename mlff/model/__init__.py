"""mlff model: the equivariant network with learned charges, electrostatics and dispersion."""

from mlff.model.build import build_model
from mlff.model.config import ConfigError, ModelConfig
from mlff.model.forcefield import ForceField, UnsupportedElementError
from mlff.model.io import ModelFileError, load_model, save_model

__all__ = ["ConfigError", "ForceField", "ModelConfig", "ModelFileError", "UnsupportedElementError", "build_model",
           "load_model", "save_model"]
