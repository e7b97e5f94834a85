"""What the registry cases do not see in symtheano/tensor/join.py: static shapes and
dtypes inferred when the graph is built, and the errors for wrong arguments."""

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.printing import pp


def _t(dtype, shape, name=None):
    return T.tensor(dtype, shape=shape, name=name)


def _run(inputs, outputs, *values):
    return th.function(inputs, outputs, mode="PY")(*values)


# -- concatenate / stack / split ------------------------------------------------------------------

def test_concatenate_static_shape_and_dtype():
    a, b = _t("float32", (2, 3)), _t("int8", (4, 3))
    out = T.concatenate([a, b])
    assert out.type.shape == (6, 3) and out.dtype == "float32"
    assert T.concatenate([_t("int32", (2, None)), _t("float32", (None, 3))]).type.shape == (
        None, 3)
    assert T.concatenate([a, _t("float32", (2, None))], axis=-1).type.shape == (2, None)
    assert T.concatenate([_t("int32", (2,)), _t("float32", (2,))]).dtype == "float64"


def test_concatenate_static_mismatch_names_the_tensor():
    a, b = _t("float64", (2, 3), "a"), _t("float64", (2, 4), "b")
    with pytest.raises(ValueError, match=r"tensor 1 \(b\) has static size 4 in dimension 1"):
        T.concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match=r"tensor 1 \(v\) has 1 dimensions, expected 2"):
        T.concatenate([a, T.dvector("v")])
    with pytest.raises(ValueError, match="0-d"):
        T.concatenate([T.dscalar(), T.dscalar()])
    with pytest.raises(ValueError, match="out of range"):
        T.concatenate([a, a], axis=2)
    with pytest.raises(TypeError, match="list or tuple"):
        T.concatenate(a)


def test_concatenate_runtime_mismatch_is_a_clear_error():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    f = th.function([a, b], T.concatenate([a, b]), mode="PY")
    with pytest.raises(ValueError, match=r"a \(2, 3\), b \(2, 4\)"):
        f(np.zeros((2, 3)), np.zeros((2, 4)))


def test_stack_forms():
    x, y = T.dscalar("x"), T.dscalar("y")
    old = T.stack(x, y)
    assert old.type.shape == (2,)
    np.testing.assert_array_equal(_run([x, y], old, 1.5, -2.0), [1.5, -2.0])
    m = _t("float64", (2, 3))
    assert T.stack([m, m, m], axis=1).type.shape == (2, 3, 3)
    assert T.stack([m, m], -1).type.shape == (2, 3, 2)
    with pytest.raises(ValueError, match=r"tensor 1 .* has 1 dimensions, expected 2"):
        T.stack([m, T.dvector()])
    # a Python list holding variables becomes a stacked tensor
    assert T.as_tensor_variable([x, y, 3.0]).type.shape == (3,)


def test_hstack_vstack_follow_numpy():
    v, w = _t("float64", (3,)), _t("float64", (2,))
    assert T.horizontal_stack(v, w).type.shape == (5,)
    assert T.vertical_stack(v, v).type.shape == (2, 3)
    m = _t("float64", (2, 3))
    assert T.horizontal_stack([m, m]).type.shape == (2, 6)


def test_split_static_sizes_and_errors():
    x = _t("float64", (5, None))
    a, b = T.split(x, [2, 3], 2)
    assert a.type.shape == (2, None) and b.type.shape == (3, None)
    with pytest.raises(ValueError, match="add up to 4"):
        T.split(x, [2, 2], 2)
    with pytest.raises(ValueError, match="2 pieces need 2 sizes, got 3"):
        T.split(x, [1, 2, 2], 2)
    sizes = T.lvector("sizes")
    pieces = T.split(T.dmatrix("m"), sizes, 2, axis=1)
    f = th.function([pieces[0].owner.inputs[0], sizes], pieces, mode="PY")
    with pytest.raises(ValueError, match="into 2 pieces of sizes"):
        f(np.zeros((2, 3)), np.array([1, 1]))


def test_join_gradient_keeps_input_dtypes():
    a, b = T.fvector("a"), T.dvector("b")
    ga, gb = T.grad(T.sum(T.concatenate([a, b]) * T.arange(5)), [a, b])
    assert ga.dtype == "float32" and gb.dtype == "float64"
    got = _run([a, b], [ga, gb], np.ones(2, "float32"), np.ones(3))
    np.testing.assert_array_equal(got[0], [0, 1])
    np.testing.assert_array_equal(got[1], [2, 3, 4])


