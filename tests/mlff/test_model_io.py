"""Model files (round trip, refusal of incompatible files), the Hydra model config, and refusal of
inputs the model cannot evaluate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from elyte.paths import config_dir
from mlff.data.batch import StructureError, collate
from mlff.data.structure import Structure
from mlff.model.build import build_model
from mlff.model.config import ConfigError
from mlff.model.forcefield import ForceField, UnsupportedElementError
from mlff.model.io import FORMAT_VERSION, ModelFileError, load_model, save_model
from tests.mlff.random_structures import SMALL, batch_of, cluster, periodic


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_round_trip(tmp_path, dtype):
    torch.manual_seed(3)
    model = build_model(SMALL, reference_energies={1: -300.0, 8: -47000.0}).to(dtype)
    path = save_model(model, tmp_path / "m.pt", metadata={"trained_on": "test"})
    loaded = load_model(path)
    assert loaded.elements == model.elements and loaded.config == model.config
    assert loaded.atomic_scale.dtype == dtype
    batch = batch_of([cluster(0), periodic(0)], model, dtype)
    a, b = model(batch, compute_stress=True), loaded(batch, compute_stress=True)
    for key in ("energy", "forces", "stress", "charges"):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    archive = torch.load(path, weights_only=True)
    assert archive["reference_energies"] == {1: -300.0, 3: 0.0, 6: 0.0, 8: -47000.0}
    assert archive["units"]["energy"] == "kcal/mol" and archive["metadata"] == {"trained_on": "test"}


def rewrite(path, **changes):
    archive = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del archive[key]
        else:
            archive[key] = value
    torch.save(archive, path)


def test_incompatible_files_are_refused(tmp_path):
    path = save_model(build_model(SMALL), tmp_path / "m.pt")
    rewrite(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1}, this code reads version"):
        load_model(path)
    path = save_model(build_model(SMALL), tmp_path / "m.pt")
    rewrite(path, state_dict=None)
    with pytest.raises(ModelFileError, match="lacks \\['state_dict'\\]"):
        load_model(path)
    path = save_model(build_model(SMALL), tmp_path / "m.pt")
    rewrite(path, units={"length": "nm", "energy": "kJ/mol"})
    with pytest.raises(ModelFileError, match="states units"):
        load_model(path)
    path = save_model(build_model(SMALL), tmp_path / "m.pt")
    archive = torch.load(path, weights_only=True)
    archive["state_dict"].pop("readout.0.weight")
    torch.save(archive, path)
    with pytest.raises(ModelFileError, match="weights do not fit"):
        load_model(path)
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="not an elyte-mlff model file"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_text("not a model")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(tmp_path / "junk.pt")


def test_unsupported_element_and_overlapping_atoms(model):
    s = cluster(0)
    fluorine = dataclasses.replace(s, numbers=np.where(np.arange(s.n_atoms) == 2, 9, s.numbers))
    message = "built for \\['H', 'Li', 'C', 'O'\\] and cannot evaluate \\['F'\\]"
    with pytest.raises(UnsupportedElementError, match=message):
        model(batch_of([fluorine], model))
    with pytest.raises(TypeError, match="batch.to\\(dtype"):
        model(batch_of([s], model, torch.float32))
    with pytest.raises(ValueError, match="shorter than the model's"):
        model(collate([s], cutoff=2.0))
    close = Structure(numbers=[1, 8], positions=[[0, 0, 0], [0.3, 0, 0]])
    with pytest.raises(StructureError, match="closer than the physical minimum"):
        model(batch_of([close], model))


def test_config_errors():
    with pytest.raises(ConfigError, match="unknown key\\(s\\) \\['feature'\\]"):
        build_model({**SMALL, "feature": 3})
    with pytest.raises(ConfigError, match="model.elements: unknown element 'Xx'"):
        build_model({**SMALL, "elements": ["H", "Xx"]})
    with pytest.raises(ConfigError, match="electrostatics needs learned charges"):
        build_model({**SMALL, "charges": {"enabled": False}})
    with pytest.raises(ConfigError, match="too wide"):
        build_model({**SMALL, "electrostatics": {"gaussian_width": 2.0}})
    with pytest.raises(ValueError, match="no dispersion C6 table entry for \\['Fe'\\]"):
        build_model({**SMALL, "elements": ["H", "Fe"]})


def test_hydra_default_config_builds_the_model():
    with initialize_config_dir(config_dir=str(config_dir() / "model"), version_base="1.3"):
        cfg = compose(config_name="default", overrides=["features=8", "layers=1"])
    model = instantiate(cfg)
    assert isinstance(model, ForceField) and model.config.features == 8 and model.config.lmax == 2
    assert 3 in model.elements
    out = model.double()(collate([cluster(2)], model.config.cutoff, model.config.long_cutoff))
    assert torch.isfinite(out["energy"]).all()
