"""Indexing beyond the registry cases: error messages, static shapes, x.shape[i],
accumulation at repeated indices, negative steps, and the caller's arrays."""

import itertools

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.printing import pp
from symtheano.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from symtheano.tensor.subtensor import IncSubtensor, Subtensor, slice_length


def _f(inputs, outputs):
    return th.function(inputs, outputs, mode="PY")


# -- static shapes --------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [
    (1,), (slice(1, 3),), (slice(None, None, -2),), (slice(-2, None), 0), (None, 1, None),
    (Ellipsis, 2), (slice(10, 20),), (slice(3, 0, -1), slice(None, None, 3)),
    ([0, 2, 2],), ([[0], [1]], [1, 2, 3]), ([0, 1], slice(None), 0), (slice(None), [0, 1]),
    (0, None, [1, 2]), (np.array([True, False, True, True, False]),),
])
def test_static_shape_matches_numpy_when_input_shape_is_known(index):
    x = T.tensor("float64", shape=(5, 4, 6), name="x")
    a = np.zeros((5, 4, 6))
    assert x[index].type.shape == a[index].shape


def test_static_shape_unknown_where_data_dependent():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    assert x[1:3].type.shape == (None, None)
    assert x[:, 0].type.shape == (None,)
    assert x[None, i].type.shape == (1, None)
    assert x[x > 0].type.shape == (None,)
    assert x[:, T.lvector("v")].type.shape == (None, None)
    y = T.tensor("float64", shape=(4, 3), name="y")
    assert y[i:].type.shape == (None, 3)
    assert y[:, 0].type.shape == (4,)
    assert y[T.lmatrix("m")].type.shape == (None, None, 3)


def test_equal_indexes_build_equal_ops():
    x = T.dtensor3("x")
    assert x[0].owner.op == x[0, :].owner.op == x[0, ...].owner.op == x[0, :, ::1].owner.op
    assert x[0].owner.op != x[1].owner.op
    assert isinstance(x[0].owner.op, Subtensor)
    assert isinstance(x[[0, 1]].owner.op, AdvancedSubtensor)
    assert isinstance(x[x > 0].owner.op, AdvancedSubtensor)


def test_slice_length_matches_python_for_every_small_case():
    bounds = [None, *range(-7, 8)]
    for n, start, stop, step in itertools.product(range(6), bounds, bounds,
                                                  [None, -3, -2, -1, 1, 2, 5]):
        want = len(range(n)[start:stop:step])
        assert slice_length(n, start, stop, step) == want, (n, start, stop, step)


def test_slice_length_symbolic_matches_python():
    # The symbolic formula is elementwise, so one call checks a whole grid.
    grid = [(n, a, b, c) for n in range(5) for a in range(-6, 7) for b in range(-6, 7)
            for c in (-3, -1, 1, 2)]
    n, a, b, c = (np.array(col, dtype="int64") for col in zip(*grid, strict=True))
    sn, sa, sb, sc = T.lvectors("n", "a", "b", "c")
    got = _f([sn, sa, sb, sc], slice_length(sn, sa, sb, sc))(n, a, b, c)
    want = [len(range(nn)[aa:bb:cc]) for nn, aa, bb, cc in grid]
    np.testing.assert_array_equal(got, want)
    # Defaults (None) with a symbolic step.
    got = _f([sn, sc], slice_length(sn, None, None, sc))(n, c)
    np.testing.assert_array_equal(got, [len(range(nn)[::cc]) for nn, cc in zip(n, c,
                                                                                strict=True)])


# -- x.shape[i] -----------------------------------------------------------------------------------

def test_shape_entries():
    x = T.dtensor3("x")
    f = _f([x], [x.shape[0], x.shape[-1], x.shape[1:], x.shape[::-1], x.shape[:0]])
    a = np.zeros((2, 3, 4))
    got = f(a)
    assert [g.tolist() for g in got] == [2, 4, [3, 4], [4, 3, 2], []]
    assert got[0].dtype == np.int64 and got[0].ndim == 0
    assert got[2].dtype == np.int64


def test_shape_entries_are_constants_where_static():
    x = T.tensor("float64", shape=(None, 3, 4), name="x")
    assert int(x.shape[-1].data) == 4
    assert x.shape[1:].type.shape == (2,)
    # The static sizes reach reshape through the shape vector.
    assert T.reshape(x, x.shape[1:]).type.shape == (3, 4)


def test_symbolic_shape_entry_and_int_vector_indexing():
    x = T.dmatrix("x")
    v = T.lvector("v")
    i = T.lscalar("i")
    f = _f([x, v, i], [x.shape[i], v[i], v[1:], x[x.shape[0] - 1]])
    a = np.arange(6.0).reshape(2, 3)
    got = f(a, np.array([7, 8, 9]), -1)
    assert int(got[0]) == 3 and int(got[1]) == 9
    np.testing.assert_array_equal(got[2], [8, 9])
    np.testing.assert_array_equal(got[3], a[-1])


