"""Products of arrays: dot, matmul (`@`), tensordot, outer and batched_dot.

Three ops carry the arithmetic; everything else is composed from them:
- `Dot`: NumPy's dot of 1-d and 2-d arrays (vector·vector, matrix·vector,
  vector·matrix, matrix·matrix), the product a BLAS back end calls directly;
- `TensorDot(a_axes, b_axes)`: numpy.tensordot over explicit axis pairs (N-d dot);
- `MatMul`: numpy.matmul of arrays with at least two dimensions and equal ndim,
  batch dimensions broadcasting by the Theano rule (only static size 1).

Dtypes follow NumPy (int·int stays int, float32·float64 is float64). Inner
dimensions that disagree are reported with both inputs named, statically when
the sizes are known and at run time otherwise.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op
from symtheano.graph.operand_errors import operand_error, shapes_parts
from symtheano.tensor import basic as tb
from symtheano.tensor.elemwise import (
    broadcast_static_shapes,
    dimshuffle,
    reduce_to_input,
    shape_padaxis,
    shape_padleft,
    shape_padright,
)
from symtheano.tensor.type import FLOAT_DTYPES, TensorType, upcast
from symtheano.tensor.var import as_tensor_variable


def _describe(var):
    return f"{var} {var.type.describe_shape()}"


def _check_static_inner(what, a, a_axis, b, b_axis):
    """ValueError naming both inputs when the contracted static sizes differ."""
    sa, sb = a.type.shape[a_axis], b.type.shape[b_axis]
    if sa is not None and sb is not None and sa != sb:
        raise ValueError(f"{what}: the inner dimensions do not match: {_describe(a)} has size "
                         f"{sa} in dimension {a_axis}, {_describe(b)} has size {sb} in "
                         f"dimension {b_axis}")


def _check_runtime_inner(what, node, a, a_axis, b, b_axis):
    if a.shape[a_axis] != b.shape[b_axis]:
        va, vb = node.inputs[:2]
        raise operand_error(
            f"{what}: the inner dimensions do not match: ", va, f" has shape {a.shape} (size "
            f"{a.shape[a_axis]} in dimension {a_axis}), ", vb, f" has shape {b.shape} (size "
            f"{b.shape[b_axis]} in dimension {b_axis})")


def _grad_or_none(g, x):
    """`g` cast to x's dtype, or None when x is not a float (no gradient flows)."""
    if x.dtype not in FLOAT_DTYPES:
        return None
    return tb.cast(g, x.dtype)


# -- Dot: 1-d and 2-d ------------------------------------------------------------------------

class Dot(Op):
    """numpy.dot of two arrays with 1 or 2 dimensions each."""

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for name, x in (("a", a), ("b", b)):
            if x.ndim not in (1, 2):
                raise TypeError(f"Dot: input {name} ({_describe(x)}) must have 1 or 2 "
                                f"dimensions, got {x.ndim}; use T.dot or T.tensordot for "
                                "other ranks")
        _check_static_inner("dot", a, a.ndim - 1, b, 0)
        shape = a.type.shape[:-1] + b.type.shape[1:]
        out = TensorType(upcast(a.dtype, b.dtype), shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_runtime_inner("dot", node, a, a.ndim - 1, b, 0)
        with np.errstate(all="ignore"):  # inf and NaN propagate silently, as in Elemwise
            res = np.dot(a, b)
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        sa, sb = input_shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]

    def grad(self, inputs, output_grads):
        a, b = inputs
        (g,) = output_grads
        if a.ndim == 1 and b.ndim == 1:      # out = sum_k a_k b_k
            ga, gb = g * b, g * a
        elif a.ndim == 2 and b.ndim == 1:    # out_i = sum_k a_ik b_k
            ga, gb = outer(g, b), dot(a.T, g)
        elif a.ndim == 1:                    # out_j = sum_k a_k b_kj
            ga, gb = dot(b, g), outer(a, g)
        else:                                # out_ij = sum_k a_ik b_kj
            ga, gb = dot(g, b.T), dot(a.T, g)
        return [_grad_or_none(ga, a), _grad_or_none(gb, b)]

    def R_op(self, inputs, eval_points):
        return [_product_tangent(self, inputs, eval_points)]

    def pretty(self, input_strs):
        return f"dot({input_strs[0]}, {input_strs[1]})"


_dot = Dot()


# -- TensorDot: contraction over explicit axis pairs -------------------------------------------

