"""function(): calling conventions, defaults, shared variables, updates, givens,
and the errors users see for bad input."""

import re

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T


def test_single_output_returns_array_and_list_returns_list():
    x = T.dvector("x")
    f = th.function([x], x * 2)
    g = th.function([x], [x * 2, x + 1])
    out = f([1.0, 2.0])
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [2.0, 4.0])
    a, b = g(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(a, [2.0, 4.0])
    np.testing.assert_array_equal(b, [2.0, 3.0])
    assert isinstance(th.function([x], [x * 2])(np.ones(2)), list)


def test_call_by_keyword_and_defaults():
    x, y, w = T.dscalars("x", "y", "w")
    f = th.function([x, th.In(y, value=1), th.In(w, value=2, name="w_by_name")], (x + y) * w)
    assert f(33) == 68
    assert f(33, 2) == 70
    assert f(33, 0, 1) == 33
    assert f(33, w_by_name=1) == 34
    assert f(33, w_by_name=1, y=0) == 33
    assert f(x=1, y=2) == 6


def test_accumulator_with_updates():
    state = th.shared(0, name="state")
    inc = T.iscalar("inc")
    accumulator = th.function([inc], state, updates=[(state, state + inc)])
    assert accumulator(1) == 0
    assert state.get_value() == 1
    accumulator(300)
    assert state.get_value() == 301
    state.set_value(-1)
    accumulator(3)
    assert state.get_value() == 2
    dec = th.function([inc], state, updates={state: state - inc})
    dec(2)
    assert state.get_value() == 0


def test_updates_use_old_values_simultaneously():
    a = th.shared(np.array(1.0), name="a")
    b = th.shared(np.array(2.0), name="b")
    swap = th.function([], [a, b], updates=[(a, b), (b, a)])
    old = swap()
    assert [float(v) for v in old] == [1.0, 2.0]
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)


def test_givens_replaces_shared_variable():
    state = th.shared(0, name="state")
    inc = T.iscalar("inc")
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = th.function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0


def test_shared_get_set_value_copy_semantics():
    data = np.arange(3.0)
    s = th.shared(data)
    data[0] = 100.0
    assert s.get_value()[0] == 0.0  # shared copied its value
    v = s.get_value()
    v[1] = 50.0
    assert s.get_value()[1] == 1.0  # get_value returned a copy
    s.set_value(np.ones(5))
    assert s.get_value().shape == (5,)  # the shape of a shared variable may change
    with pytest.raises(TypeError, match="dimensions"):
        s.set_value(np.ones((2, 2)))


def test_outputs_do_not_alias_inputs_or_shared():
    x = T.dvector("x")
    s = th.shared(np.arange(3.0), name="s")
    f = th.function([x], [x, s, s.T])
    a = np.ones(3)
    ox, os_, ot = f(a)
    ox[0] = 7.0
    os_[0] = 7.0
    ot[1] = 7.0
    assert a[0] == 1.0
    np.testing.assert_array_equal(s.get_value(), [0.0, 1.0, 2.0])


def test_inputs_never_modified():
    x = T.dmatrix("x")
    f = th.function([x], [x.T, x * 2, T.sum(x)])
    a = np.arange(6.0).reshape(2, 3)
    before = a.copy()
    f(a)
    np.testing.assert_array_equal(a, before)


def test_eval():
    x = T.dscalar("x")
    assert (x * 3).eval({x: 2.0}) == 6.0
    assert T.constant(np.arange(3)).sum().eval() == 3


def test_debugprint_and_pp_of_function():
    x = T.dscalar("x")
    gy = T.grad(x ** 2, x)
    text = th.pp(gy)
    assert "x" in text and "**" in text
    f = th.function([x], gy)
    out = th.printing.debugprint(f, file="str")
    assert "Scalar(float64" in out and "[id A]" in out


# -- bad input -----------------------------------------------------------------------------


def _f():
    x = T.dmatrix("x")
    y = T.dvector("y")
    return th.function([x, y], x + y)


def test_wrong_number_of_arguments():
    f = _f()
    with pytest.raises(TypeError, match=r"takes 2 argument\(s\) \(x, y\), got 3"):
        f(np.ones((2, 2)), np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"missing argument for input 1 'y'"):
        f(np.ones((2, 2)))
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        f(np.ones((2, 2)), z=np.ones(2))


