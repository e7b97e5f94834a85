"""BLAS-shaped products: the ops the specialize stage turns `dot` into.

- `Gemm`: gemm(C, alpha, A, B, beta) = alpha * (A @ B) + beta * C   (matrix·matrix)
- `Gemv`: gemv(y, alpha, A, x, beta) = alpha * (A @ x) + beta * y   (matrix·vector)
- `Ger`:  ger(A, alpha, x, y)        = A + alpha * outer(x, y)      (rank-1 update)

Users do not build these: `T.dot` makes a `Dot`, and the specialize stage
rewrites it (and the scalings and additions around it) into one of these, the
shapes a BLAS library computes in one call.

Semantics (the NumPy `perform` is the specification):
- every input has one float dtype (float32 or float64); alpha and beta are 0-d;
- the formula is evaluated with IEEE arithmetic: `beta * C` is computed even
  when beta is 0, so inf/NaN in C propagate exactly as in the graph the op
  replaces. (Reference BLAS does not read C when beta == 0; a back end calling
  it must do so only when C is known finite, e.g. the constant zero the
  rewrites use for a plain product.)
- the added term (C, y, or A for ger) may broadcast along dimensions of static
  size 1 (a bias row, or a (1, 1) zero); a back end copies it into the output
  first and calls BLAS with beta = 1. The output's shape is the product's.
- the plain ops (`gemm`, `gemv`, `ger`) never write their inputs. Each op also
  has an inplace variant (`Gemm(inplace=True)`, printed `Gemm{inplace}`, with
  `destroy_map = {0: [0]}`) that may write its result into the added term when
  the term has the result's shape, and then returns the term itself: the
  result's values are the same. Only the inplace stage makes these
  (symtheano/rewrite/inplace.py), for a term nobody reads afterwards, e.g. the
  weights of `updates=[(W, W - lr * dot(x.T, g))]`.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.graph.operand_errors import operand_error, shapes_parts
from symtheano.tensor import basic as tb
from symtheano.tensor.blas import dot, outer
from symtheano.tensor.elemwise import reduce_to_input, transpose
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable

__all__ = []  # built by rewrites only; import the classes from this module


def _describe(name, var):
    return f"input {name} ({var} {var.type.describe_shape()}, {var.dtype})"


def _check_inputs(op, named, ndims):
    """Convert `named` ((name, value) pairs) to variables of one float dtype and
    the expected ndims; TypeError naming the offending input otherwise."""
    out = [(name, as_tensor_variable(v)) for name, v in named]
    dtype = out[0][1].dtype
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op}: {_describe(*out[0])} must be float32 or float64")
    for (name, var), ndim in zip(out, ndims):
        if var.ndim != ndim:
            raise TypeError(f"{op}: {_describe(name, var)} must have {ndim} dimensions")
        if var.dtype != dtype:
            raise TypeError(f"{op}: {_describe(name, var)} must have dtype {dtype}, like "
                            f"{_describe(*out[0])}; BLAS multiplies one dtype")
    return [v for _, v in out]


def _check_static_inner(op, a_name, a, a_axis, b_name, b, b_axis):
    sa, sb = a.type.shape[a_axis], b.type.shape[b_axis]
    if sa is not None and sb is not None and sa != sb:
        raise ValueError(f"{op}: the inner dimensions do not match: {_describe(a_name, a)} has "
                         f"size {sa} in dimension {a_axis}, {_describe(b_name, b)} has {sb} "
                         f"in dimension {b_axis}")


def _fit_static(op, name, term, shape):
    """The output's static shape: the product's `shape`, refined by the added `term`,
    which may broadcast only along its static-size-1 dimensions."""
    out = []
    for d, (s, t) in enumerate(zip(shape, term.type.shape)):
        if t is not None and t != 1 and s is not None and s != t:
            raise ValueError(f"{op}: {_describe(name, term)} has size {t} in dimension {d} "
                             f"where the product has {s}")
        out.append(s if s is not None else (t if t != 1 else None))
    return tuple(out)


def _check_runtime(op, node, values, pairs, term_index, out_shape):
    """Inner sizes (`pairs` of (input, axis, input, axis)) and the added term's shape."""
    for i, da, j, db in pairs:
        if values[i].shape[da] != values[j].shape[db]:
            raise operand_error(f"{op}: the inner dimensions do not match: ", *shapes_parts(
                (node.inputs[k], values[k].shape) for k in (i, j)))
    term, var = values[term_index], node.inputs[term_index]
    for d, (t, s) in enumerate(zip(term.shape, out_shape)):
        if t != s and not (t == 1 and var.type.shape[d] == 1):
            factors = [(v, x.shape) for k, (v, x) in enumerate(zip(node.inputs, values))
                       if k != term_index and np.ndim(x) > 0]
            raise operand_error(
                f"{op}: the added term ", var, f" has shape {term.shape}, but the product has "
                f"shape {out_shape} (", *shapes_parts(factors), "); it broadcasts only along "
                "dimensions of static size 1")


