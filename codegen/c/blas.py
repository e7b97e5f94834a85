"""The BLAS library of the C back end: OpenBLAS from the `scipy-openblas32`
package (CBLAS with 32-bit integers), and the compiled kernels that call it.

The package ships the headers and the shared library; every symbol carries a
prefix (`scipy_cblas_dgemm`), found here by looking the routines up in the
library, so a build with another prefix works unchanged. The kernels
(codegen/c/runtime/blas.h, which declares the CBLAS routines it calls) are
compiled once into one library without include or link paths, and fetched from
the compile cache (or the install-time bundle) afterwards; their CBLAS symbols
resolve against OpenBLAS, loaded first with RTLD_GLOBAL. The package's version
and symbol prefix are part of the source, hence of the key.
The library exports one node entry per op and float type (`st_node_gemm_f64`,
runtime/blas_node.h), which the program runner calls.

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
import pathlib
import re

from symtheano.codegen.c import build

PREFIXES = ("scipy_", "")  # scipy-openblas32 uses scipy_; a plain OpenBLAS build none
FLOAT_SUFFIX = {"float64": "f64", "float32": "f32"}
# Operand dtypes as the node entries' parameters name them (ST_DT_* in runtime/blas.h)
DTYPE_CODES = {"float64": 0, "float32": 1, "bool": 2, "int8": 3, "int16": 4, "int32": 5,
               "int64": 6, "uint8": 7, "uint16": 8, "uint32": 9, "uint64": 10}
# The node entries of runtime/blas_node.h (runtime/st_node.h), per op and result dtype
ENTRIES = ("dot", "tensordot", "matmul", "gemm", "gemv", "ger")
CDEF = "\n".join(f"int st_node_{op}_{s}(void *ctx, void *inputs, int64_t n_in, void *outputs);"
                 for op in ENTRIES for s in FLOAT_SUFFIX.values())


class BlasUnavailable(RuntimeError):
    """The scipy-openblas32 package (or a usable library in it) is missing."""


@functools.cache
def openblas():
    """Where OpenBLAS lives: a dict with include_dir, lib_dir, library (the name to
    link), path (the shared library), prefix (of its symbols) and version.

    The package is located, not imported: its __init__ reads its own version
    through importlib.metadata, which costs ~20 ms of every process's first
    compile; the version is read from the name of its dist-info folder instead."""
    import importlib.util

    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        raise BlasUnavailable("the scipy-openblas32 package is not installed "
                              "(pip install scipy-openblas32)")
    pkg_dir = pathlib.Path(list(spec.submodule_search_locations)[0])
    lib_dir = pkg_dir / "lib"
    try:
        names = sorted(n for n in os.listdir(lib_dir) if n.startswith("libscipy_openblas")
                       and (".so" in n or n.endswith(".dylib")))
    except OSError:
        names = []
    if not names:
        raise BlasUnavailable(f"scipy-openblas32 has no OpenBLAS library in {lib_dir}")
    path = str(lib_dir / names[0])
    try:
        # Global, so that the kernel library's CBLAS symbols resolve against it.
        dll = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise BlasUnavailable(f"cannot load OpenBLAS from {path}: {exc}") from exc
    prefix = next((p for p in PREFIXES if hasattr(dll, f"{p}cblas_dgemm")), None)
    if prefix is None:
        raise BlasUnavailable(f"{path} has no cblas_dgemm under the prefixes {PREFIXES}")
    infos = sorted(pkg_dir.parent.glob("scipy_openblas32-*.dist-info"))
    version = infos[-1].name[len("scipy_openblas32-"):-len(".dist-info")] if infos else (
        f"unknown, {os.stat(path).st_size} bytes")
    return {
        "include_dir": str(pkg_dir / "include"),
        "lib_dir": str(lib_dir),
        "library": names[0][3:].split(".")[0],
        "path": path,
        "prefix": prefix,
        "version": version,
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
    """Compiler arguments of the kernels: none. runtime/blas.h declares the CBLAS
    routines it calls, and they resolve at load time against OpenBLAS, loaded with
    RTLD_GLOBAL by `openblas()` (which `library` and `address` call first), so the
    library's cache key names no path and install-time builds can bundle it."""
    openblas()
    return ()


def library():
    """(ffi, lib) of the compiled BLAS kernels (compiled once, then from the cache)."""
    return build.load(source(), CDEF, link_args(), description="BLAS products (OpenBLAS)")


def address(name):
    """The address of the entry `name` of the compiled BLAS kernels."""
    return build.address(source(), name, link_args(), description="BLAS products (OpenBLAS)")


def set_num_threads(n):
    """Run OpenBLAS (this library, not NumPy's) on `n` threads from now on."""
    info = openblas()
    getattr(info["dll"], f"{info['prefix']}openblas_set_num_threads")(int(n))


def get_num_threads():
    """The number of threads OpenBLAS (this library) runs on."""
    info = openblas()
    return int(getattr(info["dll"], f"{info['prefix']}openblas_get_num_threads")())
