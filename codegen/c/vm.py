"""The program runner `st_vm` (vm/st_vm.c): a small CPython extension, built once
per machine through the compile cache, that runs a compiled function's whole
program in one native call (see program.py for how programs are assembled).

It is the only C that includes Python.h and NumPy's headers; kernels are plain
C libraries loaded by cffi, and the runner calls their `st_node` entries by
address. Where Python's headers are missing the runner is unavailable and the
C linker dispatches node by node from Python instead (linker.CProgram).

Installing the package builds the runner as an optional extension module
(setup.py), so that a first compile does not wait for it: it is used when the
record setup.py wrote beside it (prebuilt/runner.json) names the sha256 of
this st_vm.c, and its import (NumPy's import_array) succeeds. Otherwise, or
without a compiler at install time, the runner is built through the cache.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import pathlib
import sysconfig

from symtheano.codegen.c import build

VM_SOURCE = pathlib.Path(__file__).resolve().parent / "vm" / "st_vm.c"
MODULE_NAME = "st_vm"
BUNDLED_MODULE = "symtheano.codegen.c.st_vm"  # the extension setup.py builds
BUNDLED_RECORD = build.BUNDLE_DIR / "runner.json"


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


def source_sha256(data=None):
    """sha256 hex of st_vm.c's bytes: what a bundled runner must have been built from."""
    return hashlib.sha256(VM_SOURCE.read_bytes() if data is None else data).hexdigest()


def bundled():
    """The runner extension built at install time, or None when there is none, it
    was built from another st_vm.c, or it does not import here (another NumPy
    ABI, say)."""
    try:
        record = json.loads(BUNDLED_RECORD.read_bytes())
        if not isinstance(record, dict) or record.get("source_sha256") != source_sha256():
            return None
        if importlib.util.find_spec(BUNDLED_MODULE) is None:
            return None
        return importlib.import_module(BUNDLED_MODULE)
    except Exception:  # noqa: BLE001 - any failure means: build it through the cache
        return None


@functools.cache
def module():
    """The loaded `st_vm` extension module; raises RunnerUnavailable."""
    mod = bundled()
    if mod is not None:
        return mod
    from symtheano.codegen.cache import cache_key

    try:
        extra = _include_args()
        source = VM_SOURCE.read_text()
        key = cache_key(build.key_parts(source, extra))
        entry = build.fetch(
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

