"""Sparsity patterns of derivatives, read from the graph.

`jacobian_pattern(ys, x, values)` says which elements of `x` each element of
the outputs `ys` depends on: the structure of the Jacobian d ys / d x, as a
boolean scipy.sparse CSR matrix with one row per output element (outputs
flattened in C order, one after the other) and one column per element of x.
`hessian_pattern(cost, x, values)` is the pattern of the Jacobian of the
gradient, made symmetric.

How. The graph is evaluated once with the given values (each node's reference
`perform`), so every intermediate has a concrete shape, and a pattern is
propagated from x (the identity) to the outputs, node by node, by a rule per
kind of op, each a sparse product with a 0/1 matrix that maps input elements
to the output elements they reach:

- elementwise ops: each output element reads the broadcast-aligned element of
  each input (`second(a, b)` reads b only, `switch` its two branches only;
  floor, sign and the like have a zero derivative);
- ops that move elements (dimshuffle, reshape, basic and advanced indexing,
  join, split, repeat, make_vector, alloc, specify_shape): the op itself is run
  on arrays of element numbers, which says where every output element comes
  from;
- set/inc_subtensor: the indexed positions read the value (and, for inc, the
  array), the others the array;
- reductions: every element of the reduced axes; softmax-like ops along their
  axis;
- dot and matmul of vectors and matrices: a row times a column, where an
  operand computed from constants only contributes only its nonzero entries
  (so the Hessian of x @ Q @ x is the pattern of Q + Q.T for a constant Q; an
  input Q may change between calls and counts as dense);
- any other op: every output element depends on every element its inputs
  depend on (conservative).

Integer and boolean values carry no derivative. A pattern may say "depends"
where a derivative happens to be zero (x * 0), never the opposite: the rules
err on the side of more entries, so derivatives computed from a pattern are
exact.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from symtheano.graph.basic import Constant, toposort

__all__ = ["jacobian_pattern", "hessian_pattern", "evaluate"]

ZERO_DERIVATIVE = frozenset({
    "floor", "ceil", "trunc", "round_half_to_even", "round_half_away_from_zero", "sign",
    "rint",
})
FLOAT_KINDS = "fc"


def _is_float(var):
    return np.dtype(var.dtype).kind in FLOAT_KINDS


def evaluate(outputs, values):
    """{variable: value} for every variable computing `outputs` from `values`
    ({input variable: value}), by the ops' reference `perform`."""
    env = {}
    for var, value in values.items():
        env[var] = value
    for node in toposort(outputs):
        args = []
        for inp in node.inputs:
            if inp not in env:
                if isinstance(inp, Constant):
                    env[inp] = inp.data
                elif hasattr(inp, "get_value"):
                    env[inp] = inp.get_value(borrow=True)
                else:
                    raise ValueError(f"sparsity: no value for the input {inp}")
            args.append(env[inp])
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, args, storage)
        for out, cell in zip(node.outputs, storage):
            env[out] = np.asarray(cell[0])
    return env


# -- pattern algebra: CSR matrices (element x column), float32 ones ----------------------------

def _binary(m):
    m = sp.csr_matrix(m, dtype=np.float32)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


