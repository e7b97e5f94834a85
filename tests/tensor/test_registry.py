"""The registry test: every op against NumPy, its gradient against central
differences, and its inferred shape against the computed one (see registry.py)."""

from __future__ import annotations

import numpy as np
import pytest

import symtheano as th
from symtheano.graph.basic import Op, toposort
from symtheano.tensor.elemwise import SCALAR_OPS, Elemwise
from symtheano.tensor.type import TensorType
from tests.tensor.registry import collect_cases, non_contiguous

CASES = collect_cases()


def _symbolic_inputs(case, sample):
    inputs = []
    for i, a in enumerate(sample):
        a = np.asarray(a)
        shape = case.static_shapes.get(i, tuple(1 if s == 1 else None for s in a.shape))
        inputs.append(TensorType(a.dtype, shape).make_variable(f"in{i}"))
    return inputs


def _as_list(x):
    return list(x) if isinstance(x, list | tuple) else [x]


def _samples(case):
    return case.samples(np.random.default_rng(1234))


def _compare(got, want, case, label):
    want = np.asarray(want)
    assert got.shape == want.shape, f"{label}: shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "fc" or got.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol, equal_nan=True,
                                   err_msg=label)
    else:
        np.testing.assert_array_equal(got, want, err_msg=label)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_perform_matches_reference(case):
    for k, sample in enumerate(_samples(case)):
        inputs = _symbolic_inputs(case, sample)
        outs = _as_list(case.build(*inputs))
        f = th.function(inputs, outs, mode="PY")
        want = _as_list(case.reference(*[np.array(a) for a in sample]))
        for variant, args in (("contiguous", sample),
                              ("non-contiguous", [non_contiguous(a) for a in sample])):
            copies = [np.array(a, copy=True) for a in args]
            got = f(*args)
            for i, (g, w, o) in enumerate(zip(got, want, outs)):
                assert g.dtype == np.dtype(o.dtype), f"output {i} dtype {g.dtype} != {o.dtype}"
                _compare(g, w, case, f"{case.name} sample {k} ({variant}) output {i}")
            for a, c in zip(args, copies):
                np.testing.assert_array_equal(a, c, err_msg="an input array was modified")


@pytest.mark.parametrize("case", [c for c in CASES if c.check_shape], ids=str)
def test_infer_shape(case):
    for sample in _samples(case):
        inputs = _symbolic_inputs(case, sample)
        outs = _as_list(case.build(*inputs))
        for out in outs:
            node = out.owner
            if node is None or not hasattr(node.op, "infer_shape"):
                continue
            from symtheano.tensor.shape import MakeVector, shape_tuple

            shapes = node.op.infer_shape(node, [shape_tuple(i) for i in node.inputs])
            shp = shapes[node.outputs.index(out)]
            vec = MakeVector("int64")(*shp) if len(shp) else None
            if vec is None:
                assert out.ndim == 0
                continue
            f = th.function(inputs, [vec, out], mode="PY", on_unused_input="ignore")
            got_shape, value = f(*sample)
            assert tuple(got_shape) == value.shape, (
                f"{case.name}: infer_shape says {tuple(got_shape)}, actual {value.shape}")


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_gradient_matches_finite_differences(case):
    from symtheano.gradient import verify_grad

    for sample in _samples(case):
        floats = [i for i, a in enumerate(sample) if np.asarray(a).dtype.kind == "f"]
        wrt = case.wrt if case.wrt is not None else floats
        if not wrt or any(np.asarray(sample[i]).size == 0 for i in wrt):
            continue
        fixed = {i: np.asarray(a) for i, a in enumerate(sample) if i not in wrt}
        if any(np.asarray(sample[i]).dtype != np.float64 for i in wrt):
            continue  # central differences are checked in float64 only

        def fun(*free, fixed=fixed, wrt=wrt, sample=sample):
            args, it = [], iter(free)
            for i in range(len(sample)):
                if i in fixed:
                    args.append(th.tensor.constant(fixed[i]))
                else:
                    args.append(next(it))
            out = _as_list(case.build(*args))
            return out[0] if len(out) == 1 else sum((o.sum() for o in out), 0)

        probe = _as_list(case.build(*_symbolic_inputs(case, sample)))
        if any(o.dtype not in ("float32", "float64") for o in probe):
            continue  # discrete outputs have no gradient to check
        verify_grad(fun, [np.asarray(sample[i], dtype="float64") for i in wrt],
                    abs_tol=case.grad_tol, rel_tol=case.grad_tol, eps=case.grad_eps,
                    mode="PY")


def _all_subclasses(cls):
    out, stack = set(), [cls]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            if s not in out:
                out.add(s)
                stack.append(s)
    return out


def test_every_op_has_a_case():
    """A new Op class or ScalarOp without an OpCase fails here."""
    import symtheano.tensor  # noqa: F401  (import every op module)

    seen_ops, seen_scalar = set(), set()
    for case in CASES:
        for sample in _samples(case):
            inputs = _symbolic_inputs(case, sample)
            outs = _as_list(case.build(*inputs))
            for node in toposort(outs):
                seen_ops.add(type(node.op))
                if isinstance(node.op, Elemwise):
                    seen_scalar.add(node.op.scalar_op.name)
            break
    ops = {c for c in _all_subclasses(Op) if c.__module__.startswith("symtheano.tensor")
           and not c.__name__.startswith("_") and c not in _ABSTRACT}
    missing_ops = sorted(c.__name__ for c in ops - seen_ops)
    missing_scalar = sorted(n for n in SCALAR_OPS if n not in seen_scalar
                            and not n.startswith("cast_"))
    assert not missing_ops, f"ops without an OpCase: {missing_ops}"
    assert not missing_scalar, f"scalar ops without an OpCase: {missing_scalar}"


def _abstract():
    from symtheano.tensor.reduce import Reduce

    return {Reduce}


_ABSTRACT = _abstract()
