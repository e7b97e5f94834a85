"""Compiled functions beyond one machine: dask arrays and a Dask cluster.

    import symtheano.dask as sd
    y = sd.evaluate(f, x_dask)          # a lazy dask.array, blocks run compiled kernels
    problem = sd.SumOverSamples(cost, w, [X, y], [X_dask, y_dask], client=client)
    scipy.optimize.minimize(problem.fun_and_jac, w0, jac=True)

What travels to workers is always a symbolic graph (kernel.py): each worker
compiles it into its own cache, and a failed compile is a `KernelCompileError`
naming the worker. Needs the `dask` extra: pip install "symtheano[dask]".
`import symtheano` never imports dask; this module does.
"""

from __future__ import annotations

try:
    import dask.array  # noqa: F401  (the dependency this module needs, checked at once)
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("symtheano.dask needs dask: pip install 'symtheano[dask]' (dask[array] "
                      "and distributed)") from exc

from symtheano.dask.evaluate import evaluate
from symtheano.dask.kernel import Kernel, KernelCompileError
from symtheano.dask.samples import SumOverSamples

__all__ = ["evaluate", "Kernel", "KernelCompileError", "SumOverSamples"]
