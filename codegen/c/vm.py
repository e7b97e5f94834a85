"""The program runner `st_vm` (vm/st_vm.c): a small CPython extension, built once
per machine through the compile cache, that runs a compiled function's whole
program in one native call (see program.py for how programs are assembled).

It is the only C that includes Python.h and NumPy's headers; kernels are plain
C libraries loaded by cffi, and the runner calls their `st_node` entries by
address. Where Python's headers are missing the runner is unavailable and the
C linker dispatches node by node from Python instead (linker.CProgram).
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import pathlib
import sysconfig

from symtheano.codegen.c import build

VM_SOURCE = pathlib.Path(__file__).resolve().parent / "vm" / "st_vm.c"
MODULE_NAME = "st_vm"


class RunnerUnavailable(RuntimeError):
    """The program runner cannot be built here (no compiler or no Python headers)."""


def _include_args():
    import numpy

    python_include = sysconfig.get_paths()["include"]
    if not (pathlib.Path(python_include) / "Python.h").is_file():
        raise RunnerUnavailable(f"Python's C headers are missing ({python_include}/Python.h); "
                                "install the python3-dev package to run programs natively")
    # NumPy's version is named so that the runner is rebuilt for another NumPy.
    return (f"-I{python_include}", f"-I{numpy.get_include()}",
            f"-DST_NUMPY_VERSION=\"{numpy.__version__}\"")


@functools.cache
def module():
    """The loaded `st_vm` extension module; raises RunnerUnavailable."""
    from symtheano.codegen.cache import cache_key, default_cache

    try:
        extra = _include_args()
        source = VM_SOURCE.read_text()
        key = cache_key(build.key_parts(source, extra))
        entry = default_cache().get_or_build(
            key, functools.partial(build.compile_library, source, extra_args=extra),
            files=(build.LIBRARY_FILE,),
            meta={"description": "program runner st_vm", "kind": "c-runner"})
    except build.CompilerUnavailable as exc:
        raise RunnerUnavailable(str(exc)) from None
    except RuntimeError as exc:
        raise RunnerUnavailable(f"the program runner did not compile: {exc}") from None
    path = str(pathlib.Path(entry) / build.LIBRARY_FILE)
    loader = importlib.machinery.ExtensionFileLoader(MODULE_NAME, path)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def available():
    """True when the runner can be built and loaded here."""
    try:
        module()
    except RunnerUnavailable:
        return False
    return True