def test_shape_index_out_of_range():
    x = T.dmatrix("x")
    with pytest.raises(IndexError, match="out of bounds for dimension 0.*size is 2"):
        x.shape[2]


# -- negative steps -------------------------------------------------------------------------------

def test_symbolic_negative_steps_match_numpy():
    x = T.dvector("x")
    a, b, c = T.lscalars("a", "b", "c")
    f = _f([x, a, b, c], x[a:b:c])
    data = np.arange(7.0)
    for start, stop, step in itertools.product(range(-9, 9, 2), range(-9, 9, 3), (-1, -2, -4)):
        np.testing.assert_array_equal(f(data, start, stop, step), data[start:stop:step])


def test_negative_step_gradient_and_set():
    x = T.dvector("x")
    y = T.dvector("y")
    g = T.grad((x[::-2] * np.arange(4.0)).sum(), x)
    np.testing.assert_array_equal(_f([x], g)(np.zeros(7)), [3, 0, 2, 0, 1, 0, 0])
    out = _f([x, y], T.set_subtensor(x[5:0:-2], y))(np.zeros(7), np.array([1.0, 2, 3]))
    np.testing.assert_array_equal(out, [0, 3, 0, 2, 0, 1, 0])


# -- repeated indices -----------------------------------------------------------------------------

def test_inc_with_repeated_indices_matches_add_at():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    i = T.lvector("i")
    j = T.lmatrix("j")
    f = _f([x, i, j, y], T.inc_subtensor(x[i, j], y))
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    ii = np.array([0, 2, 0, 0, -1])
    jj = np.array([[1], [1]])
    vals = rng.normal(size=(2, 5))
    want = a.copy()
    np.add.at(want, (ii, jj), vals)
    np.testing.assert_allclose(f(a, ii, jj, vals), want)


def test_gradient_accumulates_at_repeated_indices():
    x = T.dvector("x")
    i = T.lvector("i")
    w = T.dvector("w")
    g = T.grad((x[i] * w).sum(), x)
    idx = np.array([1, 3, 1, 1, -1])
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    want = np.zeros(5)
    np.add.at(want, idx, weights)
    np.testing.assert_allclose(_f([x, i, w], g)(np.zeros(5), idx, weights), want)


def test_set_gradients():
    x = T.dmatrix("x")
    y = T.dvector("y")
    cost = (T.set_subtensor(x[1], y) * np.arange(6.0).reshape(2, 3)).sum()
    gx, gy = T.grad(cost, [x, y])
    got_x, got_y = _f([x, y], [gx, gy])(np.ones((2, 3)), np.ones(3))
    np.testing.assert_array_equal(got_x, [[0, 1, 2], [0, 0, 0]])   # overwritten: no gradient
    np.testing.assert_array_equal(got_y, [3, 4, 5])


# -- the caller's arrays --------------------------------------------------------------------------

def test_inputs_untouched_and_outputs_independent():
    x = T.dmatrix("x")
    y = T.dscalar("y")
    f = _f([x, y], [x[1:], T.set_subtensor(x[0], y), T.inc_subtensor(x[[0, 0]], y),
                    T.set_subtensor(x[x > 2], y)])
    a = np.arange(6.0).reshape(2, 3)
    keep = a.copy()
    view, set_row, inc_rep, masked = f(a, 10.0)
    np.testing.assert_array_equal(a, keep)
    np.testing.assert_array_equal(set_row, [[10, 10, 10], [3, 4, 5]])
    np.testing.assert_array_equal(inc_rep, [[20, 21, 22], [3, 4, 5]])
    np.testing.assert_array_equal(masked, [[0, 1, 2], [10, 10, 10]])
    view[...] = -1  # the returned slice must not alias the caller's array
    np.testing.assert_array_equal(a, keep)


def test_set_subtensor_leaves_the_symbolic_input_alone():
    x = T.dvector("x")
    z = T.set_subtensor(x[1:], 0.0)
    f = _f([x], [z, x * 1])
    out, same = f(np.ones(3))
    np.testing.assert_array_equal(out, [1, 0, 0])
    np.testing.assert_array_equal(same, [1, 1, 1])


# -- errors ---------------------------------------------------------------------------------------

def test_static_out_of_range_index():
    x = T.tensor("float64", shape=(3, None), name="x")
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dimension 0 of x, "
                                         r"whose size is 3"):
        x[3]
    with pytest.raises(IndexError, match="index -4 is out of bounds"):
        x[-4, 0]
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 of x"):
        x[[0, 5]]


