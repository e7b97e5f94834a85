"""Fused elementwise ops: `Composite` evaluates a small DAG of scalar ops over
broadcast arrays as one op, and `FusedReduce` feeds a Composite into a
reduction (`sum((x - y) ** 2)` is one node). The fusion stage
(rewrite/fusion.py) builds them; the inplace stage (rewrite/inplace.py) makes
variants that overwrite an input (`destroy_map`).

The inner graph is plain data, so that a C emitter can walk it in order:

    input_types ((dtype, ndim), ...)           the outer inputs, printed i0, i1, ...
    constants   ((dtype, shape, bytes), ...)   one-element constants, inlined
    steps       ((scalar_op, refs, ndim), ...) in topological order

A ref indexes the value list [inputs..., constants..., step results...]; the
last step is the output. `ndim` is the number of dimensions of that step in
the unfused graph (values broadcast against each other from the right, as in
NumPy, so left-padding DimShuffles need no step).

The NumPy reference evaluates the steps one by one exactly as the unfused
Elemwise nodes would (same dtypes, same casts, same NumPy calls), so results
are bit-identical to the unfused graph. Dead intermediates are reused as
`out=` buffers where the scalar op is a NumPy ufunc whose result dtype is the
step's dtype and every operand is C-contiguous, so the same ufunc loop runs.
"""

from __future__ import annotations

import collections
import types

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op
from symtheano.tensor.elemwise import (
    Elemwise,
    broadcast_static_shapes,
    check_runtime_broadcast,
    elemwise_value,
    shape_padleft,
)
from symtheano.tensor.reduce import All, Any, Max, Min, Prod, Sum
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable, constant

__all__ = []

FUSABLE_REDUCTIONS = (Sum, Prod, Max, Min, All, Any)
LABEL_LIMIT = 200  # characters of the inner expression shown by str()

# -- scalar ops whose reference `impl` is one NumPy ufunc call ---------------------------------

_DIRECT_UFUNCS = {
    "true_div": np.true_divide, "int_div": np.floor_divide, "mod": np.mod,
    "abs": np.absolute, "maximum": np.maximum, "minimum": np.minimum,
}
# Ops whose class attribute `numpy_fn` is the ufunc their impl calls on all inputs.
_NUMPY_FN_OPS = frozenset({
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "deg2rad", "rad2deg", "lt", "gt", "le", "ge", "eq", "neq", "and_", "or_", "xor", "invert",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
})


def ufunc_for(scalar_op, arg_dtypes, out_dtype):
    """(ufunc, operand pattern) computing `scalar_op` on `arg_dtypes` bit-identically
    to its `impl`, straight into an `out=` array of `out_dtype`; None if there is none.

    The pattern lists which argument feeds each ufunc operand (sqr(x) is x * x)."""
    name = scalar_op.name
    kinds = [np.dtype(d).kind for d in arg_dtypes]
    n = len(arg_dtypes)
    pattern = tuple(range(n))
    ufunc = None
    if name in ("add", "mul") and n == 2:
        ufunc = np.add if name == "add" else np.multiply
    elif name == "sub" and kinds != ["b", "b"]:
        ufunc = np.subtract
    elif name == "neg" and kinds[0] != "b":
        ufunc = np.negative
    elif name == "sqr":
        ufunc, pattern = np.multiply, (0, 0)
    elif name == "pow" and kinds == ["f", "f"]:
        ufunc = np.power
    elif name in ("floor", "ceil", "trunc") and kinds[0] == "f":
        ufunc = getattr(np, name)
    elif name in _DIRECT_UFUNCS:
        ufunc = _DIRECT_UFUNCS[name]
    elif name in _NUMPY_FN_OPS and isinstance(getattr(type(scalar_op), "numpy_fn", None),
                                               np.ufunc):
        ufunc = type(scalar_op).numpy_fn
    if ufunc is None or ufunc.nin != len(pattern) or ufunc.nout != 1:
        return None
    try:
        resolved = ufunc.resolve_dtypes(tuple(np.dtype(arg_dtypes[i]) for i in pattern)
                                        + (None,))
    except (TypeError, ValueError):
        return None
    if resolved[-1] != np.dtype(out_dtype):
        return None
    return ufunc, pattern


