"""Whether the CUDA back end can run here, and if not, what is missing.

mode="CUDA" needs four things: pycuda installed, the CUDA driver loadable
(`import pycuda.driver` loads libcuda; without a driver it raises ImportError
or OSError), a GPU the driver can see, and nvcc to compile kernels. `missing()`
checks them in that order and names the first one that is not there, so
`require()` raises one error that says exactly what to install or fix. Nothing
here imports pycuda at module level: on a machine without CUDA, importing the
package and everything else keeps working.
"""

from __future__ import annotations

import importlib


class CudaUnavailable(RuntimeError):
    """mode="CUDA" cannot run on this machine; the message names what is missing."""


def _import(name):
    return importlib.import_module(name)


def missing():
    """None when the CUDA back end can run here, else one sentence naming what is
    missing: pycuda, the CUDA driver, a GPU, or nvcc."""
    try:
        _import("pycuda")
    except ImportError as exc:
        return (f"pycuda is not installed ({exc}); install it with "
                "`pip install 'symtheano[cuda]'` (see benchmarks/gpu/build_pycuda.sh for "
                "an offline build)")
    try:
        driver = _import("pycuda.driver")
    except (ImportError, OSError) as exc:
        return (f"the CUDA driver could not be loaded (`import pycuda.driver` failed: "
                f"{type(exc).__name__}: {exc}); is an NVIDIA driver installed?")
    try:
        driver.init()
        count = driver.Device.count()
    except Exception as exc:  # pycuda.driver.Error and its subclasses: cuInit failed
        return (f"no CUDA GPU is usable: the driver is installed but cuInit failed "
                f"({type(exc).__name__}: {exc})")
    if count < 1:
        return "no CUDA GPU was found: the driver is installed but sees no device"
    from symtheano.codegen.cuda import build

    try:
        build.nvcc()
    except build.NvccUnavailable as exc:
        return str(exc)
    return None


def require():
    """Raise CudaUnavailable naming what is missing, unless the CUDA back end can run."""
    problem = missing()
    if problem is not None:
        raise CudaUnavailable(f"mode='CUDA' is not available: {problem}. Use mode='C' "
                              "(the default) or mode='PY' on this machine.")
