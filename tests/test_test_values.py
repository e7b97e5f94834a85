"""Test values (config.compute_test_value) and the user's line in errors."""

import re
import warnings

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.configuration import config
from symtheano.graph.test_values import TestValueError, TestValueWarning


@pytest.fixture
def test_values():
    def set_to(policy):
        config.compute_test_value = policy

    yield set_to
    config.compute_test_value = "off"


def _this_line():
    import inspect

    return inspect.currentframe().f_back.f_lineno


def test_a_shape_mismatch_surfaces_where_the_graph_is_built(test_values):
    test_values("raise")
    X = T.dmatrix("X")
    X.tag.test_value = np.ones((5, 3))
    w = T.dvector("w")
    w.tag.test_value = np.ones(4)
    h = T.tanh(X)
    assert h.tag.test_value.shape == (5, 3)
    with pytest.raises(TestValueError) as info:
        line = _this_line() + 1
        T.dot(h, w)
    text = str(info.value)
    assert "Dot" in text and "inner dimensions" in text
    assert f"built at {__file__}:{line}" in text
    assert "input w: test value float64 (4,)" in text
    assert f"{__file__}:" in text.split("input w")[1]  # where w was created


def test_a_test_value_that_does_not_fit_its_type_names_the_variable(test_values):
    test_values("raise")
    x = T.dmatrix("x")
    x.tag.test_value = np.ones(3)
    with pytest.raises(TestValueError, match="test value of x .* does not fit"):
        T.exp(x)


def test_warn_reports_at_the_users_line_and_goes_on(test_values):
    test_values("warn")
    a, b = T.dvector("a"), T.dvector("b")
    a.tag.test_value, b.tag.test_value = np.ones(2), np.ones(3)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = _this_line() + 1
        c = a + b
    (w,) = [w for w in seen if issubclass(w.category, TestValueWarning)]
    assert w.filename == __file__ and w.lineno == line
    assert "test_value" not in c.tag


def test_missing_test_values_only_skip_the_check(test_values):
    test_values("raise")
    x, y = T.dvector("x"), T.dvector("y")
    x.tag.test_value = np.ones(3)
    z = x + y  # y has none: not checked, no error
    assert "test_value" not in z.tag
    s = th.shared(np.arange(3.0), name="s")
    assert np.allclose((x * s).tag.test_value, np.arange(3.0))
    assert np.allclose(((x * s).sum() * 2).tag.test_value, 6.0)


def test_off_computes_nothing():
    assert config.compute_test_value == "off"
    x = T.dvector("x")
    x.tag.test_value = np.ones(2)
    assert "test_value" not in (x + 1).tag
    assert x.tag["test_value"] is x.tag.test_value  # tag reads both ways


def test_building_error_notes_where_inputs_were_created():
    a = T.TensorType("float64", (3,))("a")
    line = _this_line()
    b = T.TensorType("float64", (4,))("b")
    with pytest.raises(ValueError) as info:
        a + b
    notes = "\n".join(info.value.__notes__)
    assert f"a <Vector(float64, shape=(3,))> created at {__file__}:{line - 1}" in notes
    assert f"b <Vector(float64, shape=(4,))> created at {__file__}:{line + 1}" in notes


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_run_time_errors_name_the_users_lines(mode):
    x = T.dvector("x")
    line_x = _this_line() - 1
    y = T.dvector("y")
    z = T.exp(x + y) * 2
    line_z = _this_line() - 1
    total = z.sum()
    f = th.function([x, y], [total, z], mode=mode)
    with pytest.raises(ValueError, match="broadcast") as info:
        f(np.ones(3), np.ones(4))
    notes = "\n".join(info.value.__notes__)
    # The failing fused node stands for what the user wrote on those lines (the sum's
    # rewrite may rebuild exp(x + y) under the sum's line), never the `function` call.
    built = re.search(rf"built at {re.escape(__file__)}:(\d+)", notes)
    assert built and int(built.group(1)) in (line_z, line_z + 2), notes
    assert f"x created at {__file__}:{line_x}" in notes


def test_rewritten_nodes_keep_the_users_line_not_the_compile_call():
    x = T.dvector("x")
    y = T.log(1 + T.exp(x))  # becomes softplus
    line = _this_line() - 1
    f = th.function([x], y)
    sites = {o.site for n in f.fgraph.apply_nodes for o in n.outputs}
    assert sites == {(__file__, line)}