class TensorDot(Op):
    """numpy.tensordot(a, b, axes=(a_axes, b_axes)): the output has a's free axes, then b's."""

    __props__ = ("a_axes", "b_axes")

    def __init__(self, a_axes, b_axes):
        self.a_axes = tuple(int(d) for d in a_axes)
        self.b_axes = tuple(int(d) for d in b_axes)
        if len(self.a_axes) != len(self.b_axes):
            raise ValueError(f"tensordot: {len(self.a_axes)} axes of a but "
                             f"{len(self.b_axes)} of b")

    def _free(self, ndim, axes):
        return tuple(d for d in range(ndim) if d not in axes)

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for name, x, axes in (("a", a, self.a_axes), ("b", b, self.b_axes)):
            if any(not 0 <= d < x.ndim for d in axes) or len(set(axes)) != len(axes):
                raise ValueError(f"tensordot: axes {axes} are not distinct axes of input "
                                 f"{name} ({_describe(x)})")
        for da, db in zip(self.a_axes, self.b_axes):
            _check_static_inner("tensordot", a, da, b, db)
        shape = (tuple(a.type.shape[d] for d in self._free(a.ndim, self.a_axes))
                 + tuple(b.type.shape[d] for d in self._free(b.ndim, self.b_axes)))
        out = TensorType(upcast(a.dtype, b.dtype), shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        for da, db in zip(self.a_axes, self.b_axes):
            _check_runtime_inner("tensordot", node, a, da, b, db)
        with np.errstate(all="ignore"):
            res = np.tensordot(a, b, axes=(list(self.a_axes), list(self.b_axes)))
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        (a, b), (sa, sb) = node.inputs, input_shapes
        return [tuple(sa[d] for d in self._free(a.ndim, self.a_axes))
                + tuple(sb[d] for d in self._free(b.ndim, self.b_axes))]

    def grad(self, inputs, output_grads):
        a, b = inputs
        (g,) = output_grads
        a_free = self._free(a.ndim, self.a_axes)
        b_free = self._free(b.ndim, self.b_axes)
        g_a_part = tuple(range(len(a_free)))                  # g's axes from a
        g_b_part = tuple(range(len(a_free), g.ndim))          # g's axes from b
        # dA: contract g's b-part with b's free axes; what is left of b are its
        # contracted axes in increasing order, each standing for its a partner.
        ga = TensorDot(g_b_part, b_free)(g, b)
        a_order = list(a_free) + [self.a_axes[self.b_axes.index(d)]
                                  for d in sorted(self.b_axes)]
        ga = dimshuffle(ga, [a_order.index(d) for d in range(a.ndim)])
        # dB: contract a's free axes with g's a-part.
        gb = TensorDot(a_free, g_a_part)(a, g)
        b_order = [self.b_axes[self.a_axes.index(d)] for d in sorted(self.a_axes)] + list(b_free)
        gb = dimshuffle(gb, [b_order.index(d) for d in range(b.ndim)])
        return [_grad_or_none(ga, a), _grad_or_none(gb, b)]

    def R_op(self, inputs, eval_points):
        return [_product_tangent(self, inputs, eval_points)]

    def pretty(self, input_strs):
        return (f"tensordot({input_strs[0]}, {input_strs[1]}, "
                f"axes=({list(self.a_axes)}, {list(self.b_axes)}))")


# -- MatMul: broadcast batches of matrices ------------------------------------------------------

class MatMul(Op):
    """numpy.matmul of two arrays with the same ndim >= 2: a stack of matrix products
    over the leading (batch) dimensions, which broadcast when their static size is 1."""

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for name, x in (("a", a), ("b", b)):
            if x.ndim < 2:
                raise TypeError(f"MatMul: input {name} ({_describe(x)}) must have at least 2 "
                                "dimensions (T.matmul promotes vectors)")
        if a.ndim != b.ndim:
            raise TypeError(f"MatMul: inputs must have the same ndim, got {_describe(a)} and "
                            f"{_describe(b)} (T.matmul pads the smaller one)")
        _check_static_inner("matmul", a, a.ndim - 1, b, b.ndim - 2)
        try:
            batch = broadcast_static_shapes([a.type.shape[:-2], b.type.shape[:-2]],
                                            "the batch dimensions")
        except ValueError as exc:
            raise ValueError(f"matmul: {exc} ({_describe(a)}, {_describe(b)})") from None
        shape = batch + (a.type.shape[-2], b.type.shape[-1])
        out = TensorType(upcast(a.dtype, b.dtype), shape).make_variable()
        return Apply(self, [a, b], [out])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        _check_runtime_inner("matmul", node, a, a.ndim - 1, b, b.ndim - 2)
        for d in range(a.ndim - 2):
            if a.shape[d] == b.shape[d]:
                continue
            operands = shapes_parts(zip(node.inputs, (a.shape, b.shape)))
            if 1 not in (a.shape[d], b.shape[d]):
                raise operand_error(f"matmul: batch dimension {d} has sizes {a.shape[d]} and "
                                    f"{b.shape[d]} (", *operands, ")")
            var = node.inputs[0] if a.shape[d] == 1 else node.inputs[1]
            if var.type.shape[d] != 1:
                raise operand_error(
                    "matmul: ", var, f" has size 1 in batch dimension {d} where the other input "
                    f"has {max(a.shape[d], b.shape[d])} (", *operands, "); a dimension "
                    "broadcasts only when its static size is 1")
        with np.errstate(all="ignore"):
            res = np.matmul(a, b)
        output_storage[0][0] = np.asarray(res, dtype=node.outputs[0].dtype)

    def infer_shape(self, node, input_shapes):
        a, b = node.inputs
        sa, sb = input_shapes
        # A batch dimension's size comes from an input where it does not broadcast.
        batch = tuple(sb[d] if a.type.shape[d] == 1 else sa[d] for d in range(a.ndim - 2))
        return [batch + (sa[-2], sb[-1])]

    def grad(self, inputs, output_grads):
        a, b = inputs
        (g,) = output_grads
        ga = reduce_to_input(matmul(g, _swap_last(b)), a) if a.dtype in FLOAT_DTYPES else None
        gb = reduce_to_input(matmul(_swap_last(a), g), b) if b.dtype in FLOAT_DTYPES else None
        return [ga, gb]

    def R_op(self, inputs, eval_points):
        return [_product_tangent(self, inputs, eval_points)]

    def pretty(self, input_strs):
        return f"({input_strs[0]} @ {input_strs[1]})"


_matmul = MatMul()


def _product_tangent(op, inputs, eval_points):
    """The tangent of a bilinear product op(a, b): op(da, b) + op(a, db)."""
    from symtheano.rop import sum_tangents

    (a, b), (ta, tb) = inputs, eval_points
    return sum_tangents([None if ta is None else op(ta, b), None if tb is None else op(a, tb)])


def _swap_last(x):
    order = list(range(x.ndim))
    order[-2], order[-1] = order[-1], order[-2]
    return dimshuffle(x, order)


# -- the functions users call -----------------------------------------------------------------

def dot(a, b):
    """numpy.dot / Theano's T.dot: a scalar operand multiplies elementwise; vectors
    and matrices give the inner, matrix-vector or matrix product; N-d arrays
    contract the last axis of `a` with the second-to-last of `b` (the only one
    when `b` is a vector)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return tb.mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b)
    return tensordot(a, b, [[a.ndim - 1], [max(b.ndim - 2, 0)]])


def _normalize_axes(axes, x, name):
    axes = [axes] if isinstance(axes, int | np.integer) else list(axes)
    out = []
    for d in axes:
        if not isinstance(d, int | np.integer) or not -x.ndim <= d < x.ndim:
            raise ValueError(f"tensordot: axis {d!r} is out of range for input {name} "
                             f"({_describe(x)})")
        out.append(int(d) % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"tensordot: axes {axes} of input {name} repeat an axis")
    return out


def tensordot(a, b, axes=2):
    """numpy.tensordot: sum products over `axes` (an int n: the last n axes of `a`
    with the first n of `b`; or a pair of sequences naming the axes to pair)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if n < 0 or n > a.ndim or n > b.ndim:
            raise ValueError(f"tensordot: axes={n} needs at least {n} dimensions in each "
                             f"input, got {_describe(a)} and {_describe(b)}")
        a_axes, b_axes = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        try:
            a_axes, b_axes = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of sequences, "
                            f"got {axes!r}") from None
        a_axes, b_axes = _normalize_axes(a_axes, a, "a"), _normalize_axes(b_axes, b, "b")
        if len(a_axes) != len(b_axes):
            raise ValueError(f"tensordot: {len(a_axes)} axes given for a but {len(b_axes)} "
                             "for b; they are contracted in pairs")
    if (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2 and a_axes == [a.ndim - 1] and b_axes == [0]):
        return _dot(a, b)  # the plain product: keep it a Dot for the BLAS back ends
    return TensorDot(a_axes, b_axes)(a, b)