class _Accumulate(Op):
    """What Gemm, Gemv and Ger share: the inplace flag (input 0, the added term,
    may be overwritten with the result)."""

    __props__ = ("inplace",)

    def __init__(self, inplace=False):
        self.inplace = bool(inplace)
        self.destroy_map = {0: [0]} if self.inplace else {}

    def with_inplace(self, inplace):
        """The same op, overwriting its added term (True) or not (False)."""
        return type(self)(inplace)

    def __str__(self):
        return f"{type(self).__name__}{{inplace}}" if self.inplace else type(self).__name__

    __repr__ = __str__

    def _store(self, node, inputs, output_storage, res):
        """Put the result `res` in the output; the inplace variant writes it into
        the added term when that has the result's shape, may be written, has no
        two elements in one place and no memory in common with the operands (the
        same rule as the C entries)."""
        res = np.asarray(res, dtype=node.outputs[0].dtype)
        term = inputs[0]
        if (self.inplace and isinstance(term, np.ndarray) and term.shape == res.shape
                and term.dtype == res.dtype and term.flags.writeable and _distinct(term)
                and not any(np.may_share_memory(term, x) for x in inputs[1:])):
            term[...] = res
            res = term
        output_storage[0][0] = res

    def pretty(self, input_strs):
        name = type(self).__name__.lower() + ("_inplace" if self.inplace else "")
        return f"{name}({', '.join(input_strs)})"


def _scaled_product_tangent(op, inputs, eval_points):
    """The R_op of gemm and gemv, alpha * dot(A, B) + beta * C with inputs
    (C, alpha, A, B, beta): the product rule, term by term."""
    from symtheano.rop import sum_tangents

    C, alpha, A, B, beta = inputs
    tC, t_alpha, tA, tB, t_beta = eval_points
    return [sum_tangents([
        None if t_alpha is None else t_alpha * dot(A, B),
        None if tA is None else alpha * dot(tA, B),
        None if tB is None else alpha * dot(A, tB),
        None if t_beta is None else t_beta * C,
        None if tC is None else beta * tC])]


class Gemm(_Accumulate):
    """gemm(C, alpha, A, B, beta) = alpha * (A @ B) + beta * C, for matrices of one
    float dtype and 0-d alpha and beta; C may broadcast along static-1 dimensions."""

    def make_node(self, C, alpha, A, B, beta):
        A, B, C, alpha, beta = _check_inputs(
            "gemm", [("A", A), ("B", B), ("C", C), ("alpha", alpha), ("beta", beta)],
            (2, 2, 2, 0, 0))
        _check_static_inner("gemm", "A", A, 1, "B", B, 0)
        shape = _fit_static("gemm", "C", C, (A.type.shape[0], B.type.shape[1]))
        out = TensorType(A.dtype, shape).make_variable()
        return Apply(self, [C, alpha, A, B, beta], [out])

    def perform(self, node, inputs, output_storage):
        C, alpha, A, B, beta = inputs
        out_shape = (A.shape[0], B.shape[1])
        _check_runtime("gemm", node, inputs, [(2, 1, 3, 0)], 0, out_shape)
        with np.errstate(all="ignore"):  # inf and NaN propagate silently, as in Elemwise
            res = alpha * np.dot(A, B) + beta * C
        self._store(node, inputs, output_storage, res)

    def infer_shape(self, node, input_shapes):
        _, _, sA, sB, _ = input_shapes
        return [(sA[0], sB[1])]

    def grad(self, inputs, output_grads):
        C, alpha, A, B, beta = inputs
        (g,) = output_grads
        g = tb.cast(g, A.dtype)
        return [reduce_to_input(beta * g, C),
                tb.cast(_sum(g * dot(A, B)), A.dtype),
                alpha * dot(g, transpose(B)),
                alpha * dot(transpose(A), g),
                tb.cast(_sum(g * C), A.dtype)]

    R_op = _scaled_product_tangent



