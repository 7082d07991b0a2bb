"""Hydra wiring shared by every command: the config tree, resolvers and the run directory."""

from __future__ import annotations

from collections.abc import Callable

import hydra
from omegaconf import DictConfig, OmegaConf

from elyte.paths import config_dir, data_dir

# ${data:path} -> absolute path of a file shipped under data/
OmegaConf.register_new_resolver("data", lambda rel: str(data_dir() / rel), replace=True)


def hydra_command(config_name: str) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Make ``fn(cfg)`` a console-script entry point reading ``configs/<config_name>.yaml``."""
    return hydra.main(config_path=str(config_dir()), config_name=config_name, version_base="1.3")
