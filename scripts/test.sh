#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite, slow tests included. CI runs this.
# Extra arguments go to pytest (e.g. -m "not slow" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
# the QM backends (tblite, pyscf, dftd4) are an extra for users but the tests exercise them
ELYTE_EXTRAS=${ELYTE_EXTRAS:-qm} bash scripts/setup.sh
export ELYTE_PROGRESS=0
exec .venv/bin/python -m pytest "$@"
