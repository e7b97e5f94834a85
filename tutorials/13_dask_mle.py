"""Maximum likelihood over ten million rows, in chunks, on a Dask cluster.

Run it with `python tutorials/13_dask_mle.py` (needs `pip install "symtheano[dask]"`).
SYMTHEANO_TUTORIAL_ROWS sets the number of rows (default 10,000,000; the test
suite runs it with fewer).

A logistic model's negative log-likelihood is a sum over observations, and so
is its gradient. `symtheano.dask.SumOverSamples` compiles value and gradient
as one kernel, sends it to the workers of a cluster as a graph (each worker
compiles it into its own cache), keeps the data's row chunks in the workers'
memory, runs one task per chunk at each point and adds the partial sums.
SciPy's L-BFGS-B drives it through `fun_and_jac`, as it would a single-machine
function. Here the "cluster" is two worker processes on this machine.
"""

import os
import time

import numpy as np

if __name__ == "__main__":
    import dask.array as da
    from distributed import Client, LocalCluster

    import symtheano.dask as sd
    import symtheano.optimize as so
    import symtheano.tensor as T

    n_rows = int(os.environ.get("SYMTHEANO_TUTORIAL_ROWS", 10_000_000))
    rows_per_chunk = max(n_rows // 8, 1)
    true_beta = np.array([-0.5, 1.0, 2.0])

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)

    # ## The data, made in chunks where it will be used
    #
    # Dask's random generator draws each chunk on a worker, so the data never
    # passes through this process on its way to the cluster. `persist` keeps
    # the chunks in the workers' memory.

    rng = da.random.default_rng(42)
    features = rng.normal(size=(n_rows, 2), chunks=(rows_per_chunk, 2))
    X = da.concatenate([da.ones((n_rows, 1), chunks=(rows_per_chunk, 1)), features], axis=1)
    p = 1 / (1 + da.exp(-(X @ true_beta)))
    y = (rng.uniform(size=n_rows, chunks=rows_per_chunk) < p).astype(float)
    X, y = client.persist([X, y])

    # ## The model, written once
    #
    # The negative log-likelihood is a sum over rows of softplus terms; the
    # same expression serves the single machine and the cluster.

    beta = T.dvector("beta")
    Xs, ys = T.dmatrix("X"), T.dvector("y")
    eta = T.dot(Xs, beta)
    nll = T.sum(T.softplus(eta) - ys * eta)
    options = {"gtol": 1e-8}

    # ## One machine: the whole data set in this process
    #
    # symtheano.optimize compiles value and gradient into one function of the
    # packed parameters; the data are fixed `args`. Both sides are timed warm:
    # one evaluation first compiles (here, and on every worker).

    import scipy.optimize

    X_local, y_local = client.gather(client.compute([X, y]))
    local = so.Problem(nll, beta, np.zeros(3), args=[Xs, ys])
    local.fun_and_jac(np.ones(3), X_local, y_local)
    start = time.perf_counter()
    single = scipy.optimize.minimize(local.fun_and_jac, np.zeros(3), args=(X_local, y_local),
                                     jac=True, method="L-BFGS-B", options=options)
    single_s = time.perf_counter() - start
    del X_local, y_local

    # ## The cluster: one task per chunk at each point
    #
    # SumOverSamples packs the parameters as symtheano.optimize does, so its
    # fun_and_jac is what scipy.optimize.minimize(jac=True) calls.

    problem = sd.SumOverSamples(nll, beta, np.zeros(3), [Xs, ys], [X, y], client=client)
    problem.fun_and_jac(np.ones(3))
    start = time.perf_counter()
    distributed = scipy.optimize.minimize(problem.fun_and_jac, np.zeros(3), jac=True,
                                          method="L-BFGS-B", options=options)
    cluster_s = time.perf_counter() - start

    print(f"{n_rows:,} rows in {len(problem.chunks)} chunks of {rows_per_chunk:,}")
    print(f"{'':14}{'one machine':>14}{'cluster (2 workers)':>22}")
    print(f"{'time (s)':14}{single_s:14.2f}{cluster_s:22.2f}")
    print(f"{'evaluations':14}{single.nfev:14d}{distributed.nfev:22d}")
    for i in range(3):
        label = f"beta[{i}]"
        print(f"{label:14}{single.x[i]:14.6f}{distributed.x[i]:22.6f}")
    print(f"true beta: {true_beta}")

    # ## The claims
    #
    # Both runs find the same maximum: the cluster's sums add the same terms in
    # another order (chunk by chunk), which changes only the last bits of each
    # value, so the two searches may take different last steps but stop within
    # the tolerance of each other. With millions of rows, the estimate is close
    # to the truth (standard errors shrink as 1/sqrt(rows)).
    assert single.success and distributed.success
    np.testing.assert_allclose(distributed.x, single.x, atol=1e-4)
    assert np.all(np.abs(distributed.x - true_beta) < 20 / np.sqrt(n_rows) + 1e-3)
    value, gradient = problem.fun_and_jac(distributed.x)
    assert np.isclose(value, single.fun, rtol=1e-9)

    client.close()
    cluster.close()