def _mapping(rows, cols, shape):
    """The 0/1 matrix with ones at (rows[i], cols[i])."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    return sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=shape)


def _gather(pattern, index):
    """Rows `index` (flat element numbers) of `pattern`."""
    return pattern[np.asarray(index, dtype=np.int64).ravel()]


def _union(parts, size, n):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return _binary(total) if total.shape == (size, n) else None


def _aligned_index(shape, out_shape):
    """Per output element, the element of an input of `shape` broadcast to it."""
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    index = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return np.broadcast_to(index, out_shape).ravel()


# -- the rules ----------------------------------------------------------------------------------

def _elemwise_inputs(node):
    """Which inputs of an elementwise node carry a derivative."""
    from symtheano.tensor.elemwise import Elemwise

    n = len(node.inputs)
    if not isinstance(node.op, Elemwise):
        return range(n)
    name = node.op.scalar_op.name
    if name in ZERO_DERIVATIVE:
        return ()
    if name == "second":
        return (1,)
    if name == "switch":
        return (1, 2)
    return range(n)


def _rule_elementwise(node, vals, outs, pats, n, const):
    out = outs[0]
    parts = [_gather(pats[k], _aligned_index(vals[k].shape, out.shape))
             for k in _elemwise_inputs(node) if pats[k] is not None]
    return [_union(parts, out.size, n)]


def _rule_index_map(node, vals, outs, pats, n, const, data_inputs=None):
    """Run the op on element numbers: where every output element comes from."""
    data = [k for k in (data_inputs or range(len(node.inputs)))
            if np.asarray(vals[k]).dtype.kind in FLOAT_KINDS]
    offsets, total, stack = {}, 0, []
    for k in data:
        offsets[k] = total
        size = np.asarray(vals[k]).size
        stack.append(pats[k] if pats[k] is not None else sp.csr_matrix((size, n),
                                                                         dtype=np.float32))
        total += size
    if not stack:
        return [None] * len(outs)
    numbered = list(vals)
    for k in data:
        v = np.asarray(vals[k])
        numbered[k] = (np.arange(v.size, dtype=np.int64) + offsets[k]).reshape(v.shape)
    storage = [[None] for _ in node.outputs]
    node.op.perform(node, numbered, storage)
    source = sp.vstack(stack, format="csr")
    result = []
    for out, cell, var in zip(outs, storage, node.outputs):
        index = np.asarray(cell[0])
        if not _is_float(var) or index.size != out.size:
            result.append(None)
            continue
        result.append(_binary(_gather(source, index.astype(np.int64))))
    return result


def _rule_set_item(node, vals, outs, pats, n, const):
    op = node.op
    x, y = vals[0], np.asarray(vals[1])
    out = outs[0]
    get = op.get_op()
    positions = np.arange(out.size, dtype=np.int64).reshape(x.shape)
    storage = [[None]]
    get_node = get.make_node(node.inputs[0], *node.inputs[2:])
    get.perform(get_node, [positions, *vals[2:]], storage)
    touched = np.asarray(storage[0][0])
    y_index = _aligned_index(y.shape, touched.shape)
    parts = []
    if pats[0] is not None:
        keep = np.ones(out.size, dtype=bool)
        if op.set_instead_of_inc:
            keep[touched.ravel()] = False
        rows = np.flatnonzero(keep)
        parts.append(_mapping(rows, rows, (out.size, out.size)) @ pats[0])
    if pats[1] is not None:
        parts.append(_mapping(touched.ravel(), y_index, (out.size, y.size)) @ pats[1])
    return [_union(parts, out.size, n)]


def _rule_reduce(node, vals, outs, pats, n, const, axes=None):
    x = np.asarray(vals[0])
    if pats[0] is None or not _is_float(node.outputs[0]):
        return [None]
    if axes is None:
        axes = node.op.axis
    axes = tuple(range(x.ndim)) if axes is None else tuple(
        a % x.ndim for a in ((axes,) if np.isscalar(axes) else axes))
    kept = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
    target = np.broadcast_to(np.arange(int(np.prod(kept)), dtype=np.int64).reshape(kept),
                             x.shape).ravel()
    reduced = _binary(_mapping(target, np.arange(x.size), (int(np.prod(kept)), x.size))
                      @ pats[0])
    out = outs[0]
    if out.size == reduced.shape[0]:
        return [reduced]
    return [None]


def _rule_along_axis(node, vals, outs, pats, n, const):
    """Softmax-like: each output element depends on its whole line along `axis`."""
    x = np.asarray(vals[0])
    if pats[0] is None:
        return [None]
    axis = node.op.axis
    axes = tuple(range(x.ndim)) if axis is None else (axis,)
    kept = tuple(1 if d in axes else s for d, s in enumerate(x.shape))
    target = np.broadcast_to(np.arange(int(np.prod(kept)), dtype=np.int64).reshape(kept),
                             x.shape).ravel()
    reduced = _mapping(target, np.arange(x.size), (int(np.prod(kept)), x.size)) @ pats[0]
    return [_binary(_gather(reduced, target))]


def _nonzero_mask(value, constant):
    """Where an operand may be nonzero: its nonzeros if it is a constant (computed
    from constants only), anywhere otherwise (another call may bring other values)."""
    value = np.asarray(value)
    return value != 0 if constant else np.ones(value.shape, dtype=bool)


def _rule_dot(node, vals, outs, pats, n, const):
    a, b = np.asarray(vals[0]), np.asarray(vals[1])
    if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
        return _rule_generic(node, vals, outs, pats, n, const)
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    m, k = a2.shape
    cols = b2.shape[1]
    mask_a = _nonzero_mask(a2, const[0])
    mask_b = _nonzero_mask(b2, const[1])
    out_size = m * cols
    parts = []
    if pats[0] is not None:  # out (i, j) reads a (i, kk) wherever b (kk, j) may be nonzero
        kk, j = np.nonzero(mask_b)
        i = np.repeat(np.arange(m), kk.size)
        rows = i * cols + np.tile(j, m)
        src = i * k + np.tile(kk, m)
        parts.append(_mapping(rows, src, (out_size, a.size)) @ pats[0])
    if pats[1] is not None:  # out (i, j) reads b (kk, j) wherever a (i, kk) may be nonzero
        i, kk = np.nonzero(mask_a)
        j = np.repeat(np.arange(cols), i.size)
        rows = np.tile(i, cols) * cols + j
        src = np.tile(kk, cols) * cols + j
        parts.append(_mapping(rows, src, (out_size, b.size)) @ pats[1])
    return [_union(parts, out_size, n)]


def _rule_generic(node, vals, outs, pats, n, const):
    """Every output element depends on everything any input depends on."""
    rows = [p for p in pats if p is not None]
    if not rows:
        return [None] * len(outs)
    cols = np.unique(np.concatenate([p.indices for p in rows]))
    result = []
    for out, var in zip(outs, node.outputs):
        if not _is_float(var):
            result.append(None)
            continue
        r = np.repeat(np.arange(out.size), cols.size)
        c = np.tile(cols, out.size)
        result.append(_mapping(r, c, (out.size, n)))
    return result


def _rule_for(node):
    """The rule for `node`'s op."""
    from symtheano.tensor.advanced_subtensor import AdvancedSubtensor
    from symtheano.tensor.blas import Dot, MatMul
    from symtheano.tensor.composite import Composite
    from symtheano.tensor.elemwise import DimShuffle, Elemwise
    from symtheano.tensor.join import Join, Repeat, Split
    from symtheano.tensor.nnet import LogSoftmax, Softmax
    from symtheano.tensor.reduce import Reduce
    from symtheano.tensor.shape import Alloc, CheckShape, MakeVector, Reshape, SpecifyShape
    from symtheano.tensor.stable import LogSumExp
    from symtheano.tensor.subtensor import Subtensor, _SetItemOp

    op = node.op
    if isinstance(op, Elemwise | Composite):
        return _rule_elementwise
    if isinstance(op, _SetItemOp):
        return _rule_set_item
    if isinstance(op, DimShuffle | Subtensor | AdvancedSubtensor | Reshape | SpecifyShape | Join
                  | Split | Repeat | MakeVector):
        return _rule_index_map
    if isinstance(op, CheckShape):
        return lambda node, vals, outs, pats, n, const: [pats[0]]
    if isinstance(op, Alloc):
        return lambda node, vals, outs, pats, n, const: [
            None if pats[0] is None else _gather(pats[0], _aligned_index(
                np.shape(vals[0]), outs[0].shape))]
    if isinstance(op, Reduce | LogSumExp):
        return _rule_reduce
    if isinstance(op, Softmax | LogSoftmax):
        return _rule_along_axis
    if isinstance(op, Dot) or (isinstance(op, MatMul) and all(i.ndim <= 2 for i in node.inputs)):
        return _rule_dot
    return _rule_generic


