"""scan: results and gradients against explicit Python loops of the same
computation, in the reference back end and in C (where the program runner runs
the whole loop natively); taps, several outputs, updates, truncation, errors,
the loop-invariant rewrite, and the speed of a 10,000-step loop in C."""

from __future__ import annotations

import time

import numpy as np
import pytest
from symtheano.codegen.c import vm

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import _compiler_works
from symtheano.scan_module import Scan, until

MODES = ["PY", "C"]
rng = np.random.default_rng(7)


def needs_c(mode):
    if mode == "C" and not (_compiler_works() and vm.available()):
        pytest.skip("no C compiler or program runner here: mode='C' is the reference")


def scan_nodes(f):
    return [n for n in f.fgraph.toposort() if isinstance(n.op, Scan)]


@pytest.fixture(params=MODES)
def mode(request):
    needs_c(request.param)
    return request.param


# -- semantics -----------------------------------------------------------------------------------

def test_power_with_n_steps_only(mode):
    k, A = T.iscalar("k"), T.dvector("A")
    result, updates = th.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                              non_sequences=A, n_steps=k)
    assert not updates
    f = th.function([A, k], result, mode=mode)
    a = np.arange(1.0, 5.0)
    got = f(a, 3)
    np.testing.assert_allclose(got, [a, a ** 2, a ** 3])
    assert f(a, 0).shape == (0, 4)


def test_sequence_taps(mode):
    x = T.dvector("x")
    out, _ = th.scan(lambda a, b, c: a + 2 * b + 3 * c,
                     sequences=dict(input=x, taps=[-2, 0, 1]))
    f = th.function([x], out, mode=mode)
    xv = rng.normal(size=9)
    want = [xv[t - 2] + 2 * xv[t] + 3 * xv[t + 1] for t in range(2, 8)]
    np.testing.assert_allclose(f(xv), want)


def test_output_taps_and_initial_rows(mode):
    x0 = T.dvector("x0")  # two rows: the values at steps -2 and -1
    fib, _ = th.scan(lambda a, b: a + b, outputs_info=dict(initial=x0, taps=[-2, -1]),
                     n_steps=8)
    f = th.function([x0], fib, mode=mode)
    want, seq = [], [1.0, 1.0]
    for _ in range(8):
        seq.append(seq[-2] + seq[-1])
        want.append(seq[-1])
    np.testing.assert_allclose(f(np.array([1.0, 1.0])), want)


def test_several_outputs_with_a_non_recurrent_one(mode):
    x, h0 = T.dmatrix("x"), T.dvector("h0")

    def step(xt, h):
        new = h + xt
        return [new, T.sum(xt ** 2), new * 2]

    (hs, sq, dbl), _ = th.scan(step, sequences=x, outputs_info=[h0, None, None])
    f = th.function([x, h0], [hs, sq, dbl], mode=mode)
    xv, hv = rng.normal(size=(5, 3)), rng.normal(size=3)
    got = f(xv, hv)
    want_h = hv + np.cumsum(xv, axis=0)
    np.testing.assert_allclose(got[0], want_h)
    np.testing.assert_allclose(got[1], (xv ** 2).sum(axis=1))
    np.testing.assert_allclose(got[2], 2 * want_h)


def test_outputs_info_none_maps_like_map(mode):
    x = T.dvector("x")
    y, _ = th.scan(lambda v: v ** 2, sequences=[x])
    f = th.function([x], y, mode=mode)
    np.testing.assert_allclose(f(np.arange(4.0)), np.arange(4.0) ** 2)


def test_two_sequences_stop_at_the_shorter(mode):
    coeffs, x = T.dvector("coeffs"), T.dscalar("x")
    parts, _ = th.scan(lambda c, p, x: c * x ** p, sequences=[coeffs, T.arange(100)],
                       non_sequences=x)
    f = th.function([coeffs, x], parts.sum(), mode=mode)
    np.testing.assert_allclose(f(np.array([1.0, 0.0, 2.0]), 3.0), 1 + 2 * 9)


def test_free_variables_and_shared_variables_are_read(mode):
    x, scale = T.dvector("x"), T.dscalar("scale")
    w = th.shared(np.float64(2.0), name="w")
    out, _ = th.scan(lambda v: v * scale + w, sequences=x)  # neither is a non_sequence
    f = th.function([x, scale], out, mode=mode)
    np.testing.assert_allclose(f(np.arange(3.0), 3.0), np.arange(3.0) * 3 + 2)


