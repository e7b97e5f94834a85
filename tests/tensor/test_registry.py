"""The registry test: every op against NumPy, its gradient against central
differences, its forward-mode rule against its reverse-mode rule and central
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


def _directional_difference(f, sample, wrt, vs, eps):
    """(F(x + eps v) - F(x - eps v)) / (2 eps) for each output F of `f`, in float64."""
    def at(sign):
        args = [np.array(a, copy=True) for a in sample]
        for i, v in zip(wrt, vs):
            args[i] = (args[i] + sign * eps * v).astype(args[i].dtype)
        return [np.asarray(o, dtype="float64") for o in f(*args)]

    with np.errstate(all="ignore"):  # infinite outputs give NaN differences
        return [(p - m) / (2 * eps) for p, m in zip(at(1), at(-1))]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward_mode_matches_reverse_mode(case):
    """For random v (one per float input) and u (one per float output), the
    pushforward gives J v (Rop) and the pullback J^T u (Lop); u . (J v) must equal
    (J^T u) . v, and where the case checks gradients, J v must equal central
    differences of the outputs along v. Float32 samples are checked too."""
    from symtheano.gradient import Lop, Rop

    rng = np.random.default_rng(4321)
    for k, sample in enumerate(_samples(case)):
        sample = [np.asarray(a) for a in sample]
        floats = [i for i, a in enumerate(sample) if a.dtype.kind == "f"]
        wrt = [i for i in (case.wrt if case.wrt is not None else floats) if i in floats]
        if not wrt:
            continue
        label = f"{case.name} sample {k}"
        inputs = _symbolic_inputs(case, sample)
        outs = _as_list(case.build(*inputs))
        float_outs = [o for o in outs if o.dtype in ("float32", "float64")]
        vs = [inputs[i].type.make_variable(f"v{i}") for i in wrt]
        us = [TensorType(o.dtype, o.type.shape).make_variable(f"u{j}")
              for j, o in enumerate(float_outs)]
        jv = Rop(outs, [inputs[i] for i in wrt], vs, disconnected_outputs="ignore")
        jtu = (Lop(float_outs, [inputs[i] for i in wrt], us, disconnected_inputs="ignore")
               if float_outs else [])
        f = th.function(inputs + vs + us, list(jv) + list(jtu), mode="PY",
                        on_unused_input="ignore")
        f_out = th.function(inputs, outs, mode="PY", on_unused_input="ignore")
        out_vals = f_out(*sample)
        v_vals = [rng.uniform(-1, 1, sample[i].shape).astype(sample[i].dtype) for i in wrt]
        u_vals = [rng.uniform(-1, 1, np.shape(out_vals[outs.index(o)])).astype(o.dtype)
                  for o in float_outs]
        values = f(*sample, *v_vals, *u_vals)
        jv_vals, jtu_vals = values[:len(outs)], values[len(outs):]
        for o, val, t in zip(outs, out_vals, jv_vals):
            want = o.dtype if o.dtype in ("float32", "float64") else t.dtype
            assert t.shape == np.shape(val) and t.dtype == np.dtype(want), (
                f"{label}: the tangent of {o} has shape {t.shape} and dtype {t.dtype}, "
                f"the output {np.shape(val)} and {o.dtype}")
            if o.dtype not in ("float32", "float64"):
                assert not np.any(t), f"{label}: an integer output with a non-zero tangent"
        for i, g in zip(wrt, jtu_vals):
            assert g.shape == sample[i].shape, f"{label}: Lop shape {g.shape}"

        single = any(sample[i].dtype == np.float32 for i in wrt) or any(
            o.dtype == "float32" for o in float_outs)
        tol = 1e-4 if single else 1e-10
        jv_float = [jv_vals[outs.index(o)] for o in float_outs]
        with np.errstate(all="ignore"):  # infinite derivatives (xlogx at 0) give NaN
            forward = sum(float(np.sum(u.astype("float64") * t))
                          for u, t in zip(u_vals, jv_float))
            reverse = sum(float(np.sum(g.astype("float64") * v))
                          for g, v in zip(jtu_vals, v_vals))
            scale = (sum(float(np.sum(np.abs(u * t))) for u, t in zip(u_vals, jv_float))
                     + sum(float(np.sum(np.abs(g * v))) for g, v in zip(jtu_vals, v_vals)))
        if np.isfinite(scale):
            assert abs(forward - reverse) <= tol * scale + 1e-300, (
                f"{label}: u.(J v) = {forward!r} from Rop, (J^T u).v = {reverse!r} from Lop")
        else:
            assert np.isnan(forward) == np.isnan(reverse), (
                f"{label}: u.(J v) = {forward!r} from Rop, (J^T u).v = {reverse!r} from Lop")

        if not case.grad:
            continue  # the case says central differences cannot follow it
        # In float32 no single step suits every case (rounding error grows as the
        # step shrinks, a kink nearby spoils a large one): an element passes when
        # one of two steps agrees.
        steps = ([case.grad_eps] if case.grad_eps is not None else
                 [1e-3, 1e-4] if single else [1e-6])
        fd_tol = max(case.grad_tol, 5e-3) if single else case.grad_tol
        bad = [np.ones(t.shape, bool) for t in jv_float]
        for eps in steps:
            numeric = _directional_difference(f_out, sample, wrt, v_vals, eps)
            numeric = [numeric[outs.index(o)] for o in float_outs]
            for j, (t, n) in enumerate(zip(jv_float, numeric)):
                abs_err = np.abs(t - n)
                rel_err = abs_err / np.maximum(np.abs(t) + np.abs(n), 1e-8)
                bad[j] &= (abs_err > fd_tol) & (rel_err > fd_tol)
        for o, t, n, b in zip(float_outs, jv_float, numeric, bad):
            assert not np.any(b), (
                f"{label}: Rop of {o} disagrees with central differences (steps {steps}, "
                f"tol {fd_tol}) at {np.argwhere(b)[:5].tolist()}\nRop {t}\nnumeric {n}")


def test_every_op_has_a_pushforward():
    """Every Op class has an R_op and every ScalarOp its own scalar R_op (forward mode)."""
    import symtheano.tensor  # noqa: F401  (import every op module)
    from symtheano.tensor.elemwise import ScalarOp

    ops = {c for c in _all_subclasses(Op) if c.__module__.startswith("symtheano.tensor")
           and not c.__name__.startswith("_") and c not in _ABSTRACT}
    missing = sorted(c.__name__ for c in ops if not callable(getattr(c, "R_op", None)))
    assert not missing, f"ops without a forward-mode rule (R_op): {missing}"
    scalar = sorted(name for name, op in SCALAR_OPS.items()
                    if type(op).R_op is ScalarOp.R_op)
    assert not scalar, f"scalar ops without a forward-mode rule (R_op): {scalar}"


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
