#!/bin/sh
# pycuda for a GPU machine without network (docs: /work/shared/device/pycuda.md).
#
#   benchmarks/gpu/build_pycuda.sh download   on a machine with network, at the repo root:
#       fetches the pycuda sdist and its pure-Python dependencies into .whl/
#       (listed in .git/info/exclude, so they never reach a commit)
#   benchmarks/gpu/build_pycuda.sh build      on the GPU machine, with .whl/ carried over:
#       installs the dependencies into $SITE (default /tmp/site), builds the pycuda wheel
#       (into $OUT when set, so it comes back; carry it in .whl/ next time: then the
#       build is skipped) and checks that it sees the GPU. Afterwards:
#       export PYTHONPATH=$SITE:$PWD
set -eu
PYCUDA_VERSION=${PYCUDA_VERSION:-2026.1}
SITE=${SITE:-/tmp/site}
WHEELS=${WHEELS:-.whl}

case "${1:-}" in
download)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    mkdir -p "$WHEELS"
    pip download --no-deps --no-binary pycuda "pycuda==$PYCUDA_VERSION" -d "$WHEELS"
    pip download --no-deps -d "$WHEELS" pytools platformdirs mako
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" siphash24 cffi
    # cuBLAS is called through cffi; run_all.sh runs the function-level tests with pytest
    pip download --no-deps -d "$WHEELS" pycparser pytest pluggy iniconfig packaging
    ;;
build)
    mkdir -p "$SITE"
    deps=$(ls "$WHEELS"/*.whl | grep -v '/pycuda-' || true)
    python3 -m pip install -q --no-index --no-deps --target "$SITE" $deps
    built=$(ls "$WHEELS"/pycuda-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$built" ]; then
        dest=${OUT:-/tmp/pycuda-wheel}
        mkdir -p "$dest"
        here=$PWD
        rm -rf /tmp/pycuda-src && mkdir -p /tmp/pycuda-src
        tar xzf "$WHEELS"/pycuda-*.tar.gz -C /tmp/pycuda-src
        cd /tmp/pycuda-src/pycuda-*/
        # nvcc may be a wrapper outside the toolkit: name the CUDA root explicitly;
        # without CURAND headers the build stops at curand.h (symtheano does not use it)
        python3 configure.py --cuda-root="${CUDA_ROOT:-/usr/local/cuda}" --no-cuda-enable-curand
        PYTHONPATH="$SITE" python3 -m pip wheel -q --no-build-isolation --no-deps --no-index \
            -w "$dest" .
        cd "$here"
        built=$(ls "$dest"/pycuda-*.whl | head -n 1)
    fi
    python3 -m pip install -q --no-index --no-deps --target "$SITE" "$built"
    PYTHONPATH="$SITE:$PWD" python3 -c \
        "import pycuda.autoinit, pycuda.driver as d; print('pycuda sees', d.Device(0).name())"
    ;;
*)
    echo "usage: $0 download | build" >&2
    exit 2
    ;;
esac