def test_runtime_out_of_range_index_names_variable_index_and_size():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    f = _f([x, i], x[1, i])
    with pytest.raises(IndexError, match=r"index -4 is out of bounds for dimension 1 of x, "
                                         r"whose size is 3"):
        f(np.zeros((2, 3)), -4)
    g = _f([x], x[5])
    with pytest.raises(IndexError, match="index 5 .* dimension 0 of x, whose size is 2"):
        g(np.zeros((2, 3)))
    v = T.lvector("v")
    h = _f([x, v], x[v])
    with pytest.raises(IndexError, match="indexing x .*index 7 is out of bounds.*size 2"):
        h(np.zeros((2, 3)), np.array([0, 7]))


def test_bad_indices():
    x = T.dmatrix("x")
    with pytest.raises(IndexError, match="too many indices for x: it has 2"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(TypeError, match="dtype float64; indices must be integers"):
        x[T.dscalar("f")]
    with pytest.raises(TypeError, match="slice bounds .* must be None, ints or integer"):
        x[T.dscalar("f"):]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        x[::0]
    with pytest.raises(TypeError, match="invalid index 'a'"):
        x["a"]


def test_mask_shape_mismatch():
    x = T.tensor("float64", shape=(3, 4), name="x")
    with pytest.raises(IndexError, match="boolean mask .* does not match x"):
        x[np.array([True, False])]
    m = T.bvector("m") > 0
    y = T.dmatrix("y")
    f = _f([y, m.owner.inputs[0]], y[m])
    with pytest.raises(IndexError, match="indexing y"):
        f(np.zeros((3, 4)), np.array([1, 0], dtype="int8"))


def test_set_subtensor_errors():
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="must be the result of indexing a variable"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(TypeError, match="must be the result of indexing"):
        T.inc_subtensor(x * 2, 1.0)
    with pytest.raises(ValueError, match="3 dimensions, more than the 1"):
        T.set_subtensor(x[0], T.dtensor3("y"))
    with pytest.raises(TypeError, match="dtype float64, which .* cannot hold"):
        T.set_subtensor(T.ivector("iv")[0], T.dscalar("d"))
    s = T.tensor("float64", shape=(4, 3), name="s")
    with pytest.raises(ValueError, match="static shape \\(2,\\)"):
        T.set_subtensor(s[0], T.tensor("float64", shape=(2,), name="w"))


def test_set_subtensor_runtime_shape_errors():
    x = T.dmatrix("x")
    y = T.dvector("y")
    f = _f([x, y], T.set_subtensor(x[0], y))
    with pytest.raises(ValueError, match="dimension 0 has size 2, expected 3"):
        f(np.zeros((2, 3)), np.zeros(2))
    # A size-1 value whose dimension is not declared broadcastable does not broadcast.
    with pytest.raises(ValueError, match="broadcasts only when declared broadcastable"):
        f(np.zeros((2, 3)), np.zeros(1))
    c = T.dscalar("c")
    g = _f([x, c], T.set_subtensor(x[0], c))
    np.testing.assert_array_equal(g(np.zeros((2, 2)), 4.0), [[4, 4], [0, 0]])


def test_constant_values_are_cast_to_the_indexed_dtype():
    v = T.fvector("v")
    out = _f([v], T.set_subtensor(v[1:], 0.5))(np.zeros(3, dtype="float32"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [0, 0.5, 0.5])
    with pytest.raises(TypeError, match="cannot hold"):
        T.set_subtensor(T.bvector("b")[0], 300)


# -- ops and printing -----------------------------------------------------------------------------

def test_op_classes_and_printing():
    x = T.dmatrix("x")
    i = T.lscalar("i")
    v = T.lvector("v")
    assert pp(x[1:i, ::-1]) == "x[1:i, ::-1]"
    assert pp(x[None, i]) == "x[None, i]"
    assert pp(x[v, 0]) == "x[v, 0]"
    assert pp(T.set_subtensor(x[i], 1.0)) == "set_subtensor(x[i], 1.0)"
    assert isinstance(T.inc_subtensor(x[0], 1.0).owner.op, IncSubtensor)
    inc = T.inc_subtensor(x[v], 1.0).owner.op
    assert isinstance(inc, AdvancedIncSubtensor) and not inc.set_instead_of_inc
    assert str(x[1:, 0].owner.op) == "Subtensor{1:, 0}"
    with pytest.raises(TypeError, match="takes a basic index"):
        Subtensor(x[v].owner.op.idx_list)


def test_infer_shape_of_mask_and_arrays():
    x = T.dtensor3("x")
    m = T.dmatrix("m") > 0
    v = T.lmatrix("v")
    out = x[m, v[:, :1]]
    node = out.owner
    from symtheano.tensor.shape import MakeVector, shape_tuple

    shp = node.op.infer_shape(node, [shape_tuple(i) for i in node.inputs])[0]
    inputs = [x, m.owner.inputs[0], v]
    f = th.function(inputs, [MakeVector("int64")(*shp), out], mode="PY")
    mask = np.array([[1.0, -1, 1], [-1, -1, 1]])
    got, value = f(np.zeros((2, 3, 4)), mask, np.array([[0], [1], [3]]))
    assert tuple(got) == value.shape == (3, 3)
