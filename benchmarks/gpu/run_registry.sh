#!/bin/sh
# On a GPU machine, at the repo root, with .whl/ carried (see build_pycuda.sh):
# builds pycuda (or installs the carried wheel), then checks every CUDA kernel of the
# op registry and the cuBLAS calls against the NumPy reference (run_registry.py).
# The compile cache goes to $OUT when set, so the nvcc builds can be inspected.
set -eu
SITE=${SITE:-/tmp/site}
export SITE
sh benchmarks/gpu/build_pycuda.sh build
export PYTHONPATH="$SITE:$PWD"
if [ -n "${OUT:-}" ]; then
    export SYMTHEANO_CACHE_DIR="${SYMTHEANO_CACHE_DIR:-/tmp/symtheano-cache}"
fi
python3 benchmarks/gpu/run_registry.py ${OUT:+--out "$OUT"}
