"""elyte-predict: zero-shot electrolyte properties from a formulation (the main job)."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig, OmegaConf

from elyte.cli.app import exit_on_failure, hydra_command
from elyte.formulation import from_config
from elyte.pipeline.predict import predict
from elyte.pipeline.protocol import Protocol
from elyte.runs import start_run

log = logging.getLogger("elyte.predict")


@hydra_command("predict")
def main(cfg: DictConfig) -> None:
    run_dir = start_run(cfg)
    results = None
    with exit_on_failure(log, run_dir):  # in a sweep, a failed job is recorded and the others go on
        formulation = from_config(OmegaConf.to_container(cfg.formulation, resolve=True))
        protocol = Protocol.from_config(OmegaConf.to_container(cfg.protocol, resolve=True))
        forcefield = hydra.utils.instantiate(cfg.forcefield)
        results = predict(formulation, forcefield, protocol, run_dir, int(cfg.seed), float(cfg.density_scale),
                          str(cfg.platform), cfg.threads)
    if results is None:
        return
    for result in results:
        for p in result.properties:
            log.info("%.2f K  %-22s %s", result.temperature, p.name, p.estimate)
    log.info("report: %s", run_dir / "report.md")


if __name__ == "__main__":
    main()
