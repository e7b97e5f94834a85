"""Test values: catching shape and dtype mistakes while a graph is built.

With `config.compute_test_value` other than "off", every node built through
`Op.__call__` is also computed, right away, on example values: each input's
`tag.test_value` (set by the user on inputs, `x.tag.test_value = np.ones(3)`),
a shared variable's value, a constant's data, or the test value computed
earlier for an intermediate. The node's reference `perform` runs on them and
its outputs get their own `tag.test_value`. So `T.dot(X, w)` with a (5, 3)
example X and a (4,) example w fails on the line that builds the product, not
later when a compiled function is called.

When the computation fails, the setting decides (Theano's spelling, one
meaning: what to do with a failure):

    "raise"   raise TestValueError naming the op, its inputs' example shapes
              and dtypes, where the user created them and the line building
              the node (the default choice for debugging);
    "warn"    warn with the same message and go on (the output has no test value);
    "ignore"  compute test values where possible, drop failures silently.

A node with an input that has no test value is not computed, under every
setting: test values are optional, and graphs the package builds itself (a
scan's step placeholders, say) have variables without them. (Theano's "raise"
also raised for a missing test value; here a missing one only means "not
checked".)

Cost: when the setting is "off", building a node reads one module global
(`basic._test_values_on`); this module is not even imported.
"""

from __future__ import annotations

import warnings

import numpy as np

from symtheano.configuration import config
from symtheano.graph.basic import Constant

_MISSING = object()


class TestValueError(ValueError):
    """A node could not be computed on its inputs' test values: the graph as built
    would fail (or produce a value its type does not allow) when run."""

    __test__ = False  # not a pytest test class, despite the name


class TestValueWarning(UserWarning):
    """config.compute_test_value="warn": a node could not be computed on test values."""

    __test__ = False


def test_value(var):
    """The example value of `var` (an ndarray of its type), or raise AttributeError."""
    value = _value_of(var)
    if value is _MISSING:
        raise AttributeError(f"{var} has no test value (set {var}.tag.test_value)")
    return value


test_value.__test__ = False


def _value_of(var):
    if isinstance(var, Constant):
        return var.data
    get_value = getattr(var, "get_value", None)
    if get_value is not None:  # a shared variable: its current value
        return get_value(borrow=True)
    value = var.tag.get("test_value", _MISSING)
    if value is _MISSING or var.owner is not None:
        return value
    # A user-given value: make sure it fits the variable's type (once: the checked
    # array replaces what the user set).
    try:
        checked = var.type.filter(value, strict=False, allow_downcast=True)
    except (TypeError, ValueError) as exc:
        raise TestValueError(f"the test value of {_label(var)}{_created(var)} does not fit "
                             f"its type {var.type}: {exc}") from None
    if checked is not value:
        var.tag["test_value"] = checked
    return checked


def compute_test_values(node):
    """Run `node`'s perform on its inputs' test values and record the outputs'.
    Called by Op.__call__ while config.compute_test_value is not "off"."""
    values = []
    for var in node.inputs:
        value = _value_of(var)
        if value is _MISSING:
            return  # not checked: see the module docstring
        values.append(value)
    if getattr(node.op, "destroy_map", None):  # never let an example value be overwritten
        values = [np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in values]
    storage = [[None] for _ in node.outputs]
    try:
        node.op.perform(node, values, storage)
    except NotImplementedError:
        return  # an op without a reference implementation cannot be checked
    except Exception as exc:  # noqa: BLE001 - reported with the node's context
        _fail(node, values, f"{type(exc).__name__}: {exc}", exc)
        return
    results = []
    for out, (value,) in zip(node.outputs, storage):
        problem = _misfit(out, value)
        if problem:
            _fail(node, values, f"it produced {problem} for an output of type {out.type}", None)
            return
        results.append(value)
    for out, value in zip(node.outputs, results):
        out.tag["test_value"] = value


def _misfit(out, value):
    """How `value` does not fit `out`'s type ('' when it fits)."""
    dtype = getattr(out.type, "dtype", None)
    if dtype is None or not isinstance(value, np.ndarray):
        return "" if dtype is None else f"a {type(value).__name__}"
    if value.dtype.name != dtype or value.ndim != out.type.ndim:
        return f"a {value.dtype} array of shape {value.shape}"
    for want, got in zip(out.type.shape, value.shape):
        if want is not None and want != got:
            return f"a {value.dtype} array of shape {value.shape}"
    return ""


def _label(var):
    if var.name is not None:
        return var.name
    if isinstance(var, Constant):
        return f"constant {var}"
    from symtheano.printing import short_label

    return short_label(var, 60)


def _created(var):
    return f" (created at {var.where()})" if var.where() else ""


def _describe_value(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {value.shape}"
    return type(value).__name__


def _fail(node, values, problem, cause):
    policy = config.compute_test_value
    if policy == "ignore":
        return
    out = node.outputs[0]
    lines = [f"{node.op} failed on test values: {problem}"]
    if out.where():
        lines.append(f"  built at {out.where()}")
    for var, value in zip(node.inputs, values):
        if isinstance(var, Constant) and np.ndim(value) == 0:
            continue
        lines.append(f"  input {_label(var)}: test value {_describe_value(value)}"
                     f"{_created(var)}")
    message = "\n".join(lines)
    if policy == "warn":
        if out.site is not None:  # reported at the user's line, however deep the call
            warnings.warn_explicit(message, TestValueWarning, out.site[0], out.site[1])
        else:
            warnings.warn(message, TestValueWarning, stacklevel=4)
        return
    raise TestValueError(message) from cause