def test_wrong_ndim_names_input_position_expected_and_given():
    f = _f()
    with pytest.raises(TypeError) as info:
        f(np.ones((2, 2)), np.ones((2, 2)))
    msg = str(info.value)
    assert "input 1 'y'" in msg
    assert "expected an array with 1 dimensions" in msg
    assert "shape (2, 2)" in msg


def test_lossy_dtype_refused_unless_allowed():
    x = T.fvector("x")
    f = th.function([x], x * 2)
    with pytest.raises(TypeError) as info:
        f(np.ones(3, dtype="float64"))
    msg = str(info.value)
    assert "input 0 'x'" in msg and "float32" in msg and "float64" in msg
    assert "allow_input_downcast" in msg
    g = th.function([x], x * 2, allow_input_downcast=True)
    assert g(np.ones(3)).dtype == np.float32
    # Python floats may be narrowed to float32 (Theano's rule), ints that fit too.
    assert f([1.5, 2.0, 3.0]).dtype == np.float32
    i = T.bvector("i")
    h = th.function([i], i + 1)
    np.testing.assert_array_equal(h([1, 2]), [2, 3])
    with pytest.raises(TypeError, match="input 0 'i'"):
        h([1000])


def test_shape_mismatch_at_run_time_names_inputs():
    f = _f()
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones(4))
    msg = str(info.value)
    # each operand with the arguments it comes from, by position and name (issue 9)
    assert "argument 0 'x' has shape (2, 3)" in msg, msg
    assert "y.dimshuffle('x', 0) (from argument 1 'y') has shape (1, 4)" in msg, msg
    # The note points at the user's line that built the failing expression.
    assert any(re.search(r"built at .*test_function\.py:\d+", n) for n in info.value.__notes__)


def test_static_shape_mismatch():
    x = T.tensor("float64", shape=(2, None), name="x")
    f = th.function([x], x + 1)
    with pytest.raises(ValueError, match=r"input 0 'x'.*dimension 0 must be 2"):
        f(np.ones((3, 3)))


def test_caller_arrays_untouched_on_error():
    f = _f()
    a = np.ones((2, 3))
    b = np.ones(4)
    with pytest.raises(ValueError):
        f(a, b)
    assert (a == 1).all() and (b == 1).all()


def test_unused_input_policy():
    x, y = T.dscalars("x", "y")
    with pytest.raises(ValueError, match=r"input 1 'y'.*not used"):
        th.function([x, y], x * 2)
    with pytest.warns(UserWarning, match="not used"):
        th.function([x, y], x * 2, on_unused_input="warn")
    assert th.function([x, y], x * 2, on_unused_input="ignore")(1, 2) == 2


def test_missing_input_names_variable_and_site():
    x, y = T.dscalars("x", "y")
    with pytest.raises(ValueError) as info:
        th.function([x], x + y)
    msg = str(info.value)
    assert "'y'" in msg and "not among the inputs" in msg
    assert re.search(r"test_function\.py:\d+", msg), msg


def test_bad_inputs_declaration():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="list of variables"):
        th.function(x, x)
    with pytest.raises(TypeError, match="computed by"):
        th.function([x * 2], x)
    with pytest.raises(ValueError, match="listed twice"):
        th.function([x, x], x)
    s = th.shared(1.0)
    with pytest.raises(TypeError, match="shared variable"):
        th.function([s], s * 2)
    with pytest.raises(TypeError, match="updates can only change shared variables"):
        th.function([x], x, updates=[(x, x + 1)])


def test_update_type_mismatch():
    w = th.shared(np.zeros(3, dtype="float32"), name="w")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"update for 'w'.*float64.*T.cast"):
        th.function([x], [], updates=[(w, w + x)])


def test_trust_input_skips_checks():
    x = T.dvector("x")
    f = th.function([x], x * 2, trust_input=True)
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])


def test_symbolic_bool_is_an_error():
    x = T.dscalar("x")
    with pytest.raises(TypeError, match="truth value"):
        if x > 0:
            pass


# -- shared values a call overwrites in place (Gemm{inplace} on an updated weight) -------------

def _inplace_update(mode="C"):
    """f(A, B) updates w to w - 0.5 * A @ B, writing into w's storage when it may."""
    A, B = T.dmatrix("A"), T.dmatrix("B")
    w = th.shared(np.ones((3, 3)), name="w")
    f = th.function([A, B], T.sum(w), mode=mode, updates=[(w, w - 0.5 * T.dot(A, B))])
    assert any(getattr(n.op, "destroy_map", None) for n in f.fgraph.apply_nodes)
    return f, w


