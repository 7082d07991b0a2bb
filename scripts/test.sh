#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite, slow tests included. CI runs this.
# Extra arguments go to pytest (e.g. -m "not slow" for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenCL on the CPU (pocl) and the OpenCL headers, so that the polarization force's kernel for OpenMM's
# compute platforms (CUDA, OpenCL) is built and tested without a GPU: Debian packages, installed where
# apt-get can (as root); elsewhere those tests skip. ELYTE_TEST_OPENCL=0 leaves the system alone.
OPENCL_PACKAGES="pocl-opencl-icd ocl-icd-libopencl1 opencl-c-headers"
if [ "${ELYTE_TEST_OPENCL:-1}" = 1 ] && { [ ! -f /usr/include/CL/cl.h ] || [ ! -d /etc/OpenCL/vendors ]; } \
    && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq $OPENCL_PACKAGES >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $OPENCL_PACKAGES >/dev/null 2>&1; } \
    || echo "test: could not install $OPENCL_PACKAGES; the OpenCL kernel tests will skip" >&2
fi
# the QM backends (tblite, pyscf, dftd4) are an extra for users but the tests exercise them
ELYTE_EXTRAS=${ELYTE_EXTRAS:-qm} bash scripts/setup.sh
export ELYTE_PROGRESS=0
exec .venv/bin/python -m pytest "$@"
