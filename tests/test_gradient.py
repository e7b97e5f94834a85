"""grad's options, higher-order derivatives, blocking gradients and verify_grad."""

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.gradient import DisconnectedInputError, GradientError, verify_grad


def test_seed_example():
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    f = th.function([x], gy)
    assert f(4) == 8.0


def test_grad_of_vector_and_matrix_expressions():
    x = T.dvector("x")
    m = T.dmatrix("m")
    gx = T.grad(T.sum(x ** 3), x)
    gm = T.grad(T.sum(m * m.T), m)
    xv = np.array([1.0, -2.0, 0.5])
    mv = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(th.function([x], gx)(xv), 3 * xv ** 2)
    np.testing.assert_allclose(th.function([m], gm)(mv), 2 * mv.T)


def test_higher_order():
    x = T.dscalar("x")
    y = x ** 4
    g1 = T.grad(y, x)
    g2 = T.grad(g1, x)
    g3 = T.grad(g2, x)
    f = th.function([x], [g1, g2, g3])
    np.testing.assert_allclose(f(2.0), [32.0, 48.0, 48.0])


def test_several_wrt_and_shared_use():
    x, y = T.dscalars("x", "y")
    z = x * y + x
    gx, gy = T.grad(z, [x, y])
    f = th.function([x, y], [gx, gy])
    np.testing.assert_allclose(f(2.0, 3.0), [4.0, 2.0])


def test_consider_constant_and_blocking_ops():
    x = T.dscalar("x")
    y = x * x
    assert th.function([x], T.grad(y * x, x, consider_constant=[y]))(3.0) == 9.0
    assert th.function([x], T.grad(th.gradient.zero_grad(y) * x, x))(3.0) == 9.0
    assert th.function([x], T.grad(th.gradient.disconnected_grad(y) * x, x))(3.0) == 9.0
    # zero_grad keeps x connected; disconnected_grad does not.
    assert th.function([x], T.grad(th.gradient.zero_grad(x) * 2, x))(3.0) == 0.0
    with pytest.raises(DisconnectedInputError):
        T.grad(th.gradient.disconnected_grad(x) * 2, x)


def test_disconnected_inputs_policy():
    x, y = T.dscalars("x", "y")
    with pytest.raises(DisconnectedInputError, match="does not depend on y"):
        T.grad(x * 2, [x, y])
    with pytest.warns(UserWarning, match="does not depend"):
        gx, gy = T.grad(x * 2, [x, y], disconnected_inputs="warn")
    assert th.function([y], gy)(5.0) == 0.0
    gx, gy = T.grad(x * 2, [x, y], disconnected_inputs="ignore", return_disconnected="None")
    assert gy is None


def test_known_grads():
    x = T.dvector("x")
    y = x * 3
    g = T.grad(None, x, known_grads={y: T.ones_like(y)})
    np.testing.assert_allclose(th.function([x], g)(np.ones(2)), [3.0, 3.0])


def test_grad_wrt_integer_is_zero_and_int_cost_is_refused():
    i = T.iscalar("i")
    x = T.dscalar("x")
    g = T.grad(x * i, i)
    assert th.function([i], g)(3) == 0.0
    with pytest.raises(TypeError, match="only float costs"):
        T.grad(i * 2, i)
    with pytest.raises(TypeError, match="must be a scalar"):
        T.grad(T.dvector() * 2, x)


def test_float32_gradients_stay_float32():
    x = T.fvector("x")
    g = T.grad(T.sum(x * x), x)
    assert g.dtype == "float32"
    assert th.function([x], g)(np.ones(2, dtype="float32")).dtype == np.float32


def test_broadcast_gradient_sums_over_declared_dims():
    m = T.dmatrix("m")
    r = T.drow("r")
    g = T.grad(T.sum(m * r), r)
    mv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(th.function([m, r], g)(mv, np.ones((1, 3))),
                               mv.sum(axis=0, keepdims=True))


def test_verify_grad_passes_and_reports_failure():
    verify_grad(lambda a, b: a * b + a ** 2, [np.array([1.0, 2.0]), np.array([3.0, -1.0])])

    class BadScale(th.tensor.elemwise.ScalarOp):
        name = "bad_scale_test_only"

        def impl(self, x):
            return 2 * x

        def grad(self, inputs, output, gout):
            return [gout * 3]  # wrong on purpose

    bad = th.tensor.Elemwise(BadScale())
    with pytest.raises(GradientError) as info:
        verify_grad(lambda a: bad(a), [np.array([1.0, 2.0])])
    msg = str(info.value)
    assert "input 0" in msg and "symbolic" in msg and "numeric" in msg