def matmul(a, b):
    """numpy.matmul (the `@` operator): 1-d operands are promoted to a matrix and the
    added dimension removed afterwards; leading dimensions are batch dimensions and
    broadcast (Theano's rule: only those of static size 1)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for name, x in (("a", a), ("b", b)):
        if x.ndim == 0:
            raise ValueError(f"matmul: input {name} ({_describe(x)}) is a scalar; matmul "
                             "needs at least 1 dimension (use * or T.dot)")
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b)
    a2 = shape_padleft(a) if a.ndim == 1 else a
    b2 = shape_padright(b) if b.ndim == 1 else b
    ndim = max(a2.ndim, b2.ndim)
    a2, b2 = shape_padleft(a2, ndim - a2.ndim), shape_padleft(b2, ndim - b2.ndim)
    out = _matmul(a2, b2)
    if a.ndim == 1:  # drop the promoted row
        out = dimshuffle(out, [d for d in range(out.ndim) if d != out.ndim - 2])
    if b.ndim == 1:  # drop the promoted column
        out = dimshuffle(out, list(range(out.ndim - 1)))
    return out


def outer(x, y):
    """The outer product of `x` and `y` (flattened first when not vectors, like numpy)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    x = shape_padleft(x) if x.ndim == 0 else x
    y = shape_padleft(y) if y.ndim == 0 else y
    if x.ndim > 1:
        x = _flatten(x)
    if y.ndim > 1:
        y = _flatten(y)
    return _dot(shape_padright(x), shape_padleft(y))