# -- Composite ----------------------------------------------------------------------------------

class Composite(Op):
    """A DAG of scalar ops evaluated elementwise over broadcast inputs, as one op.

    inplace: None, or the index of an input the op may overwrite (its output is
    then written into that input's buffer where possible: `destroy_map`).
    """

    __props__ = ("input_types", "constants", "steps", "inplace")

    def __init__(self, input_types, constants, steps, inplace=None):
        self.input_types = tuple((str(d), int(n)) for d, n in input_types)
        self.constants = tuple((str(d), tuple(s), bytes(b)) for d, s, b in constants)
        self.steps = tuple((op, tuple(int(r) for r in refs), int(nd)) for op, refs, nd in steps)
        if not self.steps:
            raise ValueError("Composite needs at least one step")
        self.inplace = None if inplace is None else int(inplace)
        self.nin = len(self.input_types)
        self.first_step = self.nin + len(self.constants)
        self.destroy_map = {} if self.inplace is None else {0: [self.inplace]}
        self.constant_arrays = [np.frombuffer(b, dtype=d).reshape(s)
                                for d, s, b in self.constants]
        dtypes = [d for d, _ in self.input_types] + [d for d, _, _ in self.constants]
        n_values = self.first_step + len(self.steps)
        self.last_use = [-1] * n_values
        self.step_dtypes, self.ufuncs = [], []
        for k, (op, refs, _) in enumerate(self.steps):
            if any(not 0 <= r < self.first_step + k for r in refs):
                raise ValueError(f"Composite step {k} ({op}) refers to a later value: {refs}")
            dtype = op.output_dtype(*[dtypes[r] for r in refs])
            arg_dtypes = [dtype] * len(refs) if op.float_output else [dtypes[r] for r in refs]
            self.ufuncs.append(ufunc_for(op, arg_dtypes, dtype))
            self.step_dtypes.append(dtype)
            dtypes.append(dtype)
            for r in refs:
                self.last_use[r] = k
        self.last_use[-1] = len(self.steps)  # the output is never dead
        if self.inplace is not None and not 0 <= self.inplace < self.nin:
            raise ValueError(f"Composite: inplace input {self.inplace} does not exist")
        self.dtype = self.step_dtypes[-1]
        self.ndim = self.steps[-1][2]
        self._hash = None
        self._label = None

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((type(self), self._props()))
        return self._hash

    # -- variants and construction ----------------------------------------------------------

    def with_inplace(self, inplace):
        """The same computation, overwriting input `inplace` (None: no input)."""
        return Composite(self.input_types, self.constants, self.steps, inplace)

    @staticmethod
    def from_nodes(nodes):
        """(Composite, outer input variables) computing the last of `nodes`.

        nodes: Elemwise nodes and left-padding DimShuffle nodes in topological
        order; inputs produced outside `nodes` become outer inputs, except
        constants with one element, which are inlined."""
        refs, outer, consts, steps = {}, [], [], []
        const_keys = {}

        def ref(var):
            found = refs.get(id(var))
            if found is not None:
                return found
            if isinstance(var, Constant) and var.data.size == 1:
                data = np.array(var.data, order="C")
                key = (data.dtype.name, data.shape, data.tobytes())
                if key not in const_keys:
                    const_keys[key] = len(consts)
                    consts.append(key)
                found = ("c", const_keys[key])
            else:
                found = ("i", len(outer))
                outer.append(var)
            refs[id(var)] = found
            return found

        for node in nodes:
            if isinstance(node.op, Elemwise):
                step_refs = [ref(i) for i in node.inputs]
                steps.append((node.op.scalar_op, step_refs, node.outputs[0].ndim))
                refs[id(node.outputs[0])] = ("s", len(steps) - 1)
            elif is_left_pad(node):
                refs[id(node.outputs[0])] = ref(node.inputs[0])
            else:
                raise TypeError(f"Composite.from_nodes: cannot fuse {node.op}")
        base = {"i": 0, "c": len(outer), "s": len(outer) + len(consts)}
        numbered = [(op, [base[kind] + k for kind, k in rs], nd) for op, rs, nd in steps]
        inputs = [(v.dtype, v.ndim) for v in outer]
        return Composite(inputs, consts, numbered), outer

    # -- the op interface ----------------------------------------------------------------------

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != self.nin:
            raise TypeError(f"{self} takes {self.nin} inputs, got {len(inputs)}")
        for k, (x, (dtype, ndim)) in enumerate(zip(inputs, self.input_types)):
            if x.dtype != dtype or x.ndim != ndim:
                raise TypeError(f"{self}: input {k} ({x}) must be a {ndim}-d {dtype} tensor, "
                                f"got {x.type}")
        out_type = TensorType(self.dtype, self.static_shape([x.type.shape for x in inputs]))
        if self.inplace is not None:
            check_destroyable(self, inputs[self.inplace], out_type)
        return Apply(self, inputs, [out_type.make_variable()])

    def static_shape(self, input_shapes):
        """The static output shape from the inputs' static shapes."""
        shapes = list(input_shapes) + [s for _, s, _ in self.constants]
        for _, refs, ndim in self.steps:
            padded = [(1,) * (ndim - len(shapes[r])) + tuple(shapes[r]) for r in refs]
            shapes.append(broadcast_static_shapes(padded, f"{self} inputs"))
        return shapes[-1]

    def perform(self, node, inputs, output_storage):
        check_broadcast(self, node, inputs)
        output_storage[0][0] = self.evaluate(inputs)

    def evaluate(self, inputs):
        """The output array from the input arrays (input `inplace` may be overwritten)."""
        values = list(inputs) + self.constant_arrays + [None] * len(self.steps)
        owned = [False] * len(values)  # buffers this call may overwrite
        if self.inplace is not None:
            owned[self.inplace] = True
        pool = collections.defaultdict(list)  # (dtype, shape) -> free owned C arrays
        last_use = self.last_use
        for k, (op, refs, ndim) in enumerate(self.steps):
            index = self.first_step + k
            args = [values[r] for r in refs]
            dtype = self.step_dtypes[k]
            dead = [r for r in dict.fromkeys(refs) if last_use[r] == k and owned[r]]
            result = None
            if self.ufuncs[k] is not None:
                result = _ufunc_into(self.ufuncs[k], op, args, dtype, dead, values, pool)
            if result is None:
                result = elemwise_value(op, args, dtype)
                if any(np.may_share_memory(result, a) for a in args):
                    result = result.copy()  # an impl that returned an input unchanged
            if result.ndim < ndim:
                result = result.reshape((1,) * (ndim - result.ndim) + result.shape)
            values[index], owned[index] = result, True
            for r in dead:
                buf, values[r] = values[r], None
                if buf is not None and not np.may_share_memory(buf, result) and (
                        buf.flags.c_contiguous and buf.flags.writeable):
                    pool[(buf.dtype, buf.shape)].append(buf)
        return values[-1]

    def infer_shape(self, node, input_shapes):
        return [broadcast_shape(node.inputs, input_shapes, node.outputs[0].ndim)]

    def expand(self, inputs):
        """The unfused graph of Elemwise nodes computing this op from `inputs`."""
        values = [as_tensor_variable(x) for x in inputs]
        values += [constant(np.array(a)) for a in self.constant_arrays]
        for op, refs, ndim in self.steps:
            out = Elemwise(op)(*[values[r] for r in refs])
            if out.ndim < ndim:
                out = shape_padleft(out, ndim - out.ndim)
            values.append(out)
        return values[-1]

    def L_op(self, inputs, outputs, output_grads):
        return expanded_grads(inputs, self.expand, output_grads[0])

    def R_op(self, inputs, eval_points):
        return expanded_tangent(inputs, self.expand(inputs), eval_points)

    def label(self):
        """The inner expression, e.g. 'sqr(sub(i0, i1))' (shortened when long)."""
        if self._label is None:
            self._label = _expression(self)
        return self._label

    def __str__(self):
        tail = "" if self.inplace is None else f"[inplace i{self.inplace}]"
        return f"Composite{{{self.label()}}}{tail}"

    __repr__ = __str__

    def pretty(self, input_strs):
        return f"{self}({', '.join(input_strs)})"


