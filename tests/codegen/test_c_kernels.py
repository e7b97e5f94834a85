"""The C back end's elementwise kernels against the NumPy reference: every
registry case compiled with mode="C", plus the semantics C gets wrong by
default (integer division by zero, INT_MIN // -1, NaN in maximum, ...)."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c import build

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode
from tests.tensor.registry import collect_cases, non_contiguous

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

C = Mode(linker="c")
CASES = collect_cases()


def _inputs(case, sample):
    from tests.tensor.test_registry import _symbolic_inputs

    return _symbolic_inputs(case, sample)


def _as_list(x):
    return list(x) if isinstance(x, list | tuple) else [x]


def _close(got, want, label):
    assert got.dtype == want.dtype, label
    assert got.shape == want.shape, label
    if got.dtype.kind == "f":
        rtol = 1e-5 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3, equal_nan=True,
                                   err_msg=label)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=label)
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=label)
    else:
        np.testing.assert_array_equal(got, want, err_msg=label)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_c_matches_reference(case):
    """Every registry case: the C program equals the reference program."""
    for k, sample in enumerate(case.samples(np.random.default_rng(4321))):
        inputs = _inputs(case, sample)
        outs = _as_list(case.build(*inputs))
        f_c = th.function(inputs, outs, mode=C)
        f_py = th.function(inputs, outs, mode="PY")
        for variant, args in (("contiguous", sample),
                              ("non-contiguous", [non_contiguous(a) for a in sample])):
            copies = [np.array(a, copy=True) for a in args]
            want = f_py(*args)
            got = f_c(*args)
            for i, (g, w) in enumerate(zip(got, want)):
                _close(g, w, f"{case.name} sample {k} ({variant}) output {i}")
            for a, c in zip(args, copies):
                np.testing.assert_array_equal(a, c, err_msg="an input array was modified")


def _c_nodes(f):
    return f.program.c_nodes()


def test_elementwise_chain_runs_in_c_with_broadcasting_and_strides():
    x = T.dmatrix("x")
    r = T.drow("r")
    s = T.dscalar("s")
    out = 1 / (1 + T.exp(-s * x + r)) * T.tanh(x) + T.log1p(T.exp(x))
    f = th.function([x, r, s], out, mode=C)
    assert _c_nodes(f) >= 1
    rng = np.random.default_rng(0)
    xv = rng.normal(size=(40, 30)) * 10
    rv = rng.normal(size=(1, 30))
    for xa in (xv, xv[::-1, ::2].copy(), xv[::-1, ::2], np.asfortranarray(xv), xv[:0]):
        want = th.function([x, r, s], out, mode="PY")(xa, rv[:, : xa.shape[1]], 0.5)
        got = f(xa, rv[:, : xa.shape[1]], 0.5)
        _close(got, want, "chain")


def test_integer_semantics_match_numpy():
    a, b = T.lvectors("a", "b")
    f = th.function([a, b], [a // b, a % b, a * b, a - b], mode=C)
    g = th.function([a, b], [a // b, a % b, a * b, a - b], mode="PY")
    lo = np.iinfo("int64").min
    av = np.array([7, -7, 7, -7, 5, lo, lo, 3, 2**62])
    bv = np.array([2, 2, -2, -2, 0, -1, 1, 0, 4])
    with np.errstate(all="ignore"):
        for got, want in zip(f(av, bv), g(av, bv)):
            np.testing.assert_array_equal(got, want)


def test_nan_and_inf_positions_are_kept():
    x, y = T.dvectors("x", "y")
    exprs = [T.maximum(x, y), T.minimum(x, y), x / y, T.log(x), T.sqrt(x), x ** y,
             T.sgn(x), T.floor(x), x % y, x // y, T.switch(T.isnan(x), 1.0, x)]
    vals = np.array([np.nan, 1.0, -np.inf, np.inf, 0.0, -0.0, -2.5, 3.0])
    yv = np.array([1.0, np.nan, 2.0, -np.inf, 0.0, 3.0, -1.5, 0.5])
    with np.errstate(all="ignore"):
        got = th.function([x, y], exprs, mode=C)(vals, yv)
        want = th.function([x, y], exprs, mode="PY")(vals, yv)
    for e, g, w in zip(exprs, got, want):
        _close(g, w, str(e))


def test_names_never_reach_generated_source():
    evil = '*/ #include <stdio.h> "quote" \n int main(){}'
    x = T.dvector(evil)
    f = th.function([x], T.exp(x) + 1, mode=C)
    from symtheano.codegen.c.elemwise import render_composite
    from symtheano.codegen.c.elemwise_emit import as_composite

    for node in f.fgraph.apply_nodes:
        comp = as_composite(node)
        if comp is not None:
            src = render_composite(comp)
            assert src is not None and "quote" not in src and "stdio" not in src
    np.testing.assert_allclose(f(np.zeros(2)), [2.0, 2.0])


def test_nodes_without_c_fall_back_to_perform():
    x = T.dvector("x")
    i = T.lvector("i")
    # advanced indexing has no C; the program still runs it (its perform) between C kernels.
    out = T.exp(T.exp(x)[i]) + 1
    f = th.function([x, i], out, mode="C")
    xv, iv = np.array([-0.5, 0.0, 0.3]), np.array([2, 0, 2])
    np.testing.assert_allclose(f(xv, iv), np.exp(np.exp(xv)[iv]) + 1, rtol=1e-15)
    assert 0 < _c_nodes(f) < len(f.fgraph.apply_nodes)


def test_inplace_composite_writes_its_own_intermediate_only():
    x = T.dvector("x")
    y = T.exp(x) * 2
    out = -T.sort(-y) + 1  # a non-elementwise op between: y descending, plus 1
    f = th.function([x], out, mode=C)
    xv = np.arange(5.0)
    before = xv.copy()
    np.testing.assert_allclose(f(xv), np.exp(before)[::-1] * 2 + 1, rtol=1e-14)
    np.testing.assert_array_equal(xv, before)


def test_debug_mode_agrees_and_catches_a_wrong_kernel(monkeypatch):
    from symtheano.codegen.c import scalar
    from symtheano.codegen.c.linker import DebugModeError

    x = T.dvector("x")
    f = th.function([x], T.exp(x) * 2, mode="DEBUG")
    np.testing.assert_allclose(f(np.arange(3.0)), np.exp(np.arange(3.0)) * 2)
    # A deliberately wrong C expression for exp is caught and the node is named.
    real = scalar.c_expression

    def wrong(op, args, arg_dtypes, out_dtype):
        expr = real(op, args, arg_dtypes, out_dtype)
        return f"({expr} + 1e-3)" if op.name == "exp" and expr else expr

    monkeypatch.setattr(scalar, "c_expression", wrong)
    monkeypatch.setattr("symtheano.codegen.c.elemwise.c_expression", wrong)
    # the vector loop computes exp without the scalar expression: keep it out
    monkeypatch.setattr("symtheano.codegen.c.vector.render_velem", lambda op, mvec: None)
    y = T.dvector("y")
    g = th.function([y], T.exp(y) - 5, mode="DEBUG")
    with pytest.raises(DebugModeError, match=r"exp.*built at .*test_c_kernels\.py"):
        g(np.arange(3.0))
