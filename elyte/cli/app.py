"""Hydra wiring shared by every command: the config tree, resolvers and the run directory."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from elyte.errors import InputError, MDError
from elyte.paths import config_dir, data_dir
from elyte.pipeline.reference import smiles_of
from elyte.runs import FAILED

# ${data:path} -> absolute path of a file shipped under data/
OmegaConf.register_new_resolver("data", lambda rel: str(data_dir() / rel), replace=True)
# ${reference_smiles:name} -> SMILES of a liquid of the experimental reference table (by name or abbreviation)
OmegaConf.register_new_resolver("reference_smiles", lambda name: smiles_of(str(name)), replace=True)


def job_dirname(overrides: str) -> str:
    """A sweep job's folder name from its overrides (``hydra.job.override_dirname``): a path in a value
    (a model file, say) would nest folders, so '/' becomes '_', and the name is cut to stay far below
    the 255-byte limit of a file name (the job number in front keeps it unique)."""
    return str(overrides).replace("/", "_")[:200]


# ${job_dirname:${hydra.job.override_dirname}} -> that name (the sweep's subdir)
OmegaConf.register_new_resolver("job_dirname", job_dirname, replace=True)


def hydra_command(config_name: str) -> Callable[[Callable[[DictConfig], None]], Callable[[], None]]:
    """Make ``fn(cfg)`` a console-script entry point reading ``configs/<config_name>.yaml``."""
    return hydra.main(config_path=str(config_dir()), config_name=config_name, version_base="1.3")


def in_sweep() -> bool:
    """True inside one job of a Hydra multirun (``-m``)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


@contextmanager
def exit_on_failure(log: logging.Logger, run_dir: Path | None = None) -> Iterator[None]:
    """Log the message of an InputError (exit 2) or MDError (exit 1) instead of a traceback. Within a
    sweep (``run_dir`` given and :func:`in_sweep`), write it to ``run_dir/failed.txt`` and return
    instead, so that the other jobs go on (the with-block is left at the error)."""
    if run_dir is not None:
        (run_dir / FAILED).unlink(missing_ok=True)  # from an earlier try of this job
    try:
        yield
    except (InputError, MDError) as err:
        log.error("%s", err)
        if run_dir is not None and in_sweep():
            (run_dir / FAILED).write_text(f"{type(err).__name__}: {err}\n")
            return
        sys.exit(2 if isinstance(err, InputError) else 1)
