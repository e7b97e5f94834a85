"""symtheano.sympy_bridge: graphs to SymPy and back, for elementwise ops and reductions."""

import numpy as np
import pytest
import sympy

import symtheano as th
import symtheano.tensor as T
from symtheano.sympy_bridge import from_sympy, to_sympy

X = sympy.Symbol("x")


def test_a_scalar_gradient_equals_sympys_derivative():
    x = T.dscalar("x")
    cost = T.exp(x) * x ** 2 + T.log1p(x) / T.sqrt(x)
    e = to_sympy(cost)
    assert sympy.simplify(e - (sympy.exp(X) * X ** 2 + sympy.log(1 + X) / sympy.sqrt(X))) == 0
    assert sympy.simplify(to_sympy(T.grad(cost, x)) - sympy.diff(e, X)) == 0


@pytest.mark.parametrize("build", [
    lambda x: T.tanh(x) * T.sigmoid(x),
    lambda x: T.switch(x > 1, x ** 3, -x),
    lambda x: T.maximum(x, 0.5) + abs(x) - T.softplus(x),
    lambda x: T.arctan(x) + T.cosh(x) / (1 + x ** 2),
])
def test_round_trip_computes_the_same_values(build):
    x = T.dscalar("x")
    y = build(x)
    back = from_sympy(to_sympy(y), {X: x})
    f = th.function([x], [y, back], mode="PY")
    for value in (-1.5, 0.25, 2.0):
        a, b = f(value)
        np.testing.assert_allclose(b, a, rtol=1e-12)


def test_simplified_gradient_compiles_and_agrees():
    x = T.dscalar("x")
    g = T.grad(T.exp(x) * x ** 2, x)
    simpler = sympy.factor(sympy.simplify(to_sympy(g)))
    assert simpler == X * (X + 2) * sympy.exp(X)
    h = from_sympy(simpler, {X: x})
    f = th.function([x], [g, h])
    a, b = f(1.5)
    np.testing.assert_allclose(a, b, rtol=1e-14)


def test_reductions_are_sums_over_indices():
    v, w = T.dvector("v"), T.dscalar("w")
    cost = T.sum((v * w - 1) ** 2)
    e = to_sympy(cost)
    assert isinstance(e, sympy.Sum)
    assert str(e) == "Sum((w*v[j0] - 1)**2, (j0, 0, v.shape[0] - 1))"
    W = sympy.Symbol("w")
    assert sympy.simplify(sympy.diff(e, W) - to_sympy(T.grad(cost, w))) == 0
    mean = to_sympy(v.mean())
    assert mean == e.func(sympy.IndexedBase("v")[e.limits[0][0]], e.limits[0]) / sympy.Symbol(
        "v.shape[0]", integer=True, positive=True)


def test_arrays_read_back_with_their_axes():
    m, v = T.dmatrix("m"), T.dvector("v")
    y = T.exp(m).sum(axis=0) * v + m.shape[0]
    e = to_sympy(y)
    back = from_sympy(e, {sympy.IndexedBase("m"): m, sympy.IndexedBase("v"): v})
    f = th.function([m, v], [y, back], mode="PY")
    mv, vv = np.arange(6.0).reshape(2, 3) / 7, np.array([1.0, -2.0, 3.0])
    a, b = f(mv, vv)
    np.testing.assert_allclose(b, a, rtol=1e-13)
    gv = T.grad(T.sum(v ** 3 * T.sin(v)), v)
    back = from_sympy(to_sympy(gv), {sympy.IndexedBase("v"): v})
    f = th.function([v], [gv, back], mode="PY")
    a, b = f(vv)
    np.testing.assert_allclose(b, a, rtol=1e-13)


def test_outside_the_subset_says_so():
    m = T.dmatrix("m")
    with pytest.raises(NotImplementedError, match="outside"):
        to_sympy(T.dot(m, m))
    with pytest.raises(NotImplementedError, match="no name"):
        to_sympy(T.dvector() + 1)
    with pytest.raises(KeyError, match="no variable"):
        from_sympy(X + 1, {})


def test_repr_latex_shows_typeset_math_or_defers_to_repr():
    x = T.dscalar("x")
    assert T.grad(x ** 3, x)._repr_latex_() == "$\\displaystyle 3 x^{2}$"
    m = T.dmatrix("m")
    assert T.dot(m, m)._repr_latex_() is None
