#!/usr/bin/env bash
# The main job on the shipped default, after setting up. Extra arguments are Hydra overrides.
# Until the property pipeline (elyte-predict) lands, the main job is the structure analysis of the
# shipped LiPF6 / EC / DMC box: RDFs, coordination numbers and density (runs/structure/<time>/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/elyte-structure "$@"