def is_left_pad(node):
    """Is `node` a DimShuffle that only adds broadcastable dimensions on the left?"""
    from symtheano.tensor.elemwise import DimShuffle

    op = node.op
    if not isinstance(op, DimShuffle) or op.drop:
        return False
    k = len(op.new_order) - op.input_ndim
    return k > 0 and op.new_order == ("x",) * k + tuple(range(op.input_ndim))


def check_destroyable(op, var, out_type):
    """An op may overwrite `var` only when it has the output's dtype and shape."""
    if var.dtype != out_type.dtype or var.ndim != out_type.ndim or any(
            a == 1 and b != 1 for a, b in zip(var.type.shape, out_type.shape)):
        raise TypeError(f"{op}: the input it overwrites ({var}, {var.type}) must have the "
                        f"dtype and shape of the output ({out_type})")


def check_broadcast(op, node, arrays):
    """The broadcast shape of `arrays`; raises as Elemwise does for a dimension
    broadcast without being declared broadcastable."""
    return check_runtime_broadcast(node, arrays, str(op))


def broadcast_shape(inputs, input_shapes, ndim):
    """The symbolic broadcast shape of `inputs` (aligned on the right) with `ndim` dims."""
    out = []
    for d in range(ndim):
        pick = None
        for var, shp in zip(inputs, input_shapes):
            local = d - (ndim - var.ndim)
            if local >= 0 and var.type.shape[local] != 1:
                pick = shp[local]
                break
        out.append(pick if pick is not None else constant(np.int64(1)))
    return tuple(out)


