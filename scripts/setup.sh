#!/usr/bin/env bash
# Sets up the project on a fresh machine: .venv with torch, openmm and the other dependencies, and
# elyte installed from this checkout with its native code compiled against that torch. Idempotent.
#
#   ELYTE_TORCH   torch requirement installed when .venv has no torch yet (default torch==2.13.0,
#                 the CPU build). GPU users: put a CUDA torch into .venv first (see README).
#   ELYTE_EXTRAS  extras to install besides dev (comma-separated, e.g. "cuda" for openmm-cuda-12)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "setup: Python >= 3.11 needed ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2; exit 1; }
  "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# torch first: everything else (and the native build) uses the torch found here.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  "${PIP[@]}" "${ELYTE_TORCH:-torch==2.13.0}"
fi
# build tools for the native code (scikit-build-core drives CMake against the installed torch; the
# OpenMM plugin is compiled against the installed openmm wheel and wrapped with swig)
"${PIP[@]}" "scikit-build-core>=0.10" "cmake>=3.25" ninja "swig>=4.2" "openmm>=8.1"
extras="dev${ELYTE_EXTRAS:+,$ELYTE_EXTRAS}"
"${PIP[@]}" --no-build-isolation -e ".[${extras}]"
.venv/bin/python -c 'import elyte.native as n, torch; print(f"setup: elyte ready (torch {torch.__version__}, native ops {n.load().name})")'