def test_go_backwards(mode):
    x = T.dvector("x")
    acc, _ = th.scan(lambda v, a: a + v, sequences=x, outputs_info=T.constant(0.0),
                     go_backwards=True)
    f = th.function([x], acc, mode=mode)
    xv = np.arange(1.0, 5.0)
    np.testing.assert_allclose(f(xv), np.cumsum(xv[::-1]))
    g = th.function([x], T.grad(acc[1], x), mode=mode)  # x[3] + x[2]
    np.testing.assert_allclose(g(xv), [0, 0, 1, 1])


def test_updates_from_shared_variables(mode):
    count = th.shared(np.int64(0), name="count")
    total = th.shared(np.float64(0.0), name="total")
    x = T.dvector("x")

    def step(v):
        return v * count, {count: count + 1, total: total + v}

    out, updates = th.scan(step, sequences=x)
    assert list(updates) == [count, total]
    f = th.function([x], out, updates=updates, mode=mode)
    np.testing.assert_allclose(f(np.array([5.0, 5.0, 5.0])), [0, 5, 10])
    assert count.get_value() == 3 and total.get_value() == 15
    np.testing.assert_allclose(f(np.array([1.0])), [3.0])  # the counter carries on
    assert count.get_value() == 4


def test_random_stream_advances_at_every_step(mode):
    random = pytest.importorskip("symtheano.tensor.random")
    if not hasattr(random, "RandomStreams"):
        pytest.skip("no RandomStreams here")
    u = random.RandomStreams(seed=3).uniform(())
    values, updates = th.scan(lambda: u * 1.0, n_steps=4)  # a default update is carried
    assert len(updates) == 1
    f = th.function([], values, updates=updates, mode=mode)
    first, second = f(), f()
    assert len(set(first.tolist())) == 4 and not np.any(first == second)


def test_only_updates_returned(mode):
    count = th.shared(np.int64(0), name="count")
    outs, updates = th.scan(lambda: {count: count + 2}, n_steps=5)
    assert outs == []
    f = th.function([], [], updates=updates, mode=mode)
    f()
    assert count.get_value() == 10


def test_nested_scan(mode):
    m = T.dmatrix("m")
    rows, _ = th.scan(lambda r: th.scan(lambda v, a: a + v, sequences=r,
                                        outputs_info=T.constant(0.0))[0][-1], sequences=m)
    f = th.function([m], rows, mode=mode)
    mv = rng.normal(size=(3, 4))
    np.testing.assert_allclose(f(mv), mv.sum(axis=1))
    g = th.function([m], T.grad(rows.sum() ** 2, m), mode=mode)
    np.testing.assert_allclose(g(mv), np.full_like(mv, 2 * mv.sum()))


def test_jacobian_by_scan(mode):
    x = T.dvector("x")
    y = x ** 2
    J, _ = th.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                   non_sequences=[y, x])
    f = th.function([x], J, mode=mode)
    np.testing.assert_allclose(f(np.array([4.0, 4.0])), [[8, 0], [0, 8]])


# -- gradients against an explicit loop --------------------------------------------------------

def _rnn_step(x_t, h, W, U, b):
    return T.tanh(T.dot(W, h) + T.dot(U, x_t) + b)