def size_of(x, dims):
    """The product of the sizes of `dims` of x: an int when static, else a symbolic scalar."""
    from symtheano.tensor.shape import shape_i

    static = [x.type.shape[d] for d in dims]
    if None not in static:
        return int(np.prod(static, dtype="int64"))
    n = tb.constant(np.int64(1))
    for d in dims:
        n = n * shape_i(x, d)
    return n


def _flatten(x):
    from symtheano.tensor.shape import reshape

    return reshape(x, (size_of(x, range(x.ndim)),))


def batched_dot(a, b):
    """Theano's batched_dot: the dot of each pair a[i], b[i] over the first (batch)
    dimension. 3-d·3-d gives a batch of matrix products, 3-d·2-d a batch of
    matrix-vector products, 2-d·2-d the row-wise inner products; a vector
    scales the other input's rows; more dimensions contract like numpy.dot."""
    from symtheano.tensor.shape import reshape, shape_i

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for name, x in (("a", a), ("b", b)):
        if x.ndim == 0:
            raise TypeError(f"batched_dot: input {name} ({_describe(x)}) needs a batch "
                            "dimension")
    _check_batch("batched_dot", a, b)
    if a.ndim == 1:
        return dimshuffle(a, [0] + ["x"] * (b.ndim - 1)) * b
    if b.ndim == 1:
        return a * dimshuffle(b, [0] + ["x"] * (a.ndim - 1))
    # Bring the inputs to (batch, rows, k) and (batch, k, cols), multiply, restore.
    k_axis = max(1, b.ndim - 2)
    a_mid, b_rest = list(range(1, a.ndim - 1)), [d for d in range(1, b.ndim) if d != k_axis]
    if len(a_mid) == 1:
        a3 = a
    elif not a_mid:
        a3 = shape_padaxis(a, 1)
    else:
        a3 = reshape(a, (shape_i(a, 0), size_of(a, a_mid), shape_i(a, -1)))
    b_moved = dimshuffle(b, [0, k_axis] + b_rest)
    if len(b_rest) == 1:
        b3 = b_moved
    elif not b_rest:
        b3 = shape_padright(b_moved)
    else:
        b3 = reshape(b_moved, (shape_i(b, 0), shape_i(b, k_axis), size_of(b, b_rest)))
    out = _matmul(a3, b3)
    if len(a_mid) == 1 and len(b_rest) == 1:
        return out
    if len(a_mid) <= 1 and len(b_rest) <= 1:
        keep = [0] + ([1] if a_mid else []) + ([2] if b_rest else [])
        return dimshuffle(out, keep)
    shape = ((shape_i(out, 0),) + tuple(shape_i(a, d) for d in a_mid)
             + tuple(shape_i(b, d) for d in b_rest))
    return reshape(out, shape)


def _check_batch(what, a, b):
    sa, sb = a.type.shape[0], b.type.shape[0]
    if sa is not None and sb is not None and sa != sb and 1 not in (sa, sb):
        raise ValueError(f"{what}: the batch sizes differ: {_describe(a)} has {sa}, "
                         f"{_describe(b)} has {sb}")


__all__ = ["Dot", "dot", "matmul", "tensordot", "outer", "batched_dot"]