def expanded_grads(inputs, expand, output_grad):
    """Input gradients of a fused op: the gradient of its unfused graph, built by
    `expand(variables)` on stand-ins for `inputs`, one per position. Stand-ins make
    each gradient partial, as L_op's contract wants, also where one variable fills
    two positions or one input is computed from another."""
    from symtheano.gradient import grad
    from symtheano.graph.basic import clone_replace

    proxies = [x.type.make_variable() for x in inputs]
    expanded = expand(proxies)
    floats = [i for i, x in enumerate(inputs) if x.dtype in FLOAT_DTYPES]
    result = [None] * len(inputs)
    if not floats or expanded.dtype not in FLOAT_DTYPES:
        return result
    grads = grad(None, [proxies[i] for i in floats], known_grads={expanded: output_grad},
                 disconnected_inputs="ignore", return_disconnected="None")
    present = [(i, g) for i, g in zip(floats, grads) if g is not None]
    back = dict(zip(proxies, inputs))
    if present:
        replaced = clone_replace([g for _, g in present], back)
        for (i, _), g in zip(present, replaced):
            result[i] = g
    return result


def expanded_tangent(inputs, expanded, eval_points):
    """[The output tangent] of a fused op: its unfused graph `expanded` pushed
    forward, each scalar op by its own rule."""
    from symtheano.rop import pushforward

    if expanded.dtype not in FLOAT_DTYPES:
        return [None]
    tangents = [t if x.dtype in FLOAT_DTYPES else None
                for x, t in zip(inputs, eval_points, strict=True)]
    return pushforward([expanded], inputs, tangents)


