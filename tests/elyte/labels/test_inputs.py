"""Structures to label from extxyz, sdf and SMILES: charge, spin and symmetry come along."""

from __future__ import annotations

import ase
import ase.io
import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from elyte.labels.inputs import from_smiles, read_file
from elyte.labels.sampling.molecules import SamplingError


def test_extxyz_frames_keep_charge_and_multiplicity(tmp_path):
    frames = [ase.Atoms("OH", positions=[[0, 0, 0], [0, 0, 0.97]], info={"charge": -1}),
              ase.Atoms("NO2", positions=[[0, 0, 0], [1.1, 0.4, 0], [-1.1, 0.4, 0]], info={"multiplicity": 2})]
    ase.io.write(tmp_path / "f.extxyz", frames)
    hydroxide, no2 = read_file(tmp_path / "f.extxyz")
    assert (hydroxide.charge, hydroxide.multiplicity) == (-1, 1) and (no2.charge, no2.multiplicity) == (0, 2)
    assert no2.provenance["frame"] == 1 and hydroxide.cell is None


def test_sdf_gives_formal_charge_and_symmetry(tmp_path):
    mol = Chem.AddHs(Chem.MolFromSmiles("CC(=O)[O-]"))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    mol.SetProp("_Name", "acetate")
    with Chem.SDWriter(str(tmp_path / "a.sdf")) as writer:
        writer.write(mol)
    (acetate,) = read_file(tmp_path / "a.sdf")
    assert acetate.charge == -1 and acetate.provenance["name"] == "acetate"
    oxygens = np.nonzero(acetate.numbers == 8)[0]
    assert acetate.symmetry[oxygens[0]] == acetate.symmetry[oxygens[1]]  # resonance-equivalent


def test_smiles_and_errors(tmp_path):
    (pf6,) = from_smiles({"PF6": "F[P-](F)(F)(F)(F)F"})
    assert pf6.charge == -1 and len(pf6.numbers) == 7 and pf6.provenance["name"] == "PF6"
    with pytest.raises(SamplingError, match="invalid SMILES"):
        from_smiles({"bad": "C1CC"})
    with pytest.raises(SamplingError, match="does not exist"):
        read_file(tmp_path / "missing.xyz")


@pytest.mark.parametrize(("backend", "name"), [("xtb", "xtb"), ("dft", "pyscf")])
def test_label_config_chooses_its_backend_with_backend_equals(backend, name):
    from hydra import compose, initialize_config_dir

    from elyte.paths import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(config_name="label", overrides=[f"backend={backend}", "kinds=[conformer]"])
    assert cfg.backend.name == name and list(cfg.kinds) == ["conformer"]
