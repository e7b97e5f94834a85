"""Random streams: Theano's tutorial usage, reproducibility from the seed, the
state as a shared variable with a default update (and no_default_updates), the
distributions' values, symbolic sizes, pathwise gradients, and the old import
paths."""

import numpy as np
import pytest

import symtheano as theano
import symtheano.tensor as T
from symtheano.gradient import verify_grad
from symtheano.tensor.random import RandomStreams, RandomVariable, seed_state


def test_theano_tutorial():
    from symtheano.tensor.shared_randomstreams import RandomStreams as TheanoStreams

    srng = TheanoStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = theano.function([], rv_u)
    g = theano.function([], rv_n, no_default_updates=True)
    nearly_zeros = theano.function([], rv_u + rv_u - 2 * rv_u)
    f_val0, f_val1 = f(), f()
    assert f_val0.shape == (2, 2) and not np.array_equal(f_val0, f_val1)
    assert np.all((0 <= f_val0) & (f_val0 < 1))
    np.testing.assert_array_equal(g(), g())
    np.testing.assert_allclose(nearly_zeros(), 0, atol=1e-15)


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_reproducible_from_the_seed(mode):
    def numbers(seed):
        srng = RandomStreams(seed)
        u, n = srng.uniform((3,)), srng.normal((2,))
        f = theano.function([], [u, n], mode=mode)
        return [np.concatenate(f()) for _ in range(3)]

    a, b, c = numbers(5), numbers(5), numbers(6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[0], a[1])  # each call moves the state on


def test_c_and_reference_draw_the_same_numbers():
    def draws(mode):
        srng = RandomStreams(11)
        outs = [srng.uniform((4,)), srng.normal((2, 2), avg=3, std=0.5),
                srng.binomial((5,), n=4, p=0.25), srng.choice((3,), a=10, replace=False),
                srng.permutation(n=6)]
        f = theano.function([], outs, mode=mode)
        return f() + f()

    for x, y in zip(draws("PY"), draws("C")):
        np.testing.assert_array_equal(x, y)


def test_seed_resets_every_variable():
    srng = RandomStreams(3)
    u = srng.uniform((2,))
    f = theano.function([], u)
    first = f()
    f()
    srng.seed(3)
    np.testing.assert_array_equal(f(), first)
    srng.seed(4)
    assert not np.array_equal(f(), first)


def test_state_is_a_shared_variable_with_a_default_update():
    srng = RandomStreams(0)
    u = srng.uniform(())
    state, new_state = u.update
    assert u.rng is state and state.default_update is new_state
    assert srng.updates() == [(state, new_state)]
    before = state.get_value()
    np.testing.assert_array_equal(before, seed_state(0, 0))
    f = theano.function([], u)
    f()
    after = state.get_value()
    np.testing.assert_array_equal(after[:2], before[:2])  # the key stays
    assert after[2] > before[2]  # the counter moved on
    # A function that does not update the state repeats the next numbers.
    peek = theano.function([], u, no_default_updates=[state])
    assert peek() == peek() == f()


def test_explicit_updates_replace_the_default_one():
    srng = RandomStreams(1)
    u = srng.uniform(())
    state = u.rng
    frozen = theano.function([], u, updates=[(state, state)])
    assert frozen() == frozen()