class Gemv(_Accumulate):
    """gemv(y, alpha, A, x, beta) = alpha * (A @ x) + beta * y, for a matrix A and
    vectors x, y of one float dtype and 0-d alpha and beta; y may have static size 1."""

    def make_node(self, y, alpha, A, x, beta):
        A, x, y, alpha, beta = _check_inputs(
            "gemv", [("A", A), ("x", x), ("y", y), ("alpha", alpha), ("beta", beta)],
            (2, 1, 1, 0, 0))
        _check_static_inner("gemv", "A", A, 1, "x", x, 0)
        shape = _fit_static("gemv", "y", y, (A.type.shape[0],))
        out = TensorType(A.dtype, shape).make_variable()
        return Apply(self, [y, alpha, A, x, beta], [out])

    def perform(self, node, inputs, output_storage):
        y, alpha, A, x, beta = inputs
        _check_runtime("gemv", node, inputs, [(2, 1, 3, 0)], 0, (A.shape[0],))
        with np.errstate(all="ignore"):
            res = alpha * np.dot(A, x) + beta * y
        self._store(node, inputs, output_storage, res)

    def infer_shape(self, node, input_shapes):
        return [(input_shapes[2][0],)]

    def grad(self, inputs, output_grads):
        y, alpha, A, x, beta = inputs
        (g,) = output_grads
        g = tb.cast(g, A.dtype)
        return [reduce_to_input(beta * g, y),
                tb.cast(dot(g, dot(A, x)), A.dtype),
                alpha * outer(g, x),
                alpha * dot(transpose(A), g),
                tb.cast(_sum(g * y), A.dtype)]

    R_op = _scaled_product_tangent



class Ger(_Accumulate):
    """ger(A, alpha, x, y) = A + alpha * outer(x, y), for vectors x, y and a matrix A
    of one float dtype and a 0-d alpha; A may broadcast along static-1 dimensions."""

    def make_node(self, A, alpha, x, y):
        x, y, A, alpha = _check_inputs(
            "ger", [("x", x), ("y", y), ("A", A), ("alpha", alpha)], (1, 1, 2, 0))
        shape = _fit_static("ger", "A", A, (x.type.shape[0], y.type.shape[0]))
        out = TensorType(A.dtype, shape).make_variable()
        return Apply(self, [A, alpha, x, y], [out])

    def perform(self, node, inputs, output_storage):
        A, alpha, x, y = inputs
        _check_runtime("ger", node, inputs, [], 0, (x.shape[0], y.shape[0]))
        with np.errstate(all="ignore"):
            res = A + alpha * np.outer(x, y)
        self._store(node, inputs, output_storage, res)

    def infer_shape(self, node, input_shapes):
        _, _, sx, sy = input_shapes
        return [(sx[0], sy[0])]

    def grad(self, inputs, output_grads):
        A, alpha, x, y = inputs
        (g,) = output_grads
        g = tb.cast(g, A.dtype)
        return [reduce_to_input(g, A),
                tb.cast(dot(x, dot(g, y)), A.dtype),
                alpha * dot(g, y),
                alpha * dot(transpose(g), x)]

    def R_op(self, inputs, eval_points):
        from symtheano.rop import sum_tangents

        A, alpha, x, y = inputs
        tA, t_alpha, tx, ty = eval_points
        return [sum_tangents([
            tA,
            None if t_alpha is None else t_alpha * outer(x, y),
            None if tx is None else alpha * outer(tx, y),
            None if ty is None else alpha * outer(x, ty)])]



def _distinct(a):
    """No two elements of `a` share memory: taken by increasing |stride|, each
    dimension steps over at least all that the smaller ones cover."""
    covered = a.itemsize
    for stride, size in sorted((abs(st), n) for st, n in zip(a.strides, a.shape) if n > 1):
        if stride < covered:
            return False
        covered += stride * (size - 1)
    return True


def _sum(x):
    from symtheano.tensor.reduce import sum as sum_

    return sum_(x)


gemm = Gemm()
gemv = Gemv()
ger = Ger()
gemm_inplace = Gemm(inplace=True)
gemv_inplace = Gemv(inplace=True)
ger_inplace = Ger(inplace=True)