def _rnn_inputs():
    return (T.dmatrix("X"), T.dvector("h0"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"))


def _rnn_values(steps=6):
    return (rng.normal(size=(steps, 2)), rng.normal(size=3), rng.normal(size=(3, 3)) * 0.6,
            rng.normal(size=(3, 2)), rng.normal(size=3))


def test_rnn_results_and_gradients_match_an_unrolled_loop(mode):
    X, h0, W, U, b = inputs = _rnn_inputs()
    hs, _ = th.scan(_rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U, b])
    cost = T.sum(hs ** 2) + T.sum(hs[-1])
    values = _rnn_values()
    h, unrolled = h0, []
    for t in range(values[0].shape[0]):
        h = _rnn_step(X[t], h, W, U, b)
        unrolled.append(h)
    cost_loop = sum(T.sum(v ** 2) for v in unrolled) + T.sum(unrolled[-1])
    f = th.function(list(inputs), [cost] + T.grad(cost, list(inputs)), mode=mode)
    ref = th.function(list(inputs), [cost_loop] + T.grad(cost_loop, list(inputs)), mode="PY")
    for got, want in zip(f(*values), ref(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_rnn_gradient_matches_central_differences():
    X, h0, W, U, b = _rnn_inputs()

    def cost(Xv, h0v, Wv, Uv, bv):
        hs, _ = th.scan(_rnn_step, sequences=Xv, outputs_info=h0v, non_sequences=[Wv, Uv, bv])
        return T.sum(hs ** 2)

    th.gradient.verify_grad(cost, list(_rnn_values(4)), mode="PY")


def test_output_taps_gradient_matches_an_unrolled_loop(mode):
    x, init, w = T.dvector("x"), T.dvector("init"), T.dscalar("w")

    def step(xt, a, c, w):  # taps -3 and -1
        return T.sin(a) * w + c * xt

    ys, _ = th.scan(step, sequences=x, outputs_info=dict(initial=init, taps=[-3, -1]),
                    non_sequences=w)
    cost = T.sum(ys * T.arange(1, 8))
    seq = [init[0], init[1], init[2]]
    for t in range(7):
        seq.append(step(x[t], seq[-3], seq[-1], w))
    cost_loop = sum(v * (t + 1) for t, v in enumerate(seq[3:]))
    wrt = [x, init, w]
    f = th.function(wrt, [cost] + T.grad(cost, wrt), mode=mode)
    ref = th.function(wrt, [cost_loop] + T.grad(cost_loop, wrt), mode="PY")
    values = (rng.normal(size=7), rng.normal(size=3), 0.7)
    for got, want in zip(f(*values), ref(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_gradient_through_several_outputs_and_a_map(mode):
    x, a0 = T.dvector("x"), T.dscalar("a0")

    def step(v, a):
        return [a * v + 1, T.exp(v * a)]

    (acc, ex), _ = th.scan(step, sequences=x, outputs_info=[a0, None])
    cost = acc[-1] + T.sum(ex)
    a, parts = a0, []
    for t in range(4):
        parts.append(T.exp(x[t] * a))
        a = a * x[t] + 1
    cost_loop = a + sum(parts)
    f = th.function([x, a0], T.grad(cost, [x, a0]), mode=mode)
    ref = th.function([x, a0], T.grad(cost_loop, [x, a0]), mode="PY")
    values = (rng.uniform(-1, 1, 4), 0.3)
    for got, want in zip(f(*values), ref(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_gradient_through_a_shared_update(mode):
    x = T.dvector("x")
    s = th.shared(np.float64(0.5), name="s")
    out, updates = th.scan(lambda v: (v * s, {s: s * v}), sequences=x)
    cost = T.sum(out) + updates[s]
    state, total = s, 0
    for t in range(3):
        total = total + x[t] * state
        state = state * x[t]
    cost_loop = total + state
    f = th.function([x], T.grad(cost, [x, s]), mode=mode)
    ref = th.function([x], T.grad(cost_loop, [x, s]), mode="PY")
    xv = rng.normal(size=3)
    for got, want in zip(f(xv), ref(xv)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_truncate_gradient(mode):
    X, h0, W, U, b = inputs = _rnn_inputs()
    hs, _ = th.scan(_rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U, b],
                    truncate_gradient=2)
    cost = T.sum(hs[-1])
    # The same loop with the state two steps before the end held constant.
    h = h0
    for t in range(5):
        if t == 3:
            h = th.gradient.disconnected_grad(h)
        h = _rnn_step(X[t], h, W, U, b)
    wrt = [X, W, U, b]
    f = th.function(list(inputs), T.grad(cost, wrt), mode=mode)
    ref = th.function(list(inputs), T.grad(T.sum(h), wrt), mode="PY")
    values = _rnn_values(5)
    for got, want in zip(f(*values), ref(*values)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    g_h0 = th.function(list(inputs), T.grad(cost, h0), mode=mode, on_unused_input="ignore")
    assert not np.any(g_h0(*values))  # five steps, two backpropagated: h0 gets nothing
    full = th.function(list(inputs), T.grad(cost, h0), mode=mode, on_unused_input="ignore")
    assert full(*_rnn_values(2)).any()  # two steps: truncation changes nothing


def test_second_derivative_through_scan(mode):
    x, w = T.dvector("x"), T.dscalar("w")
    ys, _ = th.scan(lambda v, a, w: T.tanh(a * w + v), sequences=x,
                    outputs_info=T.constant(0.1), non_sequences=w)
    g = T.grad(T.sum(ys ** 2), w)
    h = T.grad(g, w)
    f = th.function([x, w], [g, h], mode=mode)
    xv, wv, eps = rng.normal(size=5), 0.8, 1e-5
    g0, h0 = f(xv, wv)
    numeric = (f(xv, wv + eps)[0] - f(xv, wv - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(h0, numeric, rtol=1e-6)


def test_forward_mode_matches_reverse_mode(mode):
    X, h0, W, U, b = inputs = _rnn_inputs()
    hs, _ = th.scan(_rnn_step, sequences=X, outputs_info=h0, non_sequences=[W, U, b])
    vs = [v.type.make_variable(f"v{i}") for i, v in enumerate(inputs)]
    u = T.dmatrix("u")
    jv = T.Rop(hs, list(inputs), vs)
    jtu = T.Lop(hs, list(inputs), u)
    f = th.function(list(inputs) + vs + [u], [jv] + jtu, mode=mode)
    values = _rnn_values()
    directions = [rng.normal(size=np.shape(v)) for v in values]
    uv = rng.normal(size=(values[0].shape[0], 3))
    jv_val, *jtu_val = f(*values, *directions, uv)
    forward = np.sum(uv * jv_val)
    reverse = sum(np.sum(g * d) for g, d in zip(jtu_val, directions))
    np.testing.assert_allclose(forward, reverse, rtol=1e-10)


def test_jacobian_and_hessian_of_a_scan(mode):
    x = T.dvector("x")
    acc, _ = th.scan(lambda v, a: a * v + 1, sequences=x, outputs_info=T.constant(1.0))
    f = th.function([x], [T.jacobian(acc, x), T.hessian(acc[-1], x)], mode=mode)
    J, H = f(np.array([1.0, 2.0, 3.0]))
    # a3 = x0 x1 x2 + x1 x2 + x2 + 1
    np.testing.assert_allclose(J, [[1, 0, 0], [2, 2, 0], [6, 6, 5]])
    np.testing.assert_allclose(H, [[0, 3, 2], [3, 0, 2], [2, 2, 0]])


# -- the rewrite ---------------------------------------------------------------------------------

def test_loop_invariant_computation_moves_out(mode):
    x, W = T.dmatrix("x"), T.dmatrix("W")
    out, _ = th.scan(lambda v, W: T.dot(T.dot(W, W.T), v), sequences=x, non_sequences=W)
    f = th.function([x, W], out, mode=mode)
    assert f.rewrite_report().counts["scan_pushout_invariant"] >= 1
    (node,) = scan_nodes(f)
    inner = [type(n.op).__name__ for n in th.graph.basic.toposort(node.op.inner_outputs)]
    assert inner.count("DimShuffle") == 0, inner  # W.T is computed before the loop
    assert len(node.op.inner_inputs) == 2  # a row of x and dot(W, W.T)
    xv, Wv = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    np.testing.assert_allclose(f(xv, Wv), xv @ (Wv @ Wv.T).T)


# -- errors --------------------------------------------------------------------------------------

def test_missing_n_steps_without_sequences():
    with pytest.raises(ValueError, match="n_steps is required"):
        th.scan(lambda a: a * 2, outputs_info=T.dscalar("a"))


def test_output_shape_changing_between_steps(mode):
    x = T.dvector("x")
    out, _ = th.scan(lambda a: T.concatenate([a, a]), outputs_info=x, n_steps=3)
    f = th.function([x], out, mode=mode)
    with pytest.raises(ValueError, match=r"outputs_info\[0\].*step 0.*must not change"):
        f(np.ones(2))


def test_an_error_inside_a_step_names_the_loop(mode):
    x = T.dvector("x")
    idx = T.lvector("idx")
    out, _ = th.scan(lambda i, x: x[i], sequences=idx, non_sequences=x)
    f = th.function([idx, x], out, mode=mode)
    with pytest.raises(IndexError) as info:
        f(np.array([0, 5]), np.zeros(3))
    notes = " ".join(getattr(info.value, "__notes__", []))
    assert "in step 1 of the loop" in notes and "scan.out" in notes, notes


def test_map_output_shape_changing_between_steps(mode):
    n = T.lscalar("n")
    out, _ = th.scan(lambda i: T.arange(i), sequences=T.arange(n))
    f = th.function([n], out, mode=mode)
    with pytest.raises(ValueError, match=r"output 0 the shape \(1,\) at step 1"):
        f(3)


def test_bad_arguments_name_the_argument():
    x = T.dvector("x")
    with pytest.raises(ValueError, match=r"fn returned 2 output\(s\), but outputs_info has 1"):
        th.scan(lambda v: [v, v], sequences=x, outputs_info=[None])
    with pytest.raises(TypeError, match=r"outputs_info\[0\] has dtype int64"):
        th.scan(lambda a: a * 0.5, outputs_info=T.lscalar("a"), n_steps=2)
    with pytest.raises(ValueError, match=r"outputs_info\[0\] taps must be negative"):
        th.scan(lambda a: a, outputs_info=dict(initial=x, taps=[1]), n_steps=2)
    with pytest.raises(ValueError, match=r"sequences\[0\].*is a scalar"):
        th.scan(lambda a: a, sequences=T.dscalar("s"))
    with pytest.raises(TypeError, match="n_steps must be an integer"):
        th.scan(lambda: x, n_steps=T.dscalar("n"))
    with pytest.raises(TypeError, match="not a shared variable"):
        th.scan(lambda v: (v, {x: v}), sequences=x)
    with pytest.raises(NotImplementedError, match="until"):
        until(x.sum() > 0)


def test_short_sequence_with_explicit_n_steps(mode):
    x = T.dvector("x")
    out, _ = th.scan(lambda v: v + 1, sequences=x, n_steps=5)
    f = th.function([x], out, mode=mode)
    with pytest.raises(ValueError, match=r"sequences\[0\] has 3 entries, fewer than the 5 steps"):
        f(np.zeros(3))


def test_python_number_initial_value_takes_the_output_dtype(mode):
    x = T.fvector("x")
    acc, _ = th.scan(lambda v, a: a + v, sequences=x, outputs_info=0)
    assert acc.dtype == "float32"
    f = th.function([x], acc, mode=mode)
    np.testing.assert_allclose(f(np.ones(3, "float32")), [1, 2, 3])


def test_infer_shape_of_a_map_output():
    x, W = T.dmatrix("x"), T.dmatrix("W")
    out, _ = th.scan(lambda v, W: T.dot(W, v), sequences=x, non_sequences=W)
    f = th.function([x, W], out.shape, mode="PY")
    # the shape comes from the inputs' shapes: the loop itself does not run
    assert not scan_nodes(f)
    np.testing.assert_array_equal(f(np.zeros((4, 3)), np.zeros((5, 3))), [4, 5])


# -- C -----------------------------------------------------------------------------------------

def test_c_runs_the_loop_natively():
    needs_c("C")
    x = T.dvector("x")
    acc, _ = th.scan(lambda v, a: a + v, sequences=x, outputs_info=T.constant(0.0))
    f = th.function([x], acc, mode="C")
    kinds = dict(zip(f.program.nodes, f.program.kinds))
    (node,) = scan_nodes(f)
    assert kinds[node] == "native"


def test_ten_thousand_steps_in_c_are_20x_faster_than_the_reference():
    needs_c("C")
    W, b, x0, n = T.dmatrix("W"), T.dvector("b"), T.dvector("x0"), T.lscalar("n")
    xs, _ = th.scan(lambda x, W, b: T.tanh(T.dot(W, x) + b), outputs_info=x0,
                    non_sequences=[W, b], n_steps=n)
    values = (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=4), rng.normal(size=4), 10_000)
    times, results = {}, {}
    for m in ("PY", "C"):
        f = th.function([W, b, x0, n], xs[-1], mode=m)
        f(*values[:3], 10)
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            results[m] = f(*values)
            best = min(best, time.perf_counter() - start)
        times[m] = best
    np.testing.assert_allclose(results["C"], results["PY"], rtol=1e-12)
    ratio = times["PY"] / times["C"]
    assert ratio >= 20, f"C {times['C'] * 1e3:.1f} ms, PY {times['PY'] * 1e3:.1f} ms: {ratio:.1f}x"
