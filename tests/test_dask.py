"""symtheano.dask: compiled functions over dask arrays and on a Dask cluster.

Blockwise and reduction results are compared with the single-process function;
the cluster tests share one LocalCluster (2 worker processes, 1 thread each,
loopback only), started once for the module since starting it takes seconds.

Tolerances: an elementwise result is computed by the same kernel on each
block, so it equals the single-process result exactly. A sum over chunks adds
partial sums in another order than one pass over the whole array; each order
is within a few n*eps of the exact sum of the magnitudes, so results are
compared with rtol 1e-12 (and an atol of 1e-12 times the largest entry, for
entries near zero by cancellation). Reproducibility is exact: the same point
gives the same bits whichever worker computed which chunk, including after a
worker was killed.
"""

import os
import pickle
import pickletools
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask

import symtheano as th
import symtheano.dask as sd
import symtheano.tensor as T

TIMEOUT = 60  # seconds for any one cluster computation


def close(actual, expected):
    expected = np.asarray(expected)
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    c = distributed.Client(cluster, timeout=TIMEOUT)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(10)
    n, p = 6000, 4
    X = rng.normal(size=(n, p))
    w = rng.normal(size=p)
    y = X @ w + 0.1 * rng.normal(size=n)
    return X, y


def test_import_does_not_load_dask():
    code = ("import sys, symtheano, symtheano.tensor; "
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


# -- evaluate, on Dask's local scheduler ---------------------------------------------------------

def test_elementwise_broadcasting_and_misaligned_chunks():
    rng = np.random.default_rng(0)
    x, b, s = T.dmatrix("x"), T.dvector("b"), T.dscalar("s")
    f = th.function([x, b, s], [T.exp(x) * b + s, T.tanh(x - b) ** 2])
    xv, bv = rng.normal(size=(50, 7)), rng.normal(size=7)
    outs = sd.evaluate(f, da.from_array(xv, chunks=(13, 4)), da.from_array(bv, chunks=3), 0.5)
    assert all(isinstance(o, da.Array) for o in outs)
    got = dask.compute(*outs, scheduler="sync")
    for g, e in zip(got, f(xv, bv, 0.5)):
        np.testing.assert_array_equal(g, e)  # the same kernel per element: exact


def test_declared_broadcasting_only():
    # Theano's rule inside blocks: a size-1 array where the type says "any size" is
    # an error, as in the single-process function.
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = th.function([x, y], x + y)
    bad = sd.evaluate(f, da.ones((6, 4), chunks=3), da.ones((1, 4), chunks=2))
    with pytest.raises(ValueError):
        bad.compute(scheduler="sync")


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_reductions(axis):
    rng = np.random.default_rng(1)
    x = T.dmatrix("x")
    outs = [T.sum(T.sqr(x) + 1, axis=axis), T.mean(x, axis=axis), T.max(T.exp(x), axis=axis),
            T.min(x, axis=axis, keepdims=True), T.any(T.gt(x, 2.5), axis=axis),
            x - T.mean(x, axis=axis, keepdims=True)]
    f = th.function([x], outs)
    xv = rng.normal(size=(40, 9))
    got = dask.compute(*sd.evaluate(f, da.from_array(xv, chunks=(7, 4)), split_every=2),
                       scheduler="sync")
    for g, e in zip(got, f(xv)):
        assert g.shape == e.shape and g.dtype == e.dtype
        close(g, e)


def test_product_uses_dasks_dot(data):
    X, y = data
    Xs, w = T.dmatrix("X"), T.dvector("w")
    f = th.function([Xs, w], T.sum(T.sqr(T.dot(Xs, w))))
    got = sd.evaluate(f, da.from_array(X, chunks=(1000, 2)), np.ones(X.shape[1]))
    close(got.compute(scheduler="sync"), f(X, np.ones(X.shape[1])))


def test_unsplittable_op_is_named():
    x = T.dvector("x")
    f = th.function([x], T.sort(x))
    with pytest.raises(NotImplementedError, match="(?i)sort"):
        sd.evaluate(f, da.ones(10, chunks=3))


def _globals(payload):
    """The module-level names a pickle refers to (what unpickling imports)."""
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(payload):
        if op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.add(f"{strings[-2]}.{strings[-1]}")
        if isinstance(arg, str):
            strings.append(arg)
    return found


def test_what_workers_receive_is_a_graph_not_native_code():
    import cloudpickle

    x, b = T.dmatrix("x"), T.dvector("b")
    f = th.function([x, b], T.sum(T.exp(x) * b, axis=0))
    f(np.ones((2, 3)), np.ones(3))  # compiled here: nothing of it may travel
    arr = sd.evaluate(f, da.ones((8, 3), chunks=4), np.ones(3))
    payload = cloudpickle.dumps(dict(arr.__dask_graph__()))
    names = _globals(payload)
    assert any(n.startswith("symtheano.dask.kernel") for n in names)
    assert not [n for n in names if n.startswith(("symtheano.codegen", "symtheano.compile.f",
                                                  "ctypes", "_cffi", "cffi"))], names
    assert b"\x7fELF" not in payload
    kernel = sd.Kernel([x, b], T.exp(x) * b, f.mode, name="k")
    rebuilt = pickle.loads(pickle.dumps(kernel))
    assert rebuilt.key == kernel.key and rebuilt is not kernel
    np.testing.assert_allclose(rebuilt(np.ones((2, 3)), np.ones(3)), np.e, rtol=1e-14)


# -- on the cluster --------------------------------------------------------------------------------

def _least_squares():
    """Ridge regression: a sum over rows, and a penalty counted once."""
    X, y, w = T.dmatrix("X"), T.dvector("y"), T.dvector("w")
    return T.sum(T.sqr(T.dot(X, w) - y)), 1e-3 * T.sum(T.sqr(w)), w, X, y


def test_evaluate_on_the_cluster(client, data):
    X, _ = data
    x = T.dmatrix("x")
    f = th.function([x], [T.sum(T.exp(x) - x, axis=0), T.log1p(T.sqr(x))])
    got = client.compute(sd.evaluate(f, da.from_array(X, chunks=(1000, 3))), sync=False)
    result = client.gather(got)
    expected = f(X)
    close(result[0], expected[0])
    np.testing.assert_array_equal(result[1], expected[1])


def test_value_and_grad_over_chunks(client, data):
    X, y = data
    cost, penalty, w, Xs, ys = _least_squares()
    n_chunks = 6
    problem = sd.SumOverSamples(cost, w, np.zeros(X.shape[1]), [Xs, ys],
                                [da.from_array(X, chunks=(X.shape[0] // n_chunks, -1)), y],
                                client=client, penalty=penalty)
    assert len(problem.chunks) == n_chunks
    assert problem._futures is not None  # chunks held by the workers, one submit per chunk
    theta = np.linspace(-1, 1, X.shape[1])
    value, gradient = problem.fun_and_jac(theta)
    single = th.function([Xs, ys, w], [cost + penalty, T.grad(cost + penalty, w)])
    expected_value, expected_gradient = single(X, y, theta)
    close(value, expected_value)
    close(gradient, expected_gradient)
    # The same kernel per chunk on this process, added in chunk order: the same bits.
    local = sd.SumOverSamples(cost, w, np.zeros(X.shape[1]), [Xs, ys],
                              [X, y],
                              chunks=problem.chunks, client=None, persist=False,
                              penalty=penalty)
    with dask.config.set(scheduler="sync"):
        assert local.fun_and_jac(theta)[0] == value
        np.testing.assert_array_equal(local.fun_and_jac(theta)[1], gradient)
    # As scipy.optimize's fun/jac: the minimiser of the regularised least squares.
    before = problem.evaluations
    result = problem.minimize(method="L-BFGS-B", options={"gtol": 1e-10})
    exact = np.linalg.solve(X.T @ X + 1e-3 * np.eye(X.shape[1]), X.T @ y)
    np.testing.assert_allclose(result.x, exact, rtol=1e-6)
    # SciPy asks for fun and jac at each point: one evaluation per point.
    assert problem.evaluations - before == result.nfev


def _kill_once(marker):
    """A block function that kills its worker process the first time any block
    passes through it (the marker file records that it happened)."""

    def block(x):
        if not os.path.exists(marker):
            with open(marker, "w") as fh:
                fh.write(str(os.getpid()))
            os._exit(1)
        return x

    return block


def test_worker_killed_mid_computation(client, data, tmp_path):
    X, y = data
    cost, penalty, w, Xs, ys = _least_squares()
    chunks = (X.shape[0] // 5, -1)
    theta = np.full(X.shape[1], 0.25)
    steady = sd.SumOverSamples(cost, w, theta, [Xs, ys], [da.from_array(X, chunks=chunks), y],
                               client=client)
    expected = steady.fun_and_jac(theta)
    marker = str(tmp_path / "killed")
    # Not persisted: every evaluation reads the chunks through the killing step.
    killing = da.from_array(X, chunks=chunks).map_blocks(_kill_once(marker), dtype=X.dtype,
                                                      meta=np.empty((0, 0)))
    problem = sd.SumOverSamples(cost, w, theta, [Xs, ys], [killing, y], client=client,
                                persist=False)
    value, gradient = problem.fun_and_jac(theta)
    assert os.path.exists(marker), "no worker was killed"
    assert value == expected[0]
    np.testing.assert_array_equal(gradient, expected[1])
    # evaluate too: a dead worker's blocks are recomputed and the tree is the same.
    x = T.dmatrix("x")
    f = th.function([x], T.sum(T.exp(-T.sqr(x)), axis=0))
    reference = client.compute(sd.evaluate(f, da.from_array(X, chunks=chunks))).result(TIMEOUT)
    marker2 = str(tmp_path / "killed2")
    killing = da.from_array(X, chunks=chunks).map_blocks(_kill_once(marker2), dtype=X.dtype,
                                                      meta=np.empty((0, 0)))
    got = client.compute(sd.evaluate(f, killing)).result(TIMEOUT)
    assert os.path.exists(marker2)
    np.testing.assert_array_equal(got, reference)
    client.wait_for_workers(2, timeout=TIMEOUT)


def test_worker_compile_failure_is_reported(client, tmp_path):
    x = T.dvector("x")
    f = th.function([x], T.cosh(x) * 2.75 - T.sinh(x) * 0.125)
    if f.mode.linker != "c":
        pytest.skip("needs a C compiler (functions run on the reference back end)")
    fake = tmp_path / "fakecc"
    fake.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "fakecc 0.0"; exit 0; '
                    'fi\necho "fakecc: simulated compiler failure" >&2\nexit 1\n')
    fake.chmod(0o755)

    def set_compiler(cc, cache):
        from symtheano.codegen.c import build

        for name, value in (("CC", cc), ("SYMTHEANO_CACHE_DIR", cache)):
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        build.compiler.cache_clear()

    saved = client.run(lambda: (os.environ.get("CC"), os.environ.get("SYMTHEANO_CACHE_DIR")))
    client.run(set_compiler, str(fake), str(tmp_path / "cache"))
    try:
        with pytest.raises(sd.KernelCompileError) as info:
            client.compute(sd.evaluate(f, da.ones(12, chunks=4))).result(TIMEOUT)
    finally:
        for address, (cc, cache) in saved.items():
            client.run(set_compiler, cc, cache, workers=[address])
    message = str(info.value)
    assert "worker tcp://127.0.0.1" in message
    assert "fakecc: simulated compiler failure" in message
