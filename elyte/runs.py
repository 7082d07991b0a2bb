"""Run directories: every command writes its resolved config, a log and its outputs in one place.

Hydra creates the directory (``runs/<command>/<timestamp>`` by default, see ``configs/``) and the
log file ``<command>.log``; :func:`start_run` adds ``config.yaml`` with every interpolation resolved
and logs the software versions, so a run can be reproduced from its directory alone.
"""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import elyte

log = logging.getLogger(__name__)

FAILED = "failed.txt"  # a failed job of a sweep leaves its error message here (elyte.cli.app.exit_on_failure)


def start_run(cfg: DictConfig) -> Path:
    """Write the resolved config into the Hydra run directory, log provenance, return the directory."""
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    log.info("command: %s", " ".join(sys.argv))
    log.info(
        "elyte %s, python %s, torch %s (%s threads), host %s",
        elyte.__version__,
        platform.python_version(),
        torch.__version__,
        torch.get_num_threads(),
        platform.node(),
    )
    log.info("run directory: %s", run_dir)
    return run_dir