def test_distribution_values():
    srng = RandomStreams(42)
    n = 20000
    u = srng.uniform((n,), low=-2.0, high=3.0)
    z = srng.normal((n,), avg=1.0, std=2.0)
    b = srng.binomial((n,), n=3, p=0.4)
    c = srng.choice((5,), a=8, replace=False)
    w = srng.choice((n,), a=[10, 20], p=[0.9, 0.1])
    perms = srng.permutation((4,), n=7)
    f = theano.function([], [u, z, b, c, w, perms])
    uv, zv, bv, cv, wv, pv = f()
    assert uv.min() >= -2 and uv.max() < 3 and abs(uv.mean() - 0.5) < 0.05
    assert abs(zv.mean() - 1) < 0.05 and abs(zv.std() - 2) < 0.05
    assert bv.dtype == np.int64 and set(np.unique(bv)) <= {0, 1, 2, 3}
    assert abs(bv.mean() - 1.2) < 0.05
    assert len(set(cv)) == 5 and cv.min() >= 0 and cv.max() < 8
    assert set(np.unique(wv)) <= {10, 20} and abs((wv == 10).mean() - 0.9) < 0.02
    assert pv.shape == (4, 7)
    for row in pv:
        np.testing.assert_array_equal(np.sort(row), np.arange(7))


def test_dtypes_and_parameter_shapes():
    srng = RandomStreams(2)
    assert srng.uniform((2,), dtype="float32").dtype == "float32"
    assert srng.normal((2,), avg=np.float32(0), std=np.float32(1)).dtype == "float32"
    mu = T.dvector("mu")
    draw = srng.normal(avg=mu, std=0.0)  # no size: the parameters' shape
    f = theano.function([mu], draw)
    np.testing.assert_array_equal(f(np.arange(3.0)), np.arange(3.0))


def test_symbolic_size_dropout_and_its_gradient():
    srng = RandomStreams(9)
    x = T.dmatrix("x")
    mask = srng.binomial(size=x.shape, p=0.5, dtype="float64")
    cost = T.sum(x * mask)
    f = theano.function([x], [mask, T.grad(cost, x)], no_default_updates=True)
    m, g = f(np.ones((3, 4)))
    assert m.shape == (3, 4)
    np.testing.assert_array_equal(g, m)


def _fixed_draw(distribution):
    state = T.constant(seed_state(5, 0))

    def draw(a, b):
        op = RandomVariable(distribution, "float64", True)
        return op(state, np.asarray([3, 2], dtype="int64"), a, b)[1]

    return draw


def test_pathwise_gradients_of_uniform_and_normal():
    rng = np.random.default_rng(0)
    verify_grad(_fixed_draw("uniform"), [np.array([-1.0, 0.5]), np.array([2.0, 3.0])], rng=rng)
    verify_grad(_fixed_draw("normal"), [np.array([0.3, -1.0]), np.array([1.5, 0.2])], rng=rng)


def test_reparameterised_gradient_through_a_stream():
    srng = RandomStreams(4)
    mu, sigma = T.dscalar("mu"), T.dscalar("sigma")
    x = srng.normal((1000,), avg=mu, std=sigma)
    g_mu, g_sigma = T.grad(T.mean(x ** 2), [mu, sigma])
    f = theano.function([mu, sigma], [x, g_mu, g_sigma], no_default_updates=True)
    xv, gm, gs = f(1.0, 2.0)
    np.testing.assert_allclose(gm, np.mean(2 * xv))
    np.testing.assert_allclose(gs, np.mean(2 * xv * (xv - 1.0) / 2.0))


def test_mrg_import_path():
    from symtheano.sandbox.rng_mrg import MRG_RandomStreams

    srng = MRG_RandomStreams(seed=12)
    u = srng.uniform(size=(3,), nstreams=4)
    b = srng.binomial(size=(3,), p=0.5)
    assert theano.function([], [u, b])()[0].shape == (3,)


def test_errors():
    srng = RandomStreams(0)
    with pytest.raises(ValueError, match="ndim"):
        srng.uniform(size=T.lvector("s"))
    with pytest.raises(ValueError, match="ndim=3 but the size has 2"):
        srng.uniform(size=(2, 2), ndim=3)
    with pytest.raises(ValueError, match="unknown distribution"):
        RandomVariable("gamma", "float64")
    state = T.lvector("s")
    with pytest.raises(TypeError, match="uint64 vector"):
        RandomVariable("uniform", "float64")(state, np.zeros(0, "int64"), 0.0, 1.0)
