#!/usr/bin/env bash
# The main job on the shipped default, after setting up: zero-shot properties of 1 M LiPF6 in EC:DMC
# (1:1 w/w), 1,200 atoms, with polff (the published ByteFF-Pol parameters) on the quick protocol, written to
# runs/predict/<time>/ (report.md, properties.csv, results.json, plots). Extra arguments are Hydra
# overrides, e.g. `bash scripts/run.sh formulation=pure_dmc protocol=production platform=CUDA`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# 1,200 atoms keep the CPU demonstration near 5 minutes on 2 cores; later overrides win
exec .venv/bin/elyte-predict formulation.size=1200 "$@"