def _address(a):
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("mode", ["C", "PY"])
def test_storage_only_the_shared_variable_holds_is_updated_in_place(mode):
    f, w = _inplace_update(mode)
    a, b = np.full((3, 3), 0.5), np.eye(3)
    first = _address(w.get_value(borrow=True))
    for step in range(1, 4):
        assert f(a, b) == 9.0 - 2.25 * (step - 1)
        np.testing.assert_array_equal(w.get_value(), 1.0 - 0.25 * step)
        assert _address(w.get_value(borrow=True)) == first


@pytest.mark.parametrize("mode", ["C", "PY"])
def test_arrays_the_caller_can_see_are_never_overwritten(mode):
    f, w = _inplace_update(mode)
    a, b = np.full((3, 3), 0.5), np.eye(3)
    held = w.get_value(borrow=True)               # a borrowed value
    f(a, b)
    np.testing.assert_array_equal(held, 1.0)
    view = w.get_value(borrow=True)[1:]           # a view of it
    f(a, b)
    np.testing.assert_array_equal(view, 0.75)
    mine = np.zeros((3, 3))                       # the caller's array, given with borrow=True
    w.set_value(mine, borrow=True)
    f(a, b)
    np.testing.assert_array_equal(mine, 0.0)
    np.testing.assert_array_equal(w.get_value(), -0.25)
    clone = w.clone()                             # a clone shares the storage
    f(a, b)
    np.testing.assert_array_equal(clone.get_value(), -0.25)
    np.testing.assert_array_equal(w.get_value(), -0.5)
    # the shared storage passed as an argument: read as it was before the call
    w.set_value(np.ones((3, 3)))
    arg = w.get_value(borrow=True)
    f(arg, b)
    np.testing.assert_array_equal(arg, 1.0)
    np.testing.assert_array_equal(w.get_value(), 0.5)
    frozen = np.ones((3, 3))                      # read-only storage is copied too
    frozen.flags.writeable = False
    w.set_value(frozen, borrow=True)
    del frozen
    f(a, b)
    np.testing.assert_array_equal(w.get_value(), 0.75)


def test_failed_call_leaves_the_shared_value_intact():
    f, w = _inplace_update()
    with pytest.raises(ValueError):
        f(np.ones((3, 2)), np.ones((3, 3)))       # the product's shapes do not fit
    np.testing.assert_array_equal(w.get_value(), 1.0)


def test_general_path_takes_exact_arrays_and_filters_the_rest():
    x = T.dvector("x")
    s = th.shared(np.zeros(3), name="s")
    f = th.function([x], x * 2, updates=[(s, s + x)])
    np.testing.assert_array_equal(f([1, 2, 3]), [2.0, 4.0, 6.0])           # a list
    np.testing.assert_array_equal(f(np.arange(3, dtype="int32")), [0.0, 2.0, 4.0])  # safe cast
    np.testing.assert_array_equal(f(np.ones(3).view(np.matrix)[0].A1), [2.0] * 3)
    np.testing.assert_array_equal(s.get_value(), [2.0, 4.0, 6.0])
    with pytest.raises(TypeError, match="dimensions"):
        f(np.ones((3, 1)))
    r = T.tensor("float64", (2,), "r")
    g = th.function([r], r + 1, updates=[(s, s * 2)])
    with pytest.raises(ValueError, match="shape"):
        g(np.ones(3))
    s_fixed = th.shared(np.zeros(2), name="s_fixed", shape=(2,))
    h = th.function([x], [], updates=[(s_fixed, x)])
    with pytest.raises(ValueError, match="shape"):
        h(np.ones(3))


def test_borrowed_output_that_is_the_new_storage_is_not_overwritten_later():
    A, B = T.dmatrix("A"), T.dmatrix("B")
    w = th.shared(np.ones((3, 3)), name="w")
    new = w - 0.5 * T.dot(A, B)
    f = th.function([A, B], th.Out(new, borrow=True), updates=[(w, new)])
    a, b = np.full((3, 3), 0.5), np.eye(3)
    first = f(a, b)
    np.testing.assert_array_equal(first, 0.75)
    f(a, b)                                       # w's storage is no longer private
    np.testing.assert_array_equal(first, 0.75)
    np.testing.assert_array_equal(w.get_value(), 0.5)
