#!/bin/sh
# The first thing to run on a GPU machine, at the repo root, with .whl/ carried (see
# build_pycuda.sh): builds or installs pycuda, then
#   1. run_registry.py: every CUDA kernel of the op registry and the cuBLAS calls
#      against the NumPy reference (report.json);
#   2. the function-level tests (tests/codegen/test_cuda_*.py: fake device, so they
#      also pass here, plus nvcc compiling every kernel for this machine's toolchain);
#   3. run_functions.py: mode="CUDA" functions on the GPU against mode "PY", transfers
#      per call, and the benchmarks (elementwise at n=1e8 vs device copy bandwidth,
#      MLP and GEMM-bound training steps vs PyTorch when present) (functions.json).
# Every step runs even when an earlier one fails; the exit status says whether all
# passed. Results go to $OUT when set.
set -u
SITE=${SITE:-/tmp/site}
export SITE
sh benchmarks/gpu/build_pycuda.sh build || exit 1
export PYTHONPATH="$SITE:$PWD"
export SYMTHEANO_CACHE_DIR="${SYMTHEANO_CACHE_DIR:-/tmp/symtheano-cache}"
status=0
python3 benchmarks/gpu/run_registry.py ${OUT:+--out "$OUT"} || status=1
python3 -m pytest -q -p no:cacheprovider tests/codegen/test_cuda_program.py \
    tests/codegen/test_cuda_cublas.py tests/codegen/test_cuda_layout.py \
    tests/codegen/test_cuda_mode.py || status=1
python3 benchmarks/gpu/run_functions.py ${OUT:+--out "$OUT"} ${QUICK:+--quick} || status=1
exit $status
