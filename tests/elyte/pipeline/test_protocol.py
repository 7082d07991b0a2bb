"""Protocol configs become stage lists; boxes are rescaled to a volume molecule by molecule."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from elyte.box import conformer
from elyte.formulation import Species
from elyte.md.stage import StartState
from elyte.paths import config_dir
from elyte.pipeline.protocol import Protocol
from elyte.pipeline.simulate import at_volume


@pytest.mark.parametrize("name", ["quick", "production"])
def test_shipped_protocols_build_valid_stages(name):
    protocol = Protocol.from_config(OmegaConf.to_container(OmegaConf.load(config_dir() / "protocol" / f"{name}.yaml")))
    stages = protocol.liquid(313.15, 1.0)
    names = [s.name for s in stages]
    assert names[:5] == ["minimize", "heat", "npt_equilibration", "npt_production", "nvt_transport"]
    kinds = {s.name: s.kind for s in stages}
    assert kinds["npt_production"] == "npt" and kinds["nvt_transport"] == "nvt"
    assert all(s.temperature == 313.15 for s in stages)
    assert stages[1].temperature_start == 50.0
    assert any(s.trajectory_every for s in stages)
    gas = protocol.gas_stages(313.15)
    assert [s.kind for s in gas] == ["minimize", "nvt", "nvt"]


def test_zero_step_stages_are_left_out_and_unknown_stages_refused():
    cfg = {"name": "t", "stages": {"minimize": {"steps": 10}, "heat": {"steps": 0}, "nvt_transport": {"steps": 200}}}
    assert [s.name for s in Protocol.from_config(cfg).liquid(300.0, 1.0)] == ["minimize", "nvt_transport"]
    with pytest.raises(ValueError, match="unknown stages"):
        Protocol.from_config({"name": "t", "stages": {"anneal": {"steps": 10}}})


def test_multiple_time_stepping_and_hydrogen_mass_reach_every_stage():
    cfg = {"name": "t", "timestep": 2.0, "inner_steps": 2, "hydrogen_mass": 3, "stages": {"minimize": {"steps": 10},
           "npt_production": {"steps": 200, "report_every": 20}}, "gas": {"steps": 100, "report_every": 10}}
    protocol = Protocol.from_config(cfg)
    stages = protocol.liquid(300.0, 1.0) + protocol.gas_stages(300.0)
    assert len(stages) == 4 and all(s.inner_steps == 2 and s.timestep == 2.0 and s.hydrogen_mass == 3.0 for s in stages)
    assert all(s.inner_steps == 1 for s in Protocol.from_config({**cfg, "inner_steps": 1}).liquid(300.0, 1.0))


def test_rescaling_to_a_volume_moves_molecules_rigidly():
    dmc = Species.from_smiles("DMC", "COC(=O)OC")
    one = conformer(dmc).positions
    rng = np.random.default_rng(1)
    positions = np.concatenate([one + rng.uniform(0, 20, 3) for _ in range(8)])
    start = StartState(positions, np.eye(3) * 20.0, rng.normal(size=positions.shape))
    scaled = at_volume(start, [dmc] * 8, 7000.0)
    assert abs(np.linalg.det(scaled.box)) == pytest.approx(7000.0)
    for k in range(8):
        before, after = positions[12 * k:12 * k + 12], scaled.positions[12 * k:12 * k + 12]
        np.testing.assert_allclose(after - after.mean(0), before - before.mean(0), atol=1e-12)
    np.testing.assert_array_equal(scaled.velocities, start.velocities)


def test_stage_lengths_in_ps_keep_their_duration_when_the_time_step_changes():
    """The same ps at 1 fs and with multiple time stepping at 2 fs: the same simulated time, in whole
    report intervals; ps and steps together are refused; the gas phase takes ps too."""
    cfg = {"name": "t", "stages": {"minimize": {"steps": 10}, "heat": {"ps": 0},
                                   "npt_production": {"ps": 8, "report_every": 10},
                                   "nvt_transport": {"ps": 0.123, "report_every": 50}},
           "gas": {"ps": 20, "equilibration_ps": 1, "report_every": 20}}
    one_fs = Protocol.from_config({**cfg, "timestep": 1.0})
    mts = Protocol.from_config({**cfg, "timestep": 2.0, "inner_steps": 2})
    for protocol, steps in ((one_fs, [8000, 100]), (mts, [4000, 50])):  # 0.123 ps: 2.46 and 1.23 reports
        stages = protocol.liquid(300.0, 1.0)
        assert [s.name for s in stages] == ["minimize", "npt_production", "nvt_transport"]
        assert stages[0].steps == 10 and [s.steps for s in stages[1:]] == steps
        gas = protocol.gas_stages(300.0)
        assert [s.steps * s.timestep for s in gas[1:]] == [1000.0, 20000.0]
    with pytest.raises(ValueError, match="npt_production: give ps or steps, not both"):
        Protocol.from_config({**cfg, "stages": {"npt_production": {"ps": 8, "steps": 100}}}).liquid(300.0, 1.0)
