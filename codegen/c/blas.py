"""The BLAS library of the C back end: OpenBLAS from the `scipy-openblas32`
package (CBLAS with 32-bit integers), and the compiled kernels that call it.

The package ships the headers and the shared library; every symbol carries a
prefix (`scipy_cblas_dgemm`), found here by looking the routines up in the
library, so a build with another prefix works unchanged. The kernels
(codegen/c/runtime/blas.h) are compiled once into one library, linked against
OpenBLAS with an rpath to the package's directory, and fetched from the compile
cache afterwards; the package's version is part of the source, hence of the key.

Threads: OpenBLAS runs on as many threads as it chooses (all cores by
default). Pin it with the environment variable `OPENBLAS_NUM_THREADS` (read
when the library loads; NumPy's own OpenBLAS reads it too) or at run time
with `set_num_threads(n)` here, which changes this library only. NumPy ships
an OpenBLAS of its own, so a process that uses both holds two thread pools,
and each keeps its threads spinning for a while after a call: products of the
two interleaved on all cores compete for them (measured: symtheano's 1000^2
dot 1.8x slower right after NumPy's). Benchmarks that interleave them pin
both to one thread, or shorten the spinning with `OPENBLAS_THREAD_TIMEOUT=4`
(set before the libraries load).
"""

from __future__ import annotations

import ctypes
import functools
import os
import re

from symtheano.codegen.c import build

PREFIXES = ("scipy_", "")  # scipy-openblas32 uses scipy_; a plain OpenBLAS build none
FLOAT_SUFFIX = {"float64": "f64", "float32": "f32"}
BLAS_OK, BLAS_TOO_LARGE, BLAS_MISALIGNED, BLAS_NO_MEMORY = range(4)

# The entry points of runtime/blas.h, one line per declaration ({R}: element type).
_DECLARATIONS = (
    "int st_dot_{S}(int64_t m, int64_t n, int64_t k, const char *a, int64_t ars, int64_t acs,"
    " const char *b, int64_t brs, int64_t bcs, char *out);",
    "int st_dot_batch_{S}(int64_t count, int64_t m, int64_t n, int64_t k, const char *a,"
    " const int64_t *a_offsets, int64_t ars, int64_t acs, const char *b,"
    " const int64_t *b_offsets, int64_t brs, int64_t bcs, char *out);",
    "int st_gemm_{S}(int64_t m, int64_t n, int64_t k, const char *a, int64_t ars, int64_t acs,"
    " const char *b, int64_t brs, int64_t bcs, const char *c, int64_t c_rows, int64_t c_cols,"
    " int64_t crs, int64_t ccs, {R} alpha, {R} beta, char *out);",
    "int st_gemv_{S}(int64_t m, int64_t k, const char *a, int64_t ars, int64_t acs,"
    " const char *x, int64_t xs, const char *y, int64_t y_len, int64_t ys, {R} alpha,"
    " {R} beta, char *out);",
    "int st_ger_{S}(int64_t m, int64_t n, const char *a, int64_t a_rows, int64_t a_cols,"
    " int64_t ars, int64_t acs, {R} alpha, const char *x, int64_t xs, const char *y,"
    " int64_t ys, char *out);",
)
CDEF = "\n".join(d.format(S=s, R=r) for s, r in (("f64", "double"), ("f32", "float"))
                 for d in _DECLARATIONS)


class BlasUnavailable(RuntimeError):
    """The scipy-openblas32 package (or a usable library in it) is missing."""


@functools.cache
def openblas():
    """Where OpenBLAS lives: a dict with include_dir, lib_dir, library (the name to
    link), path (the shared library), prefix (of its symbols) and version."""
    try:
        import scipy_openblas32 as pkg  # loads the library into the process
    except ImportError as exc:
        raise BlasUnavailable("the scipy-openblas32 package is not installed "
                              "(pip install scipy-openblas32)") from exc
    lib_dir = pkg.get_lib_dir()
    path = os.path.join(lib_dir, pkg.get_library(fullname=True))
    try:
        dll = ctypes.CDLL(path)
    except OSError as exc:
        raise BlasUnavailable(f"cannot load OpenBLAS from {path}: {exc}") from exc
    prefix = next((p for p in PREFIXES if hasattr(dll, f"{p}cblas_dgemm")), None)
    if prefix is None:
        raise BlasUnavailable(f"{path} has no cblas_dgemm under the prefixes {PREFIXES}")
    return {
        "include_dir": pkg.get_include_dir(),
        "lib_dir": lib_dir,
        "library": pkg.get_library(),
        "path": path,
        "prefix": prefix,
        "version": getattr(pkg, "__version__", "unknown"),
        "dll": dll,
    }


def source():
    """The C source of the BLAS kernels: the library's symbol prefix and version,
    then runtime/blas.h (which holds all the code)."""
    info = openblas()
    version = re.sub(r"[^0-9A-Za-z.+-]", "_", info["version"])
    return "\n".join([
        f"/* symtheano BLAS kernels, scipy-openblas32 {version} */",
        f"#define ST_CBLAS_PREFIX {info['prefix']}",
        '#include "blas.h"',
        "",
    ])


def link_args():
    """Compiler arguments that find cblas.h and link the kernels against OpenBLAS."""
    info = openblas()
    return (f"-I{info['include_dir']}", f"-L{info['lib_dir']}", f"-l{info['library']}",
            f"-Wl,-rpath,{info['lib_dir']}")


def library():
    """(ffi, lib) of the compiled BLAS kernels (compiled once, then from the cache)."""
    return build.load(source(), CDEF, link_args(), description="BLAS products (OpenBLAS)")


def set_num_threads(n):
    """Run OpenBLAS (this library, not NumPy's) on `n` threads from now on."""
    info = openblas()
    getattr(info["dll"], f"{info['prefix']}openblas_set_num_threads")(int(n))


def get_num_threads():
    """The number of threads OpenBLAS (this library) runs on."""
    info = openblas()
    return int(getattr(info["dll"], f"{info['prefix']}openblas_get_num_threads")())
