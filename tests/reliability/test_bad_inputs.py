"""The bad-input matrix: every kind of node (elementwise, reduction, argmax, product,
indexing, reshaping) against every kind of awkward or wrong argument, in the C
program and the reference.

Awkward but valid memory (non-contiguous, negative strides, Fortran order,
unaligned, byte-swapped, read-only, zero strides, the same array twice) gives
NumPy's result. Wrong arguments (dtype, ndim, static size, incompatible shapes,
argument count and names, ragged lists) raise a stable exception type whose
message names the input, its position, what was expected and what was given.
In every case the caller's arrays come back unchanged: bytes, flags and all.
Integer overflow, zero-size arrays and NaN/inf follow the rules documented in
docs/reliability.md, checked here.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.io import In

MODES = ["C", "PY"]

# kind -> (symbolic of (x, y), NumPy of (a, b)); x and y are matrices of one dtype
KINDS = {
    "elementwise": (lambda x, y: T.exp(x) * 2 + y, lambda a, b: np.exp(a) * 2 + b),
    "reduction": (lambda x, y: T.sum(x * y, axis=0), lambda a, b: np.sum(a * b, axis=0)),
    "argmax": (lambda x, y: T.argmax(x + y, axis=1), lambda a, b: np.argmax(a + b, axis=1)),
    "dot": (lambda x, y: T.dot(x, y.T), lambda a, b: np.dot(a, b.T)),
    "index": (lambda x, y: x[::-1, 1:] - y[0, 1:], lambda a, b: a[::-1, 1:] - b[0, 1:]),
    "reshape": (lambda x, y: T.reshape(x, (-1,)) * T.reshape(y.T, (-1,)),
                lambda a, b: a.reshape(-1) * b.T.reshape(-1)),
}
SHAPE = (3, 4)


def compiled(kind, mode, dtype="float64"):
    sym, ref = KINDS[kind]
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    return th.function([x, y], sym(x, y), mode=mode), ref


def snapshot(a):
    return (a.tobytes(), a.dtype.str, a.shape, a.strides, a.flags.writeable,
            a.__array_interface__["data"][0])


def data(seed, dtype="float64", shape=SHAPE):
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)


def unaligned(a):
    """A copy of `a` whose data starts one byte past an aligned address."""
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = np.frombuffer(buf.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


LAYOUTS = {
    "non-contiguous": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    "negative strides": lambda a: a[::-1, ::-1].copy()[::-1, ::-1],
    "fortran order": np.asfortranarray,
    "unaligned": unaligned,
    "byte-swapped": lambda a: a.astype(a.dtype.newbyteorder(">")),
    "read-only": read_only,
    "zero strides": lambda a: np.broadcast_to(a[:1], a.shape),
    "transposed view": lambda a: a.T.copy().T,
}


def assert_result(got, want):
    got = np.asarray(got)
    assert got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, want)


# -- awkward but valid memory ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_any_memory_layout_gives_numpys_result_and_stays_untouched(kind, layout, mode):
    f, ref = compiled(kind, mode)
    a, b = LAYOUTS[layout](data(1)), LAYOUTS[layout](data(2))
    if layout == "zero strides":
        b = data(2)
    before = [snapshot(a), snapshot(b)]
    want = ref(np.array(a, dtype="float64"), np.array(b, dtype="float64"))
    assert_result(f(a, b), want)
    assert_result(f(y=b, x=a), want)  # the general (keyword) path as well
    assert [snapshot(a), snapshot(b)] == before


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_the_same_array_passed_twice(kind, mode):
    f, ref = compiled(kind, mode)
    a = data(3)
    before = snapshot(a)
    assert_result(f(a, a), ref(a.copy(), a.copy()))
    assert snapshot(a) == before


@pytest.mark.parametrize("mode", MODES)
def test_an_argument_aliasing_a_shared_variable(mode):
    """The update reads the old value; neither the caller's array nor the returned
    output is the new storage of the shared variable."""
    a = data(4)
    w = th.shared(a, name="w", borrow=True)  # w holds a itself
    x = T.dmatrix("x")
    f = th.function([x], [x * 2 + w], updates=[(w, w + x)], mode=mode)
    out = f(a)[0]
    np.testing.assert_array_equal(out, data(4) * 3)
    np.testing.assert_array_equal(w.get_value(), data(4) * 2)
    assert not np.may_share_memory(out, w.get_value(borrow=True))
    out2 = f(w.get_value(borrow=True))[0]  # the shared variable's storage as the argument
    np.testing.assert_array_equal(out2, data(4) * 6)
    np.testing.assert_array_equal(w.get_value(), data(4) * 4)


@pytest.mark.parametrize("mode", MODES)
def test_mutable_inputs_are_still_not_written(mode):
    x = T.dvector("x")
    f = th.function([In(x, mutable=True)], T.exp(x) + 1, mode=mode)
    a = np.arange(3.0)
    f(a)
    np.testing.assert_array_equal(a, np.arange(3.0))


# -- wrong arguments -------------------------------------------------------------------------


def names_input(message, name, position, expected, given):
    """The message names the input, its position, what was expected and what was given."""
    for part in (f"input {position} '{name}'", expected, given):
        assert part in message, f"{part!r} not in: {message}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_lossy_dtypes_are_refused_naming_the_input(kind, mode):
    f, _ = compiled(kind, mode, dtype="float32")
    good = data(5, "float32")
    for bad, given in [(data(6, "float64"), "float64"), (data(6).astype(complex), "complex128"),
                       (np.ones(SHAPE, np.int64), "int64")]:
        before = snapshot(bad)
        with pytest.raises(TypeError) as info:
            f(good, bad)
        names_input(str(info.value), "y", 1, "float32", given)
        assert snapshot(bad) == before
    g, _ = compiled(kind, mode, dtype="int32")
    with pytest.raises(TypeError) as info:
        g(np.ones(SHAPE, np.int64), np.ones(SHAPE, np.int32))
    names_input(str(info.value), "x", 0, "int32", "int64")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_lossless_dtypes_are_accepted(kind, mode):
    f, ref = compiled(kind, mode)
    for a in [data(7, "float32"), np.arange(12, dtype=np.int8).reshape(SHAPE),
              np.ones(SHAPE, dtype=bool), data(7).tolist()]:
        b = data(8)
        want = ref(np.asarray(a, dtype="float64"), b)
        assert_result(f(a, b), want)
    with pytest.raises(TypeError) as info:  # float16 is not a symtheano dtype at all
        f(data(7, "float16"), data(8))
    names_input(str(info.value), "x", 0, "unsupported dtype float16", "dtype float16")
    # allow_input_downcast accepts a lossy value and casts it
    x, y = T.fmatrix("x"), T.fmatrix("y")
    sym, ref = KINDS[kind]
    g = th.function([x, y], sym(x, y), mode=mode, allow_input_downcast=True)
    got = g(data(9), data(10))
    want = ref(data(9).astype("float32"), data(10).astype("float32"))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_wrong_ndim_is_refused_naming_the_input(kind, mode):
    f, _ = compiled(kind, mode)
    for bad, given in [(np.ones(4), "shape (4,)"), (np.ones((1, 3, 4)), "shape (1, 3, 4)"),
                       (1.5, "float 1.5")]:
        with pytest.raises(TypeError) as info:
            f(data(1), bad)
        names_input(str(info.value), "y", 1, "Matrix(float64", given)
        assert "dimensions" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_static_sizes_are_checked_naming_the_input(mode):
    s = T.TensorType("float64", (3, None))("s")
    f = th.function([s], s * 2, mode=mode)
    with pytest.raises(ValueError) as info:
        f(np.ones((4, 2)))
    names_input(str(info.value), "s", 0, "shape=(3, ?)", "shape (4, 2)")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_incompatible_shapes_name_both_operands_and_sizes(kind, mode):
    f, _ = compiled(kind, mode)
    a, b = data(1), data(2, shape=(3, 5))
    if kind == "reshape":
        b = data(2, shape=(2, 5))
    with pytest.raises(ValueError) as info:
        f(a, b)
    message = str(info.value)
    # both operands by name (or the expression built from them) and their sizes
    assert re.search(r"\bx\b", message) and re.search(r"\by\b", message), message
    assert len(re.findall(r"\(\d+(?:, \d+)*,?\)", message)) >= 2, message


def _argument_cases():
    """name -> (inputs, output, arguments, parts the message must hold): elementwise and
    product errors whose operands are arguments, intermediates and a shared variable."""
    x, y, m = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("m")
    u, v = T.dvector("u"), T.dvector("v")
    w = th.shared(np.ones(5), name="w")
    a34, a42, a52 = np.ones((3, 4)), np.ones((4, 2)), np.ones((5, 2))
    return {
        "elementwise": ([u, v], u + v, (np.ones(3), np.ones(4)),
                        ["argument 0 'u' has shape (3,)", "argument 1 'v' has shape (4,)"]),
        "elementwise, intermediate": (
            [x, y, u], T.sum(x * y, axis=1) + u, (a34, a34, np.ones(5)),
            ["(from arguments 0 'x', 1 'y') has shape (3,)", "argument 2 'u' has shape (5,)"]),
        "elementwise, shared variable": (
            [u], u + w, (np.ones(3),),
            ["argument 0 'u' has shape (3,)", "shared variable 'w' has shape (5,)"]),
        "undeclared broadcast": (
            [x, y], x + y, (a34, np.ones((1, 4))),
            ["argument 1 'y' has size 1 in dimension 0", "argument 0 'x' has shape (3, 4)"]),
        "dot": ([x, m], T.dot(x, m), (a34, a52),
                ["argument 0 'x' has shape (3, 4)", "argument 1 'm' has shape (5, 2)"]),
        "dot, vectors": ([u, v], T.dot(u, v), (np.ones(3), np.ones(4)),
                         ["argument 0 'u' has shape (3,)", "argument 1 'v' has shape (4,)"]),
        "dot, intermediate": (
            [x, y, m], T.dot(x + y, m), (a34, a34, a52),
            ["(x + y) (from arguments 0 'x', 1 'y') has shape (3, 4)",
             "argument 2 'm' has shape (5, 2)"]),
        "dot, transposed": ([x, m], T.dot(x, m.T), (a34, np.ones((2, 5))),
                            ["argument 0 'x' has shape (3, 4)",
                             "m.T (from argument 1 'm') has shape (5, 2)"]),
        "dot, added term": (
            [x, y, m], T.dot(x, y) + m, (a34, a42, np.ones((3, 5))),
            # C and PY: gemm's added term and factors; FAST_COMPILE: dot(x, y) + m
            ["argument 2 'm' has shape (3, 5)", "0 'x'", "1 'y'"]),
    }


@pytest.mark.parametrize("mode", MODES + ["FAST_COMPILE"])
@pytest.mark.parametrize("case", list(_argument_cases()))
def test_incompatible_shapes_name_the_arguments(case, mode):
    """The message names the function's arguments behind each operand, by position and
    name (an intermediate: the arguments it is computed from); still a ValueError."""
    inputs, output, args, parts = _argument_cases()[case]
    f = th.function(inputs, output, mode=mode)
    with pytest.raises(ValueError) as info:
        f(*args)
    assert type(info.value) is ValueError
    for part in parts:
        assert part in str(info.value), f"{part!r} not in: {info.value}"
    with pytest.raises(ValueError) as by_name:  # the general path says the same
        f(**{v.name: a for v, a in zip(inputs, args)})
    assert str(by_name.value) == str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_argument_counts_and_names(mode):
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], x + y, mode=mode)
    one = np.ones(3)
    cases = [((one,), {}, "missing argument for input 1 'y'"),
             ((one, one, one), {}, "takes 2 argument(s) (x, y), got 3"),
             ((), {"x": one}, "missing argument for input 1 'y'"),
             ((one,), {"z": one}, "unexpected keyword argument 'z'; input names: ['x', 'y']"),
             ((one,), {"x": one}, "input 0 ('x') both by position and by keyword"),
             ((), {}, "missing argument for input 0 'x'")]
    for args, kwargs, message in cases:
        with pytest.raises(TypeError) as info:
            f(*args, **kwargs)
        assert message in str(info.value)
    np.testing.assert_array_equal(f(y=one, x=one * 2), one * 3)


@pytest.mark.parametrize("mode", MODES)
def test_values_that_are_not_arrays(mode):
    x = T.dmatrix("x")
    f = th.function([x], x * 2, mode=mode)
    for bad, given in [([[1.0], [1.0, 2.0]], "inhomogeneous"), (None, "NoneType None"),
                       ("abc", "str 'abc'"), (np.array([["a"]]), "dtype <U1"),
                       (np.array([[1.0, None]], dtype=object), "dtype object")]:
        with pytest.raises(TypeError) as info:
            f(bad)
        names_input(str(info.value), "x", 0, "Matrix(float64", given)
    np.testing.assert_array_equal(f([[1, 2]]), [[2.0, 4.0]])


# -- zero-size arrays, NaN and inf, integer overflow ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_zero_size_reductions(mode):
    """With an identity: sum 0, prod 1, mean NaN (as NumPy); without one (max, min,
    argmax): a ValueError naming the input and its shape; empty outputs stay empty."""
    x, m = T.dvector("x"), T.dmatrix("m")
    empty = np.ones(0)
    f = th.function([x], [T.sum(x), T.prod(x), T.mean(x), x * 2], mode=mode)
    with np.errstate(invalid="ignore"):
        total, product, mean, doubled = f(empty)
    assert total == 0 and product == 1 and np.isnan(mean) and doubled.shape == (0,)
    for op in (T.max, T.min, T.argmax):
        with pytest.raises(ValueError, match=r"empty axis of x \(shape \(0,\)\)"):
            th.function([x], op(x), mode=mode)(empty)
        with pytest.raises(ValueError, match=r"empty axis of m \(shape \(0, 3\)\)"):
            th.function([m], op(m, axis=0), mode=mode)(np.ones((0, 3)))
        assert th.function([m], op(m, axis=1), mode=mode)(np.ones((0, 3))).shape == (0,)
    np.testing.assert_array_equal(
        th.function([m], T.sum(m, axis=1), mode=mode)(np.ones((3, 0))), np.zeros(3))
    np.testing.assert_array_equal(
        th.function([m], T.dot(m, m.T), mode=mode)(np.ones((2, 0))), np.zeros((2, 2)))


@pytest.mark.parametrize("mode", MODES)
def test_nan_and_inf_follow_numpy(mode):
    x = T.dvector("x")
    values = np.array([1.0, np.nan, 3.0, np.inf, -np.inf, 0.0])
    f = th.function([x], [T.max(x), T.min(x), T.argmax(x), T.argmin(x), T.sum(x), x / 0,
                          T.exp(x), T.log(x), T.dot(x, x)], mode=mode)
    with np.errstate(all="ignore"):
        want = [np.max(values), np.min(values), np.argmax(values), np.argmin(values),
                np.sum(values), values / 0, np.exp(values), np.log(values), values @ values]
        got = f(values)
    for g, w in zip(got, want):
        # NaN and inf exactly where NumPy has them; libm's last bit may differ (8 ulp)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_array_equal(g[~np.isfinite(w)], w[~np.isfinite(w)])
        np.testing.assert_allclose(g, w, rtol=8 * np.finfo(float).eps, atol=0)
    finite = np.array([1.0, np.inf, 3.0, -2.0])
    got = f(finite)
    assert got[2] == 1 and got[3] == 3 and got[4] == np.inf


@pytest.mark.parametrize("mode", MODES)
def test_integer_overflow_wraps_and_sums_widen(mode):
    """Documented (docs/reliability.md): fixed-width integer arithmetic wraps around
    (two's complement, as NumPy); sums and products of int8..int32 accumulate and
    return int64 (uint64 for unsigned); integer division and remainder by zero give 0,
    and INT_MIN // -1 gives INT_MIN, as NumPy does (without its warning)."""
    i, j, b = T.ivector("i"), T.ivector("j"), T.bvector("b")
    big = np.array([2**31 - 1, -(2**31), 2**30 + 5], np.int32)
    f = th.function([i, j], [i * 2, i + 1, i - 1, T.sum(i), T.prod(i), i // j, i % j],
                    mode=mode)
    divisors = np.array([0, -1, 0], np.int32)
    with np.errstate(all="ignore"):
        want = [big * 2, big + 1, big - 1, big.astype(np.int64).sum(),
                big.astype(np.int64).prod(), big // divisors, big % divisors]
    got = f(big, divisors)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    small = np.array([127, -128, 100], np.int8)
    g = th.function([b], [b + b, T.sum(b), -b], mode=mode)
    got = g(small)
    np.testing.assert_array_equal(got[0], (small + small))
    assert got[1].dtype == np.int64 and got[1] == 99
    np.testing.assert_array_equal(got[2], -small)
