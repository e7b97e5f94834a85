"""ifelse: only the branch taken is computed (a branch that would raise, or a costly
one, is never run), on every back end; gradients and forward-mode tangents of
each branch; Theano's import path; and the errors."""

import time

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.graph.basic import Apply, Op
from symtheano.ifelse import IfElse, ifelse
from symtheano.tensor.type import TensorType

MODES = ["PY", "C", "DEBUG"]


class _Counting(Op):
    """x + 0, counting its runs; with fail=True it raises instead."""

    __props__ = ("fail",)
    calls = 0

    def __init__(self, fail=False):
        self.fail = fail

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        if self.fail:
            raise RuntimeError("the untaken branch ran")
        type(self).calls += 1
        output_storage[0][0] = inputs[0].copy()

    def grad(self, inputs, output_grads):
        return [_Counting(self.fail)(output_grads[0])]

    def R_op(self, inputs, eval_points):
        return eval_points


@pytest.mark.parametrize("mode", MODES)
def test_only_the_taken_branch_runs(mode):
    c, x = T.lscalar("c"), T.dvector("x")
    f = th.function([c, x], ifelse(c, x * 2, _Counting(fail=True)(x)), mode=mode)
    np.testing.assert_array_equal(f(1, np.arange(3.0)), [0, 2, 4])
    with pytest.raises(RuntimeError, match="untaken branch ran"):
        f(0, np.arange(3.0))


@pytest.mark.parametrize("mode", MODES)
def test_out_of_range_index_in_the_untaken_branch(mode):
    M, i = T.dmatrix("M"), T.lscalar("i")
    row = ifelse(T.lt(i, M.shape[0]), M[i], T.zeros_like(M[0]))
    f = th.function([i, M], row, mode=mode)
    np.testing.assert_array_equal(f(1, np.eye(3)), [0, 1, 0])
    np.testing.assert_array_equal(f(7, np.eye(3)), [0, 0, 0])


def test_an_expensive_branch_costs_nothing_when_not_taken():
    c, x = T.lscalar("c"), T.dmatrix("x")
    heavy = x
    for _ in range(30):
        heavy = T.dot(heavy, x) / 100.0
    f = th.function([c, x], ifelse(c, T.sum(heavy), T.sum(x)))
    big = np.ones((400, 400))
    f(0, big), f(1, big)  # compile both branches
    start = time.perf_counter()
    for _ in range(5):
        f(0, big)
    cheap = time.perf_counter() - start
    start = time.perf_counter()
    f(1, big)
    assert cheap < time.perf_counter() - start


def test_branches_are_not_part_of_the_outer_graph():
    c, x = T.lscalar("c"), T.dvector("x")
    _Counting.calls = 0
    f = th.function([c, x], ifelse(c, _Counting()(x), x + 1), mode="PY")
    nodes = f.maker.fgraph.toposort()
    assert [type(n.op) for n in nodes] == [IfElse]
    f(0, np.zeros(2))
    assert _Counting.calls == 0
    f(1, np.zeros(2))
    assert _Counting.calls == 1


def test_constant_folding_does_not_run_an_untaken_branch_that_raises():
    # Everything is constant: folding runs the IfElse node, which runs one branch only.
    bad = _Counting(fail=True)(T.constant(np.zeros(2)))  # raises, but never computed
    out = ifelse(T.constant(1), T.constant(np.ones(2)), bad)
    f = th.function([], out)
    np.testing.assert_array_equal(f(), [1, 1])
    assert f.rewrite_report().counts["constant_folding"] >= 1


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_gradient_of_each_branch(mode):
    c, x, y = T.lscalar("c"), T.dvector("x"), T.dvector("y")
    z = ifelse(c, T.sum(x ** 2 * y), T.sum(T.exp(y)))
    gx, gy = T.grad(z, [x, y])
    f = th.function([c, x, y], [gx, gy], mode=mode)
    xv, yv = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    got = f(1, xv, yv)
    np.testing.assert_allclose(got[0], 2 * xv * yv)
    np.testing.assert_allclose(got[1], xv ** 2)
    got = f(0, xv, yv)
    np.testing.assert_allclose(got[0], 0)
    np.testing.assert_allclose(got[1], np.exp(yv))


def test_gradient_is_lazy_too():
    c, x = T.lscalar("c"), T.dvector("x")
    z = ifelse(c, T.sum(x * 3), T.sum(_Counting(fail=True)(x)))
    f = th.function([c, x], T.grad(z, x), mode="PY")
    np.testing.assert_array_equal(f(1, np.zeros(2)), [3, 3])


def test_second_derivative_and_forward_mode():
    from symtheano.gradient import Rop

    c, x = T.lscalar("c"), T.dscalar("x")
    z = ifelse(c, x ** 3, T.sin(x))
    d2 = T.grad(T.grad(z, x), x)
    v = T.dscalar("v")
    jv = Rop(z, x, v)
    f = th.function([c, x, v], [d2, jv])
    np.testing.assert_allclose(f(1, 2.0, 0.5), [12.0, 6.0])
    np.testing.assert_allclose(f(0, 2.0, 0.5), [-np.sin(2.0), 0.5 * np.cos(2.0)])


def test_shared_variables_and_updates_around_ifelse():
    w = th.shared(np.array([1.0, 2.0]), name="w")
    c = T.lscalar("c")
    step = th.function([c], ifelse(c, w * 10, -w), updates=[(w, w + 1)])
    np.testing.assert_array_equal(step(1), [10, 20])
    np.testing.assert_array_equal(step(0), [-2, -3])
    np.testing.assert_array_equal(w.get_value(), [3, 4])


def test_several_outputs_and_dtypes():
    c, x, n = T.lscalar("c"), T.fvector("x"), T.lscalar("n")
    a, b = ifelse(c, [x, n], [x * 2, n + 1])
    assert a.dtype == "float32" and b.dtype == "int64"
    up = ifelse(c, x, T.dvector("y"))
    assert up.dtype == "float64"
    f = th.function([c, x, n], [a, b])
    got = f(0, np.ones(2, "float32"), 4)
    np.testing.assert_array_equal(got[0], [2, 2])
    assert got[1] == 5


def test_theano_import_path_and_float_condition():
    import symtheano as theano
    from symtheano.ifelse import ifelse as ifelse_again

    assert ifelse_again is ifelse
    a, b = T.dscalars("a", "b")
    f = theano.function([a, b], ifelse(a - b, a, b))
    assert f(3.0, 1.0) == 3.0 and f(2.0, 2.0) == 2.0


def test_errors():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="condition .* must be a scalar"):
        ifelse(x, x, x)
    c = T.lscalar("c")
    with pytest.raises(TypeError, match="output 0 has 1 dimensions in the then branch"):
        ifelse(c, x, T.dmatrix("m"))
    with pytest.raises(ValueError, match="then branch has 2 output"):
        ifelse(c, [x, x], [x])
    f = th.function([c, x], ifelse(c, x[:1], x), mode="PY")
    assert f(1, np.arange(3.0)).shape == (1,)
    assert f(0, np.arange(3.0)).shape == (3,)
    assert f.maker.fgraph.outputs[0].type == TensorType("float64", (None,))