def _propagate(outputs, x, values):
    env = evaluate(outputs, values)
    n = int(np.asarray(env[x]).size)
    pats = {x: sp.identity(n, dtype=np.float32, format="csr")}
    constant = set()  # variables computed from constants only
    for node in toposort(outputs):
        const = [isinstance(i, Constant) or i in constant for i in node.inputs]
        if all(const):
            constant.update(node.outputs)
        in_pats = [pats.get(i) for i in node.inputs]
        if all(p is None for p in in_pats):
            continue
        vals = [env[i] for i in node.inputs]
        outs = [np.asarray(env[o]) for o in node.outputs]
        found = _rule_for(node)(node, vals, outs, in_pats, n, const)
        for var, pat in zip(node.outputs, found):
            if pat is not None and _is_float(var):
                pats[var] = pat
    return env, pats, n


def jacobian_pattern(outputs, x, values):
    """The pattern of d outputs / d x at `values` ({input variable: value}, x included),
    as a boolean CSR matrix (all output elements, in order) x (elements of x)."""
    outputs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
    env, pats, n = _propagate(outputs, x, values)
    blocks = []
    for y in outputs:
        size = int(np.asarray(env[y]).size)
        blocks.append(pats.get(y, sp.csr_matrix((size, n), dtype=np.float32)))
    return sp.vstack(blocks, format="csr").astype(bool)


def hessian_pattern(cost, x, values):
    """The pattern of the Hessian of scalar `cost` with respect to x at `values`: the
    Jacobian pattern of the gradient, made symmetric (a boolean CSR matrix)."""
    from symtheano.gradient import grad

    g = grad(cost, x, disconnected_inputs="ignore")
    pattern = jacobian_pattern([g], x, values)
    return (pattern + pattern.T).astype(bool).tocsr()
