"""Compiling generated C: the system compiler builds a shared library, cffi
loads it. Libraries are fetched from (or published to) the compile cache,
keyed by the source, the runtime headers it includes, the compiler and its
version, the flags, the platform and the package version.
"""

from __future__ import annotations

import functools
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import sysconfig
import threading

RUNTIME_DIR = pathlib.Path(__file__).resolve().parent / "runtime"
# No -ffast-math: results must keep NaN/inf and IEEE rounding. -fwrapv gives
# signed integers NumPy's wrap-around; -ffp-contract=off forbids fusing a * b + c.
FLAGS = ("-O3", "-fPIC", "-shared", "-std=gnu11", "-fwrapv", "-fno-math-errno",
         "-ffp-contract=off")
LIBRARY_FILE = "kernel.so"


class CompilerUnavailable(RuntimeError):
    """No working C compiler was found."""


@functools.cache
def compiler():
    """(path, version line) of the C compiler: $CC, else cc/gcc/clang on PATH."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if not path:
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            return path, out.stdout.splitlines()[0] if out.stdout else name
    raise CompilerUnavailable("no C compiler found (looked for $CC, cc, gcc, clang)")


def runtime_headers():
    """{file name: text} of the runtime headers (hashed into every cache key)."""
    return {p.name: p.read_text() for p in sorted(RUNTIME_DIR.glob("*.h"))}


def key_parts(source, extra_args=()):
    from symtheano import __version__

    path, version = compiler()
    parts = {
        "source": source,
        "headers": runtime_headers(),
        "compiler": f"{version} ({path})",
        "flags": " ".join(FLAGS),
        "platform": f"{sys.platform} {platform.machine()}",
        "python_abi": sysconfig.get_config_var("SOABI") or "",
        "package_version": __version__,
    }
    if extra_args:  # only when given, so that other kernels keep their keys
        parts["extra_args"] = " ".join(extra_args)
    return parts


def compile_library(source, directory, extra_args=()):
    """Compile `source` into directory/kernel.so; raise with the compiler's message.
    `extra_args` go after the source (include directories, libraries to link)."""
    directory = pathlib.Path(directory)
    src = directory / "kernel.c"
    src.write_text(source)
    path, _ = compiler()
    cmd = [path, *FLAGS, f"-I{RUNTIME_DIR}", str(src), "-o", str(directory / LIBRARY_FILE),
           *extra_args, "-lm"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"C compilation failed ({' '.join(cmd)}):\n{out.stderr[-4000:]}")


_loaded = {}
_lock = threading.Lock()


def load(source, cdef, extra_args=(), description=""):
    """(ffi, lib) for `source` compiled (with `extra_args`, see compile_library) and
    loaded once per process."""
    from cffi import FFI
    from symtheano.codegen.cache import cache_key, default_cache

    with _lock:
        extra_args = tuple(extra_args)
        found = _loaded.get((source, extra_args))
        if found is not None:
            return found
        key = cache_key(key_parts(source, extra_args))
        entry = default_cache().get_or_build(
            key, functools.partial(compile_library, source, extra_args=extra_args),
            files=(LIBRARY_FILE,),
            meta={"description": description[:120], "kind": "c-kernel"})
        ffi = FFI()
        ffi.cdef(cdef)
        lib = ffi.dlopen(str(pathlib.Path(entry) / LIBRARY_FILE))
        _loaded[(source, extra_args)] = (ffi, lib)
        return ffi, lib
