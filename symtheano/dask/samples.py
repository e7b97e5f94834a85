"""Data-parallel value and gradient of a cost that sums over samples.

Least squares, a negative log-likelihood or an MLP's summed loss are sums over
the rows of their data, and so are their gradients. `SumOverSamples` compiles
the cost and its gradient as one kernel of (theta, data rows), sends it to the
workers of a Dask cluster as a graph (kernel.py), keeps the data's row chunks
in the workers' memory, and at each point runs one task per chunk and adds
the partial values and gradients on the caller's side, in chunk order (so a
point always gives the same bits, whichever worker ran which chunk). A worker
lost mid-evaluation is Dask's to recover: its chunks are recomputed from
their lineage and the result is the same.

The parameters are packed into one float64 vector exactly as
`symtheano.optimize.Problem` packs them, so `fun_and_jac` plugs into
`scipy.optimize.minimize(..., jac=True)`; the last point is cached, since
SciPy asks for the value and the gradient separately.
"""

from __future__ import annotations

import numpy as np

from symtheano.dask.kernel import Kernel

__all__ = ["SumOverSamples"]


class SumOverSamples:
    """cost (a scalar: a sum over the rows of `data`) over `wrt`, evaluated chunk by
    chunk on a Dask cluster.

    wrt: a variable or a list of variables (the parameters). x0: their values
        (the shapes to pack, as for symtheano.optimize.Problem).
    data: the symbolic data variables of the cost (rows on axis 0); arrays: their
        values, dask arrays or NumPy arrays, all with the same number of rows.
    chunks: rows per chunk (default: the row chunks of the first dask array);
        every array is rechunked to those rows and to one chunk along other axes.
    client: a distributed.Client (default: the current one; without one, Dask's
        local scheduler). persist: keep the chunks in the workers' memory (else
        every evaluation recomputes them from their graph).
    mode: the compilation mode of the kernel (default: the configured one); every
        worker compiles with it and raises KernelCompileError where it cannot.
    penalty: a scalar of `wrt` only (a prior, a regulariser), added once to the
        sum on the caller's side; a term inside `cost` would be counted per chunk.
    """

    def __init__(self, cost, wrt, x0, data, arrays, chunks=None, client=None, persist=True,
                 mode=None, penalty=None):
        from symtheano.compile.mode import get_mode
        from symtheano.gradient import grad
        from symtheano.optimize import Problem

        data = list(data)
        arrays = list(arrays)
        if len(data) != len(arrays):
            raise ValueError(f"SumOverSamples: {len(data)} data variables but {len(arrays)} "
                             "arrays")
        for i, v in enumerate(data):
            if v.ndim < 1:
                raise ValueError(f"SumOverSamples: data[{i}] ({v}) is a scalar; data "
                                 "variables have their samples along axis 0")
        self.problem = Problem(cost, wrt, x0, args=data, mode=mode)
        self.x0 = self.problem.pack(x0)
        self.penalty = None if penalty is None else Problem(penalty, wrt, x0, mode=mode)
        theta = self.problem.theta
        value = self.problem.cost
        gradient = grad(value, theta, disconnected_inputs="ignore")
        self.kernel = Kernel([theta, *data], [value, gradient], get_mode(mode),
                             name="value_and_grad")
        arrays = [self._as_dask(a, v, i) for i, (a, v) in enumerate(zip(arrays, data))]
        rows = {a.shape[0] for a in arrays}
        if len(rows) != 1:
            raise ValueError(f"SumOverSamples: the arrays have different numbers of rows: "
                             f"{sorted(rows)}")
        row_chunks = chunks if chunks is not None else arrays[0].chunks[0]
        arrays = [a.rechunk({0: row_chunks, **{d: -1 for d in range(1, a.ndim)}})
                  for a in arrays]
        self.client = client if client is not None else _current_client()
        if persist:
            if self.client is not None:
                arrays = self.client.persist(arrays)
            else:
                import dask

                arrays = list(dask.persist(*arrays))
        self.arrays = arrays
        self.n_rows = rows.pop()
        self.chunks = arrays[0].chunks[0]
        self._blocks = [a.to_delayed().ravel().tolist() for a in arrays]
        self._futures = _block_futures(arrays) if persist and self.client is not None else None
        self._last = None  # (theta, (value, gradient))
        self.evaluations = 0

    @staticmethod
    def _as_dask(array, var, i):
        import dask.array as da

        arr = da.asarray(array)
        if arr.ndim != var.ndim:
            raise ValueError(f"SumOverSamples: arrays[{i}] has {arr.ndim} dimensions, "
                             f"data[{i}] ({var}) has {var.ndim}")
        if arr.dtype != np.dtype(var.dtype):
            if not np.can_cast(arr.dtype, var.dtype, "safe"):
                raise TypeError(f"SumOverSamples: arrays[{i}] has dtype {arr.dtype}, which "
                                f"cannot be cast to {var.dtype} ({var}) without loss")
            arr = arr.astype(var.dtype)
        return arr

    # -- what SciPy calls ----------------------------------------------------------------------

    def pack(self, values):
        """One flat float64 vector from a value per parameter (Problem.pack)."""
        return self.problem.pack(values)

    def unpack(self, theta):
        """A value per parameter from the flat vector (Problem.unpack)."""
        return self.problem.unpack(theta)

    def fun_and_jac(self, theta):
        """(cost, gradient) at theta: one task per chunk, partial results added."""
        theta = np.asarray(theta, dtype=np.float64)
        if self._last is None or not np.array_equal(theta, self._last[0]):
            self._last = (theta.copy(), self._evaluate(theta))
        value, gradient = self._last[1]
        return value, gradient.copy()

    def fun(self, theta):
        return self.fun_and_jac(theta)[0]

    def jac(self, theta):
        return self.fun_and_jac(theta)[1]

    def minimize(self, x0=None, method="L-BFGS-B", **kwargs):
        """scipy.optimize.minimize over the cluster from x0 (default: the x0 given at
        construction); `solution` holds one value per parameter."""
        import scipy.optimize

        start = self.problem.pack(x0) if x0 is not None else self.x0
        result = scipy.optimize.minimize(self.fun_and_jac, start, jac=True, method=method,
                                         **kwargs)
        result.solution = self.problem.unpack(result.x)
        return result

    def _evaluate(self, theta):
        from dask import delayed

        if self._futures is not None:  # chunks in the workers' memory: one submit each
            results = self.client.gather([self.client.submit(self.kernel, theta, *blocks,
                                                             pure=False)
                                          for blocks in zip(*self._futures)])
        else:
            task = delayed(self.kernel, pure=True)
            parts = [task(theta, *blocks) for blocks in zip(*self._blocks)]
            if self.client is not None:
                results = self.client.gather(self.client.compute(parts))
            else:
                import dask

                results = dask.compute(*parts)
        self.evaluations += 1
        value = np.float64(0.0)
        gradient = np.zeros(self.problem.n)
        for v, g in results:  # chunk order, whoever computed them: reproducible sums
            value = value + v
            gradient += g
        if self.penalty is not None:
            v, g = self.penalty.fun_and_jac(theta)
            value = value + v
            gradient += g
        return float(value), gradient


def _block_futures(arrays):
    """Per array, the futures of its persisted blocks in block order (None when
    some block is not held by the cluster)."""
    from distributed import futures_of

    out = []
    for a in arrays:
        by_key = {f.key: f for f in futures_of(a)}
        keys = list(_flatten(a.__dask_keys__()))
        if not all(k in by_key for k in keys):
            return None
        out.append([by_key[k] for k in keys])
    return out


def _flatten(nested):
    for item in nested:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _current_client():
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None
