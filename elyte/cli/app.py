"""Hydra wiring shared by every command: the config tree, resolvers and the run directory."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import hydra
from omegaconf import DictConfig, OmegaConf

from elyte.errors import InputError, MDError
from elyte.paths import config_dir, data_dir
from elyte.pipeline.reference import smiles_of

# ${data:path} -> absolute path of a file shipped under data/
OmegaConf.register_new_resolver("data", lambda rel: str(data_dir() / rel), replace=True)
# ${reference_smiles:name} -> SMILES of a liquid of the experimental reference table (by name or abbreviation)
OmegaConf.register_new_resolver("reference_smiles", lambda name: smiles_of(str(name)), replace=True)


def hydra_command(config_name: str) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Make ``fn(cfg)`` a console-script entry point reading ``configs/<config_name>.yaml``."""
    return hydra.main(config_path=str(config_dir()), config_name=config_name, version_base="1.3")


@contextmanager
def exit_on_failure(log: logging.Logger) -> Iterator[None]:
    """Log the message of an InputError (exit 2) or MDError (exit 1) instead of a traceback."""
    try:
        yield
    except InputError as err:
        log.error("%s", err)
        sys.exit(2)
    except MDError as err:
        log.error("%s", err)
        sys.exit(1)
