"""PaddedSum: sums of slices written into zeros (the gradients of shifted slices)
computed in one pass. Every result is compared with NumPy (or SciPy) and, bit for
bit, with the unrewritten graph and with the reference back end."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from symtheano.tensor.padded_sum import PaddedSum
from symtheano.tensor.subtensor import IncSubtensor

RNG = np.random.default_rng(7)
UNREWRITTEN = Mode(linker="py", optimizer=None)
WITHOUT = Mode(linker="c", excluding=["padded_sum"])


def padded_nodes(f):
    return [n for n in f.fgraph.apply_nodes if isinstance(n.op, PaddedSum)]


def same_bits(a, b):
    """Equal values, NaN where NaN, and the same sign of every zero."""
    a, b = np.asarray(a), np.asarray(b)
    return (a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


def check_modes(inputs, output, values, expected=None, rtol=1e-13, exact=True):
    """Compile `output` in every mode; assert one PaddedSum in mode C, run natively,
    with results bit-identical to the same graph compiled without PaddedSum and to
    DEBUG mode, and to the NumPy back ends too when `exact` (no libm function, whose
    last bit may differ between C and NumPy); close to `expected`."""
    f = th.function(inputs, output)
    assert len(padded_nodes(f)) == 1, th.printing.debugprint(f, file="str")
    assert padded_nodes(f)[0] in f.program.native_nodes()
    got = f(*values)
    for mode in ("PY", "DEBUG", WITHOUT, UNREWRITTEN):
        other = th.function(inputs, output, mode=mode)(*values)
        if exact or mode in ("DEBUG", WITHOUT):
            assert same_bits(got, other), (mode, got, other)
        else:
            scale = np.max(np.abs(other), initial=1.0)
            np.testing.assert_allclose(got, other, rtol=1e-14, atol=1e-14 * scale)
    if expected is not None:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=0)
    return f, got


def rosenbrock():
    x = T.dvector("x")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return x, T.grad(cost, x)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 17, 1000])
def test_rosenbrock_gradient_is_one_padded_sum(n):
    x, g = rosenbrock()
    xv = RNG.uniform(-2, 2, n)
    expected = scipy.optimize.rosen_der(xv) if n > 1 else np.zeros(1)
    f, _ = check_modes([x], g, [xv], expected)
    # No array of zeros, no separate slice update, no elementwise op left.
    kinds = {type(node.op).__name__ for node in f.fgraph.apply_nodes}
    assert not kinds & {"IncSubtensor", "Elemwise", "Alloc"}, kinds


def test_empty_input():
    x, g = rosenbrock()
    f = th.function([x], g)
    assert f(np.zeros(0)).shape == (0,)


def test_two_dimensional_shifts_along_both_axes():
    # A smoothness penalty: differences along rows and along columns.
    m = T.dmatrix("m")
    cost = T.sum((m[1:, :] - m[:-1, :]) ** 2) + T.sum(T.sin(m[:, 1:] - m[:, :-1]) ** 2) \
        + T.sum(m ** 2)
    g = T.grad(cost, m)
    mv = RNG.normal(size=(6, 9))
    d0 = 2 * (mv[1:, :] - mv[:-1, :])
    d1 = np.sin(2 * (mv[:, 1:] - mv[:, :-1]))
    expected = 2 * mv
    expected[1:, :] += d0
    expected[:-1, :] -= d0
    expected[:, 1:] += d1
    expected[:, :-1] -= d1
    check_modes([m], g, [mv], expected, exact=False)


def test_disjoint_boxes_set_terms_and_full_terms():
    x = T.dvector("x")
    z = T.zeros_like(x)
    out = (T.inc_subtensor(z[:3], T.exp(x[:3]))
           + T.set_subtensor(z[-2:], x[-2:] * 2)
           + x * 3)
    xv = RNG.normal(size=8)
    expected = 3 * xv
    expected[:3] += np.exp(xv[:3])
    expected[-2:] += 2 * xv[-2:]
    check_modes([x], out, [xv], expected, exact=False)
    # Boxes that do not fit the array (the slices are clipped as NumPy clips them).
    check_modes([x], out, [xv[:2]], None, exact=False)


def test_signed_zeros_nan_and_inf_as_the_unrewritten_graph():
    x = T.dvector("x")
    z = T.zeros_like(x)
    out = T.inc_subtensor(z[1:], -x[1:]) + T.inc_subtensor(z[:-1], x[:-1] * -1.0)
    xv = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, 0.0])
    check_modes([x], out, [xv])
    # A set term keeps a negative zero that an inc term turns positive.
    out = T.set_subtensor(z[1:], -x[1:])
    f, got = check_modes([x], out, [xv])
    assert np.signbit(got[1]) is np.False_ and np.signbit(got[6])


def test_broadcast_term_inputs():
    m = T.dmatrix("m")
    r = T.row("r")
    z = T.zeros_like(m)
    out = T.inc_subtensor(z[1:, 2:], m[1:, 2:] * r) + T.inc_subtensor(z[:-1, :], r * 2.0)
    mv, rv = RNG.normal(size=(4, 5)), RNG.normal(size=(1, 3))
    expected = np.zeros((4, 5))
    expected[1:, 2:] += mv[1:, 2:] * rv
    rfull = RNG.normal(size=(1, 5))
    expected2 = expected.copy()
    expected2[:-1, :] += rfull * 2.0
    # r must fit both boxes: 3 columns for the first, 5 for the second, so no
    # value works for both, and every mode raises.
    f = th.function([m, r], out)
    for mode in ("C", "PY"):
        g = th.function([m, r], out, mode=mode)
        with pytest.raises(ValueError):
            g(mv, rv)
    # With one term the row broadcasts over the box's rows.
    out = T.inc_subtensor(z[1:, 2:], m[1:, 2:] * r) + m
    check_modes([m, r], out, [mv, rv], expected + mv)
    assert f is not None


def test_float32():
    x = T.fvector("x")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = T.grad(cost, x)
    # its own generator: the data must not depend on which tests ran before in the worker
    xv = np.random.default_rng(11).uniform(-2, 2, 50).astype("float32")
    _, got = check_modes([x], g, [xv])
    assert got.dtype == np.float32
    # float32 against float64: terms of size ~1e3 cancel to gradients of size ~1, so
    # the error is relative to the largest term, not to each element
    expected = scipy.optimize.rosen_der(xv.astype(float))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())


def test_a_value_of_the_wrong_size_raises_in_every_mode():
    x = T.dvector("x")
    y = T.dvector("y")
    out = T.inc_subtensor(T.zeros_like(x)[1:], y * 2.0)
    f = th.function([x, y], out)
    assert len(padded_nodes(f)) == 1
    for mode in ("C", "PY", "DEBUG"):
        g = th.function([x, y], out, mode=mode)
        np.testing.assert_array_equal(g(np.zeros(3), np.ones(2)), [0.0, 2.0, 2.0])
        with pytest.raises(ValueError):
            g(np.zeros(3), np.ones(3))


def test_a_term_read_elsewhere_is_computed_once():
    # The inc_subtensor is also an output: the sum reads it as a full term, and it
    # becomes a one-term PaddedSum of its own (zeros and the slice in one pass).
    x = T.dvector("x")
    part = T.inc_subtensor(T.zeros_like(x)[1:], x[1:] * 2.0)
    f = th.function([x], [part + x, part])
    (node,) = padded_nodes(f)
    assert [t.kind for t in node.op.terms] == ["inc"]
    assert not [n for n in f.fgraph.apply_nodes if isinstance(n.op, IncSubtensor)]
    xv = RNG.normal(size=5)
    a, b = f(xv)
    expected = np.zeros(5)
    expected[1:] = 2 * xv[1:]
    np.testing.assert_array_equal(b, expected)
    np.testing.assert_array_equal(a, expected + xv)


def test_expensive_nodes_shared_by_two_terms_are_computed_once():
    x = T.dvector("x")
    e = T.exp(x[1:] - x[:-1])  # read by both terms: stays outside, computed once
    z = T.zeros_like(x)
    out = T.inc_subtensor(z[1:], e * 2.0) + T.inc_subtensor(z[:-1], e * 3.0)
    xv = RNG.normal(size=6)
    f, _ = check_modes([x], out, [xv], exact=False)
    (node,) = padded_nodes(f)
    assert all(t.composite is None or "exp" not in t.composite.label() for t in node.op.terms)
    assert any("exp" in str(n.op) for n in f.fgraph.apply_nodes if n is not node)


def test_switched_off_by_name():
    x, g = rosenbrock()
    f = th.function([x], g, mode=WITHOUT)
    assert not padded_nodes(f)
    assert not f.rewrite_report().counts.get("padded_sum")


def test_gradient_through_a_padded_sum():
    # grad of a graph that already holds a PaddedSum (built by compiling, then
    # differentiated symbolically through the op's L_op).
    x, g = rosenbrock()
    f = th.function([x], g)
    (node,) = padded_nodes(f)
    w = T.dvector("w")
    inputs = node.inputs
    value = node.op(*inputs)
    from symtheano.graph.basic import clone_replace

    (value,) = clone_replace([value], {f.fgraph.inputs[0]: x})
    hv = T.grad(T.sum(value * w), x)
    h = th.function([x, w], hv)
    xv, wv = RNG.uniform(-2, 2, 7), RNG.normal(size=7)
    hess = scipy.optimize.rosen_hess(xv)
    np.testing.assert_allclose(h(xv, wv), hess @ wv, rtol=1e-12, atol=1e-12)


def _vector_nodes_computing(f):
    """Elementwise nodes (plain or fused) whose result is an array: materialised values."""
    from symtheano.tensor.composite import Composite
    from symtheano.tensor.elemwise import Elemwise

    return [n for n in f.fgraph.apply_nodes
            if isinstance(n.op, Elemwise | Composite) and n.outputs[0].ndim > 0]


def test_cost_and_gradient_in_one_function_materialise_nothing():
    # The cost's sum and the gradient's terms both read x[1:] - x[:-1]**2 and
    # 1 - x[:-1] (the gradient's reads behind CheckShape): cheap arithmetic, copied
    # into the PaddedSum and into the FusedReduce rather than materialised for both.
    from symtheano.tensor.composite import FusedReduce

    x = T.dvector("x")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    g = T.grad(cost, x)
    f = th.function([x], [cost, g])
    assert len(padded_nodes(f)) == 1
    assert len([n for n in f.fgraph.apply_nodes if isinstance(n.op, FusedReduce)]) == 1
    assert not _vector_nodes_computing(f), th.printing.debugprint(f, file="str")
    xv = RNG.uniform(-2, 2, 1000)
    value, grad = f(xv)
    assert same_bits(value, th.function([x], cost)(xv))
    assert same_bits(grad, th.function([x], g)(xv))
    for mode in ("PY", "DEBUG", UNREWRITTEN):
        other_value, other_grad = th.function([x], [cost, g], mode=mode)(xv)
        assert same_bits(grad, other_grad), mode
        np.testing.assert_allclose(value, other_value, rtol=1e-14)
    np.testing.assert_allclose(value, scipy.optimize.rosen(xv), rtol=1e-13)
    np.testing.assert_allclose(grad, scipy.optimize.rosen_der(xv), rtol=1e-13)
    # Without the padded_sum rewrite both values are materialised, as before.
    assert _vector_nodes_computing(th.function([x], [cost, g], mode=WITHOUT))


def test_expensive_node_read_by_the_cost_and_the_terms_is_computed_once():
    x = T.dvector("x")
    cost = T.sum(T.exp(x[1:] - x[:-1])) + T.sum(x ** 2)
    f, got = check_modes([x], T.grad(cost, x), [RNG.normal(size=9)], exact=False)
    f = th.function([x], [cost, T.grad(cost, x)])
    assert len(padded_nodes(f)) == 1
    assert sum("exp" in str(n.op) for n in f.fgraph.apply_nodes) == 1, \
        th.printing.debugprint(f, file="str")
    xv = RNG.normal(size=9)
    e = np.exp(xv[1:] - xv[:-1])
    expected = 2 * xv
    expected[1:] += e
    expected[:-1] -= e
    value, grad = f(xv)
    np.testing.assert_allclose(grad, expected, rtol=1e-13)
    np.testing.assert_allclose(value, e.sum() + (xv ** 2).sum(), rtol=1e-13)


def test_interior_aliases_load_shifted_slices_once():
    # Rosenbrock's terms read x[:-1] on box [:-1] and x[1:] on box [1:]: at every
    # interior position both are x[i], and the fused kernel reads three streams
    # (x[i-1], x[i], x[i+1]) instead of five.
    x, g = rosenbrock()
    f = th.function([x], g)
    (node,) = padded_nodes(f)
    aliases = node.op.interior_aliases(node)
    term_inputs = node.inputs[node.op.ndim:]
    assert len(set(aliases)) == 3 and len(aliases) == len(term_inputs)
    (fused, sources), _ = node.op.kernels([v.type for v in term_inputs], aliases)
    assert fused.nin == 3 and sorted(sources) == sorted(set(aliases))


@pytest.mark.parametrize("build", [
    # different offsets: x[2:] on box [:-2] reads x[i+2], x[:-2] on box [2:] reads x[i-2]
    lambda x, z: T.inc_subtensor(z[:-2], x[2:] * 3.0) + T.inc_subtensor(z[2:], x[:-2] ** 2),
    # one array read at equal offsets by both terms, and another at a different one
    lambda x, z: (T.inc_subtensor(z[1:], x[:-1] - x[1:]) + T.inc_subtensor(z[:-1], x[:-1] * x[1:])
                  + T.inc_subtensor(z[1:-1], x[2:] + x[:-2])),
    # starts counted from the end are never taken as aliases
    lambda x, z: T.inc_subtensor(z[-4:], x[-4:] * 2.0) + T.inc_subtensor(z[1:], x[:-1] * -2.0),
    # a set term first: the running sum may be -0.0 until the first inc term
    lambda x, z: (T.set_subtensor(z[1:], -x[1:]) + T.inc_subtensor(z[:-1], x[:-1] * -1.0)
                  + T.inc_subtensor(z[1:], -x[:-1])),
    # a full term first, then inc terms on shifted boxes
    lambda x, z: x * -3.0 + T.inc_subtensor(z[1:], x[1:] * -2.0) + T.inc_subtensor(z[:-1], -x[1:]),
])
def test_aliased_and_unaliased_terms_match_the_unrewritten_graph_bit_for_bit(build):
    x = T.dvector("x")
    out = build(x, T.zeros_like(x))
    special = np.array([0.0, -0.0, -0.0, 0.0, np.nan, np.inf, -np.inf, -0.0, 1.5, -2.5])
    for xv in (special, RNG.normal(size=9), special[::-1].copy(), RNG.normal(size=3)):
        check_modes([x], out, [xv])
