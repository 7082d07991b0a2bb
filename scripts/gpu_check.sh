#!/usr/bin/env bash
# The GPU checks, on a machine with a CUDA GPU whose python3 has a CUDA torch: builds the project
# against that torch and the openmm / openmm-cuda-13 found in WHEELS (a folder of wheels: openmm,
# openmm-cuda-13, swig, ase; for machines without a package index) or already installed, then runs
# the tests that need CUDA (the neighbour-list op, the polarization force on OpenMM's CUDA platform)
# and the polff speed benchmark on the CUDA platform. Logs go to OUT (default /tmp/elyte_gpu_check).
#
#   WHEELS=.whl OUT=/tmp/out bash scripts/gpu_check.sh [benchmark steps, default 20]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/elyte_gpu_check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if [ -n "${WHEELS:-}" ]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/elyte_site \
    "$WHEELS"/*.whl || exit 1
  export PYTHONPATH=/tmp/elyte_site${PYTHONPATH:+:$PYTHONPATH}
fi
# OpenMM's CUDA platform loads cuFFT and NVRTC: the nvidia wheels beside torch hold them
NVIDIA_LIBS=$("$PY" -c 'import nvidia, pathlib; print(":".join(str(p) for p in pathlib.Path(nvidia.__path__[0]).glob("*/lib")))' 2>/dev/null)
export LD_LIBRARY_PATH=${NVIDIA_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
"$PY" -c 'import openmm, torch; print("openmm", openmm.__version__, [openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())], openmm.Platform.getPluginLoadFailures()); print("torch", torch.__version__, torch.cuda.is_available())' 2>&1 | tee "$OUT/versions.txt"
# the project, built against this torch and openmm (no dependency resolution: they are all here)
"$PY" -m pip install -q --no-build-isolation --no-deps --no-compile --target /tmp/elyte_project . > "$OUT/build.log" 2>&1 \
  || { tail -40 "$OUT/build.log"; exit 1; }
export PYTHONPATH=/tmp/elyte_project:${PYTHONPATH:-}
export ELYTE_PROGRESS=0
"$PY" -m pytest -q -p no:cacheprovider -o addopts="" -m "gpu or not gpu" -k "CUDA or cuda or gpu or compute_platform" \
  tests/elyte/test_neighbors.py tests/csrc/test_openmm_plugin_build.py tests/polff/test_openmm_polarization.py \
  2>&1 | tee "$OUT/tests.log" | tail -30
PYTHONUNBUFFERED=1 "$PY" benchmarks/polff_openmm.py --platform CUDA --steps "${1:-20}" --repeats 3 \
  --only "export, all terms" "export without" "alone (plugin)" "Amoeba" "fixed charges" 2>&1 | tee "$OUT/polff_openmm_cuda.txt" | tail -20