# -- repeat / tile ---------------------------------------------------------------------------------

def test_repeat_static_shapes():
    x = _t("float64", (3, None))
    assert T.repeat(x, 2, axis=0).type.shape == (6, None)
    assert T.repeat(x, [1, 0, 4], axis=0).type.shape == (5, None)
    assert T.repeat(x, [2], axis=0).type.shape == (6, None)
    assert T.repeat(x, 2).type.shape == (None,)
    assert T.repeat(x, T.lscalar(), axis=0).type.shape == (None, None)
    assert T.repeat(_t("float64", (2, 2)), 3).type.shape == (12,)


def test_repeat_errors():
    x = _t("float64", (3, None), "x")
    with pytest.raises(ValueError, match="2 repeat counts for 3 elements"):
        T.repeat(x, [1, 2], axis=0)
    with pytest.raises(ValueError, match="negative"):
        T.repeat(x, -1, axis=0)
    with pytest.raises(TypeError, match="integer scalar or vector"):
        T.repeat(x, T.dscalar(), axis=0)
    with pytest.raises(ValueError, match="out of range"):
        T.repeat(x, 2, axis=2)
    v, r = T.dvector("v"), T.lvector("r")
    f = th.function([v, r], T.repeat(v, r, axis=0), mode="PY")
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]), np.array([3])), [1, 1, 1, 2, 2, 2])
    with pytest.raises(ValueError, match="2 repeat counts for 3 elements"):
        f(np.zeros(3), np.array([1, 1]))
    with pytest.raises(ValueError, match="negative"):
        f(np.zeros(2), np.array([1, -1]))


def test_tile_static_shapes_and_errors():
    x = _t("float64", (2, 3))
    assert T.tile(x, (2, 2)).type.shape == (4, 6)
    assert T.tile(x, (2, 1, 1)).type.shape == (2, 2, 3)
    assert T.tile(_t("float64", (None, 3)), (T.lscalar(), 2)).type.shape == (None, 6)
    assert T.tile(x, (1, 1)) is x
    with pytest.raises(ValueError, match="negative"):
        T.tile(x, (2, -1))
    with pytest.raises(TypeError, match="integer scalar"):
        T.tile(x, (T.dscalar(), 1))


# -- arange / eye ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, dtype", [
    ((5,), "int64"), ((0.5,), "float64"), ((1, 7, 2), "int64"), ((1, 2.5, 0.5), "float64"),
])
def test_arange_constant_static_length_and_dtype(args, dtype):
    out = T.arange(*args)
    want = np.arange(*args)
    assert out.dtype == dtype == want.dtype.name
    assert out.type.shape == want.shape


def test_arange_symbolic_dtypes_follow_numpy():
    assert T.arange(T.iscalar()).dtype == "int64"      # numpy.arange(np.int32(5)) is int64
    assert T.arange(T.fscalar()).dtype == "float64"
    assert T.arange(T.iscalar(), dtype="int32").dtype == "int32"
    assert T.arange(T.lscalar()).type.shape == (None,)
    with pytest.raises(TypeError, match="numeric scalar"):
        T.arange(T.dvector())
    with pytest.raises(ValueError, match="step is 0"):
        T.arange(0, 5, 0)
    n, s = T.lscalar("n"), T.lscalar("s")
    f = th.function([n, s], T.arange(0, n, s), mode="PY")
    np.testing.assert_array_equal(f(7, 3), [0, 3, 6])
    with pytest.raises(ValueError, match="is 0"):
        f(7, 0)


def test_eye_static_shape_dtype_and_errors():
    assert T.eye(3, 4, 1).type.shape == (3, 4)
    assert T.eye(3).dtype == th.config.floatX
    assert T.eye(T.lscalar()).type.shape == (None, None)
    assert T.identity_like(_t("int8", (2, 5))).dtype == "int8"
    with pytest.raises(TypeError, match="integer scalar"):
        T.eye(2.5)
    with pytest.raises(ValueError, match="negative"):
        T.eye(-1)
    with pytest.raises(ValueError, match="needs a matrix"):
        T.identity_like(T.dvector())


def test_pretty_printing():
    a, b = T.dvector("a"), T.dvector("b")
    assert "concatenate([a, b], axis=0)" in pp(T.concatenate([a, b]))
    assert "repeat(a, 2, axis=0)" in pp(T.repeat(a, 2))
    assert "arange(" in pp(T.arange(T.lscalar("n")))
