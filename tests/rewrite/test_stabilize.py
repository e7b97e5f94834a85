"""The stabilize stage: the stability table (every rewrite x {float64, float32}: it
fires, and the compiled result is finite and accurate against mpmath where the
naive formula, compiled with optimizer=None, overflows or cancels), gradients of
the stabilized forms, and near misses where a rewrite must not fire."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import mpmath
import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode

mpmath.mp.dps = 50
NONE = Mode(optimizer=None)
RTOL = {"float64": 1e-12, "float32": 1e-5}


def counts(f):
    return f.rewrite_report().counts


def compiled(inputs, output, mode=None):
    return th.function(inputs, output, mode=mode, on_unused_input="ignore")


# -- mpmath references -------------------------------------------------------------------------

def M(v):
    return mpmath.mpf(float(v))


def _sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


def _lse(xs):
    return mpmath.log(mpmath.fsum(mpmath.exp(M(v)) for v in xs))


def _elementwise(fn):
    def ref(x):
        return np.vectorize(lambda v: float(fn(M(v))), otypes=[float])(x)

    return ref


def _per_row(fn):
    """A reference applying `fn` to each row (last axis) of x: fn returns a list of
    mp values (one per element) or a single mp value (the row reduced)."""
    def ref(x):
        x = np.asarray(x, dtype="float64")
        rows = [fn([float(v) for v in r]) for r in x.reshape(-1, x.shape[-1])]
        if isinstance(rows[0], list):
            return np.array([[float(v) for v in r] for r in rows]).reshape(x.shape)
        return np.array([float(v) for v in rows]).reshape(x.shape[:-1])

    return ref


def _log1mexp(v):
    return mpmath.log1p(-mpmath.exp(v))


def _softplus(v):
    return mpmath.log1p(mpmath.exp(v))


def _softmax_mp(xs):
    lse = _lse(xs)
    return [mpmath.exp(M(v) - lse) for v in xs]


# -- the stability table -----------------------------------------------------------------------

@dataclasses.dataclass
class Row:
    """One stabilization: `build(x)` writes the naive formula; `fires` are the
    rewrites expected in the report; `bad` maps a dtype to inputs where the naive
    formula overflows or cancels; `more` to further inputs checked for accuracy."""

    id: str
    build: Callable
    ref: Callable
    fires: tuple
    bad: dict
    more: dict = dataclasses.field(default_factory=dict)
    ndim: int = 0

    def points(self, dtype):
        return list(self.bad[dtype]) + list(self.more.get(dtype, ()))


def _same(*values):
    return {"float64": values, "float32": values}


ROWS = [
    Row("log1p", lambda x: T.log(1 + x), _elementwise(lambda v: mpmath.log1p(v)), ("log1p",),
        _same(1e-20, -1e-20, 1e-10), _same(0.5, -0.5, 3.0)),
    Row("log1p_nary", lambda x: T.log(x + 1 + x), _elementwise(lambda v: mpmath.log1p(2 * v)),
        ("log1p",), _same(1e-20, -1e-20)),
    Row("log1p_sub", lambda x: T.log(1 - x), _elementwise(lambda v: mpmath.log1p(-v)),
        ("log1p_sub",), _same(1e-20, -1e-20), _same(0.5, -3.0)),
    Row("expm1", lambda x: T.exp(x) - 1, _elementwise(mpmath.expm1), ("expm1",),
        _same(1e-20, -1e-20, 1e-10), _same(2.0, -2.0)),
    Row("expm1_add", lambda x: T.exp(x) + (-1), _elementwise(mpmath.expm1), ("expm1_add",),
        _same(1e-20, -1e-20)),
    Row("one_minus_exp", lambda x: 1 - T.exp(x), _elementwise(lambda v: -mpmath.expm1(v)),
        ("one_minus_exp",), _same(1e-20, -1e-20), _same(2.0)),
    Row("softplus", lambda x: T.log(1 + T.exp(x)),
        _elementwise(lambda v: mpmath.log1p(mpmath.exp(v))), ("log1p", "softplus"),
        {"float64": (800.0, -40.0), "float32": (100.0, 800.0, -40.0)}, _same(0.3, -3.0)),
    Row("log_sigmoid", lambda x: T.log(T.nnet.sigmoid(x)),
        _elementwise(lambda v: mpmath.log(_sigmoid(v))), ("log_sigmoid",),
        {"float64": (-800.0, 40.0), "float32": (-800.0, -110.0, 40.0)}, _same(1.0, -1.0)),
    Row("one_minus_sigmoid", lambda x: 1 - T.nnet.sigmoid(x),
        _elementwise(lambda v: _sigmoid(-v)), ("one_minus_sigmoid",), _same(40.0, 30.0),
        _same(-3.0, 0.5, 800.0)),
    Row("log_one_minus_sigmoid", lambda x: T.log(1 - T.nnet.sigmoid(x)),
        _elementwise(lambda v: -_softplus(v)),
        ("one_minus_sigmoid", "log_sigmoid"), _same(800.0, 40.0), _same(-40.0, 0.5)),
    Row("log1p_neg_sigmoid", lambda x: T.log1p(-T.nnet.sigmoid(x)),
        _elementwise(lambda v: -_softplus(v)), ("log1p_neg_sigmoid",),
        _same(800.0, 40.0), _same(-40.0, 0.5)),
    Row("log1mexp", lambda x: T.log1p(-T.exp(x)), _elementwise(_log1mexp), ("log1mexp",),
        _same(-1e-20, -1e-30), _same(-0.5, -0.9, -40.0)),
    Row("log_one_minus_exp", lambda x: T.log(1 - T.exp(x)), _elementwise(_log1mexp),
        ("one_minus_exp", "log_neg_expm1"), _same(-1e-20, -40.0), _same(-0.5, -0.9, -3.0)),
    Row("log_neg_expm1", lambda x: T.log(-T.expm1(x)), _elementwise(_log1mexp),
        ("log_neg_expm1",), {"float64": (-40.0, -100.0), "float32": (-40.0, -20.0)},
        _same(-1e-20, -0.5)),
    Row("log_exp", lambda x: T.log(T.exp(x)), _elementwise(lambda v: v), ("log_exp",),
        {"float64": (800.0, -800.0), "float32": (100.0, -200.0)}, _same(1.5)),
    Row("sqrt_sqr", lambda x: T.sqrt(T.sqr(x)), _elementwise(abs), ("sqrt_sqr",),
        {"float64": (1e200, -1e200, 1e-200), "float32": (1e30, -1e30, 1e-30)}, _same(-3.0)),
    Row("sqrt_pow2", lambda x: T.sqrt(x ** 2), _elementwise(abs), ("sqrt_pow2",),
        {"float64": (1e200, -1e200, 1e-200), "float32": (1e30, -1e30, 1e-30)}, _same(-3.0)),
    Row("sqrt_mul_self", lambda x: T.sqrt(x * x), _elementwise(abs), ("sqrt_mul_self",),
        {"float64": (1e200, -1e200, 1e-200), "float32": (1e30, -1e30, 1e-30)}, _same(-3.0)),
    Row("one_minus_erf", lambda x: 1 - T.erf(x), _elementwise(mpmath.erfc), ("one_minus_erf",),
        {"float64": (10.0, 20.0), "float32": (5.0, 8.0)}, _same(0.5, -1.0)),
    Row("one_minus_erfc", lambda x: 1 - T.erfc(x), _elementwise(mpmath.erf),
        ("one_minus_erfc",), _same(1e-20, -1e-20), _same(0.5, -1.0)),
    Row("log_erfc", lambda x: T.log(T.erfc(x)), _elementwise(lambda v: mpmath.log(mpmath.erfc(v))),
        ("log_erfc",), {"float64": (30.0, 1e3, 1e10, 1e-20), "float32": (10.0, 30.0, 1e10)},
        _same(5.0, 10.0, 0.7, 0.3, -0.3, -5.0, -30.0)),
    Row("logistic_log", lambda x: T.log(1 / (1 + T.exp(-x))),
        _elementwise(lambda v: mpmath.log(_sigmoid(v))), ("sigmoid_from_exp", "log_sigmoid"),
        {"float64": (-800.0, 40.0), "float32": (-100.0, 40.0)}, _same(0.5)),
    Row("sigmoid_from_reciprocal", lambda x: T.log(T.reciprocal(1 + T.exp(-x))),
        _elementwise(lambda v: mpmath.log(_sigmoid(v))),
        ("sigmoid_from_reciprocal", "log_sigmoid"), _same(-800.0), _same(0.5)),
    Row("sigmoid_from_exp_ratio", lambda x: T.exp(x) / (1 + T.exp(x)),
        _elementwise(_sigmoid), ("sigmoid_from_exp_ratio",), _same(800.0, 710.0),
        _same(0.5, -30.0)),
    # -- reductions: inputs are rows ---------------------------------------------------------
    Row("logsumexp", lambda x: T.log(T.sum(T.exp(x), axis=-1)),
        _per_row(_lse), ("logsumexp",),
        {"float64": ([1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1003.0], [0.0, -40.0]),
         "float32": ([100.0, 99.0, -100.0], [-110.0, -111.0, -113.0], [0.0, -40.0])},
        _same([1.0, 2.0, 3.0]), ndim=1),
    Row("logsumexp_keepdims", lambda x: T.log(T.exp(x).sum(axis=-1, keepdims=True)),
        lambda x: _per_row(_lse)(x)[..., None], ("logsumexp",),
        {"float64": ([[1000.0, 999.0], [-1000.0, -1001.0]],),
         "float32": ([[100.0, 99.0], [-110.0, -111.0]],)}, ndim=2),
    Row("softmax", lambda x: T.exp(x) / T.exp(x).sum(axis=-1, keepdims=True),
        _per_row(_softmax_mp), ("softmax",),
        {"float64": ([1000.0, 999.0, 0.0], [-1000.0, -1001.0, -1000.5]),
         "float32": ([100.0, 99.0, 0.0], [-110.0, -111.0, -110.5])}, _same([1.0, 2.0, 3.0]),
        ndim=1),
    Row("log_softmax", lambda x: T.log(T.nnet.softmax(x)),
        _per_row(lambda r: [M(v) - _lse(r) for v in r]), ("log_softmax",),
        {"float64": ([1000.0, 0.0, -1000.0], [0.0, -800.0]),
         "float32": ([100.0, 0.0, -100.0], [0.0, -120.0])}, _same([1.0, 2.0, 3.0]), ndim=1),
    Row("log_softmax_of_exp_ratio", lambda x: T.log(T.exp(x) / T.sum(T.exp(x))),
        _per_row(lambda r: [M(v) - _lse(r) for v in r]), ("softmax", "log_softmax"),
        {"float64": ([1000.0, 0.0, -1000.0],), "float32": ([100.0, 0.0, -100.0],)}, ndim=1),
    Row("log_softmax_indexed", lambda x: T.log(T.nnet.softmax(x)[2]),
        _per_row(lambda r: M(r[2]) - _lse(r)), ("log_softmax",),
        _same([1000.0, 0.0, -1000.0]), ndim=1),
    Row("softmax_crossentropy",
        lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.array([1, 0])),
        lambda x: np.array([float(_lse(r) - M(r[i])) for r, i in zip(x, (1, 0))]),
        ("softmax_crossentropy",),
        {"float64": ([[0.0, -1000.0, 2.0], [1000.0, -1000.0, 0.0]],),
         "float32": ([[0.0, -120.0, 2.0], [100.0, -100.0, 0.0]],)}, ndim=2),
    Row("crossentropy_dense_targets",
        lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.eye(3)[[1, 0]]),
        lambda x: np.array([float(_lse(r) - M(r[i])) for r, i in zip(x, (1, 0))]),
        ("log_switch",),
        {"float64": ([[0.0, -1000.0, 2.0], [1000.0, -1000.0, 0.0]],),
         "float32": ([[0.0, -120.0, 2.0], [100.0, -100.0, 0.0]],)}, ndim=2),
    Row("binary_crossentropy_sigmoid",
        lambda x: T.nnet.binary_crossentropy(T.nnet.sigmoid(x), np.array([1.0, 0.0])),
        lambda x: np.array([float(-mpmath.log(_sigmoid(M(x[0])))),
                            float(_softplus(M(x[1])))]),
        ("log_switch", "log1p_switch"),
        {"float64": ([-800.0, 800.0], [40.0, -40.0]),
         "float32": ([-120.0, 120.0], [40.0, -40.0])}, ndim=1),
]

CASES = [pytest.param(row, dtype, id=f"{row.id}-{dtype}") for row in ROWS
         for dtype in ("float64", "float32")]


def _variable(row, dtype):
    return T.TensorType(dtype, (None,) * row.ndim)("x")


def _accurate(got, want, dtype):
    want = np.asarray(want, dtype="float64")
    tiny = np.finfo(dtype).tiny
    return np.all(np.isfinite(got)) and np.allclose(got, want, rtol=RTOL[dtype], atol=tiny)


@pytest.mark.parametrize("row, dtype", CASES)
def test_stability_table(row, dtype):
    x = _variable(row, dtype)
    f = compiled([x], row.build(x))
    for name in row.fires:
        assert counts(f)[name] >= 1, f"{name} did not fire: {dict(counts(f))}"
    for point in row.points(dtype):
        value = np.asarray(point, dtype=dtype)
        got = f(value)
        want = row.ref(value.astype("float64"))
        assert _accurate(got, want, dtype), f"{row.id} at {point}: got {got!r}, want {want!r}"


@pytest.mark.parametrize("row, dtype", CASES)
def test_naive_formula_fails_there(row, dtype):
    x = _variable(row, dtype)
    naive = compiled([x], row.build(x), mode=NONE)
    assert not counts(naive)
    for point in row.bad[dtype]:
        value = np.asarray(point, dtype=dtype)
        got = naive(value)
        assert not _accurate(got, row.ref(value.astype("float64")), dtype), (
            f"the naive {row.id} is accurate at {point}: the point proves nothing")


@pytest.mark.parametrize("row, dtype", CASES)
def test_rewritten_keeps_dtype_and_shape(row, dtype):
    x = _variable(row, dtype)
    out = row.build(x)
    f, naive = compiled([x], out), compiled([x], out, mode=NONE)
    value = np.asarray(row.points(dtype)[0], dtype=dtype)
    got, plain = f(value), naive(value)
    assert got.dtype == plain.dtype == np.dtype(out.dtype) and got.shape == plain.shape


@pytest.mark.parametrize("row", [r for r in ROWS if r.ndim == 0 and r.more], ids=lambda r: r.id)
def test_gradient_of_stabilized_form_matches_finite_differences(row):
    from symtheano.gradient import verify_grad

    points = np.asarray([p for p in row.more["float64"] if abs(p) < 20], dtype="float64")
    verify_grad(lambda x: row.build(x), [points], rel_tol=1e-6, abs_tol=1e-8)


# -- gradients of the stabilized forms, where the naive ones give inf * 0 --------------------

def _grad_at(build, value, dtype="float64", ndim=0):
    x = T.TensorType(dtype, (None,) * ndim)("x")
    g = T.grad(T.sum(build(x)), x)
    return compiled([x], g)(np.asarray(value, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grad_log_sigmoid_is_exactly_one_far_left(dtype):
    g = _grad_at(lambda x: T.log(T.nnet.sigmoid(x)), [-800.0, -100.0, 800.0, 0.0], dtype, 1)
    assert g.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(g[:2], [1.0, 1.0])
    np.testing.assert_allclose(g[2:], [0.0, 0.5], atol=1e-300)
    # The same through the hand-written logistic function and through 1 - sigmoid.
    g = _grad_at(lambda x: T.log(1 / (1 + T.exp(-x))), [-800.0, 800.0], dtype, 1)
    np.testing.assert_array_equal(g, [1.0, 0.0])
    g = _grad_at(lambda x: T.log(1 - T.nnet.sigmoid(x)), [800.0, -800.0], dtype, 1)
    np.testing.assert_array_equal(g, [-1.0, 0.0])


def test_grad_softplus_and_log_exp_far_out():
    g = _grad_at(lambda x: T.log(1 + T.exp(x)), [800.0, -800.0, 0.0], ndim=1)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.5])
    g = _grad_at(lambda x: T.log(T.exp(x)), [800.0, -800.0], ndim=1)
    np.testing.assert_array_equal(g, [1.0, 1.0])
    # |x| has derivative sign(x): 0 at 0, where x / sqrt(x**2) would be 0 / 0.
    g = _grad_at(lambda x: T.sqrt(x ** 2), [1e200, -1e-200, 0.0], ndim=1)
    np.testing.assert_array_equal(g, [1.0, -1.0, 0.0])


@pytest.mark.parametrize("logits", [[1000.0, 1000.5, 999.0], [-1000.0, -1001.0, -999.5],
                                    [0.0, -40.0, -800.0]])
def test_grad_logsumexp_is_the_softmax(logits):
    g = _grad_at(lambda x: T.log(T.sum(T.exp(x))), logits, ndim=1)
    want = [float(v) for v in _softmax_mp(logits)]
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("targets", ["indices", "dense"])
def test_grad_crossentropy_of_softmax_is_softmax_minus_onehot(targets):
    logits = np.array([[0.0, -1000.0, 2.0], [1000.0, -1000.0, 0.0], [3.0, 1.0, 2.0]])
    labels = np.array([1, 0, 2])
    y = labels if targets == "indices" else np.eye(3)[labels]
    x = T.dmatrix("x")
    cost = T.sum(T.nnet.categorical_crossentropy(T.nnet.softmax(x), y))
    f = compiled([x], [cost, T.grad(cost, x)])
    value, g = f(logits)
    assert np.all(np.isfinite(g))
    want = np.array([[float(p) for p in _softmax_mp(r)] for r in logits]) - np.eye(3)[labels]
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)
    exact = sum(float(_lse(r) - M(r[i])) for r, i in zip(logits, labels))
    np.testing.assert_allclose(value, exact, rtol=1e-12)


@pytest.mark.parametrize("x", [5.0, 10.0, 30.0, 1e3, 1e10, 0.7, 0.3, 1e-20, -0.3, -5.0, -30.0])
def test_log_erfc_value_and_gradient_to_1e_12(x):
    v = M(x)
    value = float(mpmath.log(mpmath.erfc(v)))
    slope = float(-2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-v * v) / mpmath.erfc(v))
    xv = T.dvector("x")
    out = T.log(T.erfc(xv))
    f = compiled([xv], [out, T.grad(T.sum(out), xv)])
    got, g = f(np.array([x]))
    assert counts(f)["log_erfc"] >= 1
    np.testing.assert_allclose(got, [value], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(g, [slope], rtol=1e-12, atol=1e-300)


def test_grad_log1mexp_near_zero_and_far_below():
    points = [-1e-20, -1e-8, -0.5, -40.0]
    g = _grad_at(lambda x: T.log(1 - T.exp(x)), points, ndim=1)
    want = [float(-1 / mpmath.expm1(-M(p))) for p in points]
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_grad_log_softmax_at_extreme_logits():
    logits = [1000.0, 0.0, -1000.0]
    g = _grad_at(lambda x: T.log(T.nnet.softmax(x))[2], logits, ndim=1)
    want = [-float(p) for p in _softmax_mp(logits)]
    want[2] += 1.0
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-300)


def test_second_derivative_through_fused_crossentropy():
    from symtheano.gradient import verify_grad

    labels = np.array([2, 0])

    def fn(x):
        cost = T.sum(T.nnet.categorical_crossentropy(T.nnet.softmax(x), labels))
        return T.sum(T.grad(cost, x) ** 2)

    verify_grad(fn, [np.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.7]])], rel_tol=1e-6)


# -- near misses: nothing fires, and the result is the naive one --------------------------------

def _stabilize_names():
    from symtheano.rewrite.stabilize import STAGE

    own = {"constant_folding", "neg_neg", "sub_neg", "neg_sub", "add_neg"}
    return {r.name for r in STAGE.rewriters} - own


NEAR_MISSES = [
    ("log(2 + x)", lambda x: T.log(2 + x), 0.5),
    ("log(1 + x) of ints", lambda x: T.log(1 + T.cast(x * 10, "int64")), 0.5),
    ("exp(x) - 2", lambda x: T.exp(x) - 2, 0.5),
    ("exp(x) - 1 squared", lambda x: T.exp(x) ** 2 - 1, 0.5),
    ("2 - exp(x)", lambda x: 2 - T.exp(x), 0.5),
    ("log(2 + exp(x))", lambda x: T.log(2 + T.exp(x)), 0.5),
    ("log(sigmoid(x) + 2)", lambda x: T.log(T.nnet.sigmoid(x) + 2), 0.5),
    ("2 - sigmoid(x)", lambda x: 2 - T.nnet.sigmoid(x), 0.5),
    ("log(exp(x) * 2)", lambda x: T.log(T.exp(x) * 2), 0.5),
    ("sqrt(x ** 3)", lambda x: T.sqrt(x ** 3), 0.5),
    ("sqrt(x * 2x)", lambda x: T.sqrt(x * (2 * x)), 0.5),
    ("sqrt(sqr(int x))", lambda x: T.sqrt(T.sqr(T.cast(x * 10, "int32"))), 0.5),
    ("log(erf(x))", lambda x: T.log(T.erf(x)), 0.5),
    ("2 - erf(x)", lambda x: 2 - T.erf(x), 0.5),
    ("1 / (2 + exp(x))", lambda x: 1 / (2 + T.exp(x)), 0.5),
    ("2 / (1 + exp(x))", lambda x: 2 / (1 + T.exp(x)), 0.5),
    ("exp(x) / (1 + exp(2x))", lambda x: T.exp(x) / (1 + T.exp(2 * x)), 0.5),
    ("log(expm1(x))", lambda x: T.log(T.expm1(x)), 0.5),
]


@pytest.mark.parametrize("label, build, value", NEAR_MISSES, ids=[m[0] for m in NEAR_MISSES])
def test_near_miss_does_not_fire(label, build, value):
    x = T.dscalar("x")
    f, naive = compiled([x], build(x)), compiled([x], build(x), mode=NONE)
    fired = set(counts(f)) & _stabilize_names()
    assert not fired, f"{label}: {fired} fired"
    np.testing.assert_allclose(f(value), naive(value), rtol=1e-15)


def test_matrix_near_misses():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    y = T.lvector("y")
    v = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3], [1.0, 0.0, -1.0]])
    e = T.exp(x)
    cases = {
        # Summed over rows but broadcast along rows (left padding): not a softmax.
        "wrong-axis softmax": e / e.sum(axis=1),
        "softmax of another exp": e / T.exp(w).sum(axis=1, keepdims=True),
        "log(sum(exp(x)) + 2)": T.log(T.sum(e, axis=1) + 2),
        "log(sum(x))": T.log(T.sum(x * x, axis=1)),
        "log(softmax(x) + 2)": T.log(T.nnet.softmax(x) + 2),
        "log(sum(softmax(x) * w))": T.log(T.sum(T.nnet.softmax(x) * w, axis=1)),
        "log(sum(softmax(x).T * one_hot))": T.log(T.sum(
            T.nnet.softmax(x).T * T.nnet.to_one_hot(y, 3, dtype="float64"), axis=1)),
    }
    for label, out in cases.items():
        f = compiled([x, w, y], out)
        naive = compiled([x, w, y], out, mode=NONE)
        fired = set(counts(f)) & _stabilize_names()
        assert not fired, f"{label}: {fired} fired"
        args = (v, v[::-1] ** 2, np.array([0, 2, 1]))
        np.testing.assert_allclose(f(*args), naive(*args), rtol=1e-14)


# -- rewrites that must fire but keep other readers correct --------------------------------------

def test_softplus_when_exp_has_another_reader():
    x = T.dvector("x")
    e = T.exp(x)
    f = compiled([x], [T.log(1 + e), e * 2])
    assert counts(f)["softplus"] == 1
    sp, twice = f(np.array([800.0, 0.0, -40.0]))
    np.testing.assert_allclose(sp, [800.0, np.log(2.0), float(_softplus(M(-40.0)))], rtol=1e-15)
    assert np.isinf(twice[0]) and twice[1] == 2.0


def test_log1p_with_a_broadcasting_one_is_left_alone():
    x = T.dvector("x")
    out = T.log(np.ones((2, 1)) + x)  # the 1 makes the result (2, n): log1p(x) is (n,)
    f = compiled([x], out)
    assert counts(f)["log1p"] == 0
    np.testing.assert_allclose(f(np.array([0.5, 1.0])), np.log1p([[0.5, 1.0]] * 2))


def test_log_exp_of_integers_is_float():
    x = T.lvector("x")
    f = compiled([x], T.log(T.exp(x)))
    assert counts(f)["log_exp"] == 1
    got = f(np.array([800, -3]))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [800.0, -3.0])


def test_float32_add_with_float64_one_computes_in_float64():
    x = T.fvector("x")
    out = T.log(np.float64(1.0) + x)  # float64: log1p must compute in float64 too
    f = compiled([x], out)
    assert counts(f)["log1p"] == 1 and out.dtype == "float64"
    v = np.array([0.3], dtype="float32")
    np.testing.assert_allclose(f(v), np.log1p(v.astype("float64")), rtol=1e-15)


# -- softmax over several axes, over all of them, and through indexing ----------------------------

def test_softmax_over_axis_sets():
    x = T.dtensor3("x")
    e = T.exp(x)
    outs = [e / e.sum(axis=(0, 2), keepdims=True), e / e.sum(), e / e.sum(axis=1, keepdims=True)]
    f = compiled([x], outs)
    assert counts(f)["softmax"] == 3
    v = np.array([[[1000.0, 0.0], [-1000.0, 999.0]], [[1.0, 2.0], [3.0, 998.0]]])
    for got, axes in zip(f(v), [(0, 2), (0, 1, 2), (1,)]):
        shifted = v - v.max(axis=axes, keepdims=True)
        want = np.exp(shifted) / np.exp(shifted).sum(axis=axes, keepdims=True)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


def test_log_softmax_through_advanced_indexing():
    # The Theano tutorial's negative log-likelihood: log(p)[arange(n), y] and log(p[...]).
    x, y = T.dmatrix("x"), T.lvector("y")
    p = T.nnet.softmax(x)
    rows = T.arange(y.shape[0])
    outs = [-T.mean(T.log(p)[rows, y]), -T.mean(T.log(p[rows, y]))]
    f = compiled([x, y], outs + [T.grad(o, x) for o in outs])
    assert counts(f)["log_softmax"] == 2
    logits, labels = np.array([[0.0, -1000.0, 2.0], [1000.0, -1000.0, 0.0]]), np.array([1, 0])
    a, b, ga, gb = f(logits, labels)
    exact = np.mean([float(_lse(r) - M(r[i])) for r, i in zip(logits, labels)])
    np.testing.assert_allclose([a, b], [exact, exact], rtol=1e-12)
    np.testing.assert_allclose(ga, gb, rtol=1e-14)
    assert np.all(np.isfinite(ga))


# -- the logistic regression tutorial and x**2 vs x*x -------------------------------------------

def test_logistic_regression_tutorial_formula_becomes_a_sigmoid():
    x, y = T.dmatrix("x"), T.dvector("y")
    w = th.shared(np.full(3, 300.0), name="w")
    b = th.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    f = compiled([x, y], [xent, gw, gb])
    assert counts(f)["sigmoid_from_exp"] >= 1 and counts(f)["log_sigmoid"] >= 1
    stable = compiled([x, y], [xent, gw, gb], mode=Mode(optimizer="stabilize_only"))
    names = {n.op.scalar_op.name for n in stable.fgraph.apply_nodes
             if isinstance(n.op, T.Elemwise)}
    assert "exp" not in names and "log" not in names and "softplus" in names
    data = np.array([[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]])  # |x . w| = 1800: saturated
    xent_v, gw_v, gb_v = f(data, np.array([0.0, 1.0]))
    np.testing.assert_allclose(xent_v, [1800.0, 1800.0], rtol=1e-15)
    # d mean(xent) / dw = X^T (p - y) / N + 0.02 w, with p exactly [1, 0].
    np.testing.assert_allclose(gw_v, data.T @ np.array([1.0, -1.0]) / 2 + 6.0, rtol=1e-15)
    np.testing.assert_allclose(gb_v, 0.0, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_square_and_self_product_are_bit_identical(dtype):
    x = T.TensorType(dtype, (None,))("x")
    f = compiled([x], [x ** 2, x * x, T.sqr(x)])
    v = np.random.default_rng(7).standard_normal(1000).astype(dtype) * 1e3
    a, b, c = f(v)
    assert a.dtype == b.dtype == np.dtype(dtype)
    assert a.tobytes() == b.tobytes() == c.tobytes()


def test_softmax_crossentropy_needs_matching_class_count():
    # one_hot with 5 classes against 3 logits is a shape error as written; the fused op
    # must not turn it into a result.
    x = T.dmatrix("x")
    y = T.lvector("y")
    cost = -T.log(T.sum(T.nnet.softmax(x) * T.nnet.to_one_hot(y, 5), axis=-1))
    f = th.function([x, y], cost)
    assert not f.rewrite_report().counts.get("softmax_crossentropy")
    with pytest.raises(ValueError):
        f(np.zeros((2, 3)), np.array([0, 1]))