def _ufunc_into(spec, op, args, dtype, dead, values, pool):
    """Compute a step with its ufunc into a free buffer of the right dtype and shape;
    None when there is none (or an operand is not C-contiguous)."""
    ufunc, pattern = spec
    if op.float_output:
        args = [a.astype(dtype, copy=False) for a in args]
    shape = np.broadcast_shapes(*[a.shape for a in args])
    key = (np.dtype(dtype), shape)
    if not all(a.flags.c_contiguous for a in args):
        return None
    buf = None
    for r in dead:
        cand = values[r]
        if (cand.dtype, cand.shape) == key and cand.flags.c_contiguous and cand.flags.writeable:
            buf = cand
            values[r] = None  # consumed: it becomes this step's result
            break
    if buf is None:
        free = pool.get(key)
        if not free:
            return None
        buf = free.pop()
    with np.errstate(all="ignore"):
        ufunc(*[args[i] for i in pattern], out=buf)
    return buf


def _expression(comp):
    """Inner expression text; each value's text is cut at LABEL_LIMIT characters, so
    a deep chain prints in linear time."""
    texts = [f"i{k}" for k in range(comp.nin)]
    for arr in comp.constant_arrays:
        texts.append(str(arr.reshape(-1)[0].item()))
    for op, refs, _ in comp.steps:
        name = getattr(op, "pp_name", None) or op.name or type(op).__name__
        text = f"{name}({', '.join(texts[r] for r in refs)})"
        if len(text) > LABEL_LIMIT:
            text = text[: LABEL_LIMIT - 3] + "..."
        texts.append(text)
    return texts[-1]


# -- FusedReduce --------------------------------------------------------------------------------

class FusedReduce(Op):
    """A reduction (sum, prod, max, min, all, any) of a Composite's output, as one op:
    one loop in a compiled back end, no materialised elementwise result there."""

    __props__ = ("composite", "reduce_op")

    def __init__(self, composite, reduce_op):
        if type(reduce_op) not in FUSABLE_REDUCTIONS:
            raise TypeError(f"FusedReduce: cannot fuse into {reduce_op}; expected one of "
                            f"{[c.__name__ for c in FUSABLE_REDUCTIONS]}")
        self.composite = composite
        self.reduce_op = reduce_op
        self.destroy_map = dict(composite.destroy_map)
        self._hash = None
        self._label_var = None

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((type(self), self._props()))
        return self._hash

    def with_inplace(self, inplace):
        return FusedReduce(self.composite.with_inplace(inplace), self.reduce_op)

    def make_node(self, *inputs):
        inner = self.composite.make_node(*inputs)
        elem_type = inner.outputs[0].type
        out_type = self.reduce_op.make_node(elem_type.make_variable()).outputs[0].type
        return Apply(self, inner.inputs, [out_type.make_variable()])

    def elemwise_type(self, node):
        """The type of the fused elementwise value (before the reduction)."""
        return TensorType(self.composite.dtype,
                          self.composite.static_shape([x.type.shape for x in node.inputs]))

    def perform(self, node, inputs, output_storage):
        check_broadcast(self, node, inputs)
        value = self.composite.evaluate(inputs)
        if self._label_var is None:
            self._label_var = self.elemwise_type(node).make_variable(self.composite.label())
        view = types.SimpleNamespace(inputs=[self._label_var], outputs=node.outputs)
        self.reduce_op.perform(view, [value], output_storage)

    def infer_shape(self, node, input_shapes):
        shape = broadcast_shape(node.inputs, input_shapes, self.composite.ndim)
        return [tuple(s for d, s in enumerate(shape) if d not in self.reduce_op.axis)]

    def expand(self, inputs):
        """The unfused graph: the Composite's Elemwise nodes, then the reduction."""
        return self.reduce_op(self.composite.expand(inputs))

    def L_op(self, inputs, outputs, output_grads):
        return expanded_grads(inputs, self.expand, output_grads[0])

    def R_op(self, inputs, eval_points):
        return expanded_tangent(inputs, self.expand(inputs), eval_points)

    def __str__(self):
        tail = "" if self.composite.inplace is None else f"[inplace i{self.composite.inplace}]"
        return f"FusedReduce{{{self.reduce_op}, {self.composite.label()}}}{tail}"

    __repr__ = __str__

    def pretty(self, input_strs):
        return f"{self}({', '.join(input_strs)})"
