"""Batching: `vectorize_graph` turns a graph into the graph that computes it for a
whole batch of values of some of its variables at once.

`vectorize_graph(outputs, replace={u: U})` takes U to hold a batch of values of u
along a new leading dimension (U.shape == (B,) + u.shape). Every variable that
depends on u gets that leading dimension too; nodes that do not depend on u are
shared unchanged, so work that is the same for every batch item is done once.
The returned outputs each have the leading batch dimension (an output that does
not depend on u is broadcast along it).

How each node is batched is a *rule* (symtheano/batching_rules.py) registered
for its op class in `BATCHING_RULES` (looked up along the op's MRO): the rule receives the original
node, its new inputs and which of them carry the batch dimension, and returns
the new outputs (each with or without the batch dimension: an output whose ndim
grew by one is batched; `shape(x)` of a batched x, for instance, is not). The
rules map an op onto its batched form: an elementwise op broadcasts an unbatched
input along the batch, a reduction or a softmax shifts its axes, an index gets a
leading full slice, a product becomes a tensordot or one batched matrix product,
a BLAS op or a PaddedSum is rebuilt from its unfused graph and that is batched.

A rule may decline (return None) where the batched form would need batch items
of different shapes, e.g. a reshape to a shape that itself depends on u. Such
nodes, and ops with no rule (ARange, Eye), become `Blockwise(op)`: correct for
every op, but it loops over the batch in Python, calling the op's `perform` once
per item. `fallback_nodes(outputs)` lists them, so a caller (or a test) can check
that a graph was vectorised for real.

`symtheano.derivatives` builds Jacobians and Hessians with it: one reverse sweep
with a symbolic output gradient, batched over the rows of an identity matrix.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op, Variable, ancestors, toposort
from symtheano.tensor import basic as tb
from symtheano.tensor.reduce import sum as sum_
from symtheano.tensor.shape import (
    SpecifyShape,
    alloc,
    shape_i,
    shape_tuple,
)
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import as_tensor_variable

__all__ = ["vectorize_graph", "Blockwise", "fallback_nodes", "batching_rule", "BATCHING_RULES"]

BATCHING_RULES = {}  # op class -> rule(node, inputs, batched) -> new outputs, or None


def batching_rule(*op_classes):
    """Register the decorated function as the batching rule of `op_classes`."""
    def register(rule):
        for cls in op_classes:
            BATCHING_RULES[cls] = rule
        return rule
    return register


def rule_for(op):
    """The batching rule for `op` (the nearest along its class's MRO), or None."""
    from symtheano import batching_rules  # noqa: F401  (registers the rules on first use)

    _register_late_rules()
    for cls in type(op).__mro__:
        if cls in BATCHING_RULES:
            return BATCHING_RULES[cls]
    return None


# -- the transform ----------------------------------------------------------------------------

def vectorize_graph(outputs, replace):
    """The graph of `outputs` computed for a batch of values of the variables in
    `replace` ({u: U}, U holding the batch along a new leading dimension; several
    entries must share one batch size). Returns one variable per output (the same
    structure as `outputs`), each with the batch as its leading dimension.
    """
    single = not isinstance(outputs, list | tuple)
    outs = [as_tensor_variable(o) for o in ([outputs] if single else outputs)]
    if not replace:
        raise ValueError("vectorize_graph: `replace` must map at least one variable to its "
                         "batch of values")
    memo = {}
    for old, new in replace.items():
        memo[id(old)] = _checked_replacement(old, new)
    first = next(iter(memo.values()))
    for node in toposort(outs):
        if all(id(o) in memo for o in node.outputs):
            continue
        inputs = [memo.get(id(i), i) for i in node.inputs]
        batched = [new.ndim == old.ndim + 1 for new, old in zip(inputs, node.inputs)]
        if any(batched):
            results = batch_node(node, inputs, batched)
        elif all(new is old for new, old in zip(inputs, node.inputs)):
            continue
        else:  # inputs replaced by unbatched variables (the shape of a batched value)
            results = node.clone_with_new_inputs(inputs, strict=False).outputs
        for old, new in zip(node.outputs, results):
            memo.setdefault(id(old), new)
    results = []
    for o in outs:
        new = memo.get(id(o), o)
        if new.ndim == o.ndim:  # the same for every item: broadcast along the batch
            new = alloc(new, shape_i(first, 0), *shape_tuple(new))
        results.append(new)
    return results[0] if single else results


def _checked_replacement(old, new):
    new = as_tensor_variable(new)
    if new.ndim != old.ndim + 1:
        raise ValueError(f"vectorize_graph: the batch for {old} (ndim {old.ndim}) must have "
                         f"one more dimension, the leading batch one; got {new} with "
                         f"{new.ndim} {new.type.describe_shape()}")
    if new.dtype != old.dtype:
        raise TypeError(f"vectorize_graph: the batch for {old} must have its dtype "
                        f"{old.dtype}, got {new} of dtype {new.dtype}")
    return _fit_batched(old, new, "vectorize_graph: the batch for")


def _fit_batched(old, new, what):
    """`new` (batched) declared to have `old`'s static sizes in its item dimensions."""
    core = []
    for d, (o, n) in enumerate(zip(old.type.shape, new.type.shape[1:])):
        if o is not None and n is not None and o != n:
            raise ValueError(f"{what} {old} {old.type.describe_shape()} has static size {n} "
                             f"in item dimension {d}: {new} {new.type.describe_shape()}")
        core.append(n if o is None else o)
    shape = (new.type.shape[0],) + tuple(core)
    return new if shape == new.type.shape else SpecifyShape(shape)(new)


def batch_node(node, inputs, batched):
    """The outputs of `node` for the batched `inputs` (by its op's rule, else by a
    Blockwise loop), each checked to keep its dtype and item static shape."""
    rule = rule_for(node.op)
    results = rule(node, inputs, batched) if rule is not None else None
    if results is None:
        results = Blockwise(node.op, batched).make_node(*inputs).outputs
    fitted = []
    for old, new in zip(node.outputs, results, strict=True):
        new = as_tensor_variable(new)
        if new.dtype != old.dtype:
            new = tb.cast(new, old.dtype)
        if new.ndim == old.ndim + 1:
            new = _fit_batched(old, new, f"batching {node.op}: the batched")
        elif new.ndim != old.ndim:
            raise AssertionError(f"the batching rule of {node.op} gave {new} with {new.ndim} "
                                 f"dimensions for {old} with {old.ndim}")
        fitted.append(new)
    return fitted


def fallback_nodes(outputs):
    """The Blockwise nodes (per-item loops) in the graph of `outputs`."""
    outs = outputs if isinstance(outputs, list | tuple) else [outputs]
    return [n for n in toposort(outs) if isinstance(n.op, Blockwise)]


# -- the fallback: a loop over the batch --------------------------------------------------------

class Blockwise(Op):
    """`core_op` applied to each item of a batch: input i carries a leading batch
    dimension where `batched[i]`; every output does. `perform` calls the core op's
    perform once per item (items must give results of one shape) and stacks them.
    Its gradient and pushforward are the core op's, batched by `vectorize_graph`."""

    __props__ = ("core_op", "batched")

    def __init__(self, core_op, batched):
        self.core_op = core_op
        self.batched = tuple(bool(b) for b in batched)

    def __str__(self):
        return f"Blockwise{{{self.core_op}}}"

    def core_node(self, inputs):
        """The core op's node for one item: stand-ins for the batched inputs."""
        stand_ins = [TensorType(x.dtype, x.type.shape[1:]).make_variable() if b else x
                     for x, b in zip(inputs, self.batched, strict=True)]
        node = self.core_op.make_node(*stand_ins)
        for i, (got, want) in enumerate(zip(node.inputs, stand_ins, strict=True)):
            if got.dtype != want.dtype or got.ndim != want.ndim:
                raise TypeError(f"{self}: input {i} ({inputs[i]}) would be converted by "
                                f"{self.core_op} to {got.type}; batch converted inputs")
        return node

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != len(self.batched):
            raise TypeError(f"{self} takes {len(self.batched)} inputs, got {len(inputs)}")
        if not any(self.batched):
            raise ValueError(f"{self}: no input is batched")
        for x, b in zip(inputs, self.batched):
            if b and x.ndim == 0:
                raise TypeError(f"{self}: the batched input {x} has no batch dimension")
        core = self.core_node(inputs)
        sizes = {x.type.shape[0] for x, b in zip(inputs, self.batched) if b} - {None}
        size = sizes.pop() if len(sizes) == 1 else None
        outs = [TensorType(o.dtype, (size,) + o.type.shape).make_variable()
                for o in core.outputs]
        return Apply(self, inputs, outs)

    def _core(self, node):
        core = node.__dict__.get("_blockwise_core")
        if core is None:
            core = node._blockwise_core = self.core_node(node.inputs)
        return core

    def perform(self, node, inputs, output_storage):
        core = self._core(node)
        sizes = {x.shape[0] for x, b in zip(inputs, self.batched) if b}
        if len(sizes) != 1:
            shapes = ", ".join(f"{v} {x.shape}" for v, x, b in
                               zip(node.inputs, inputs, self.batched) if b)
            raise ValueError(f"{self}: the batched inputs have different batch sizes: {shapes}")
        n = sizes.pop()
        copy = bool(getattr(self.core_op, "destroy_map", None))
        items = [[] for _ in node.outputs]
        for k in range(n):
            args = [x[k, ...] if b else x for x, b in zip(inputs, self.batched)]
            if copy:
                args = [np.array(a, copy=True) for a in args]
            storage = [[None] for _ in core.outputs]
            self.core_op.perform(core, args, storage)
            for j, cell in enumerate(storage):
                items[j].append(np.asarray(cell[0]))
        for j, (out, core_out) in enumerate(zip(node.outputs, core.outputs)):
            if n == 0:
                shape = (0,) + tuple(s or 0 for s in core_out.type.shape)
                output_storage[j][0] = np.zeros(shape, dtype=out.dtype)
                continue
            shapes = {a.shape for a in items[j]}
            if len(shapes) != 1:
                raise ValueError(f"{self}: the batch items give results of different shapes "
                                 f"{sorted(shapes)}; a batch must be rectangular")
            output_storage[j][0] = np.stack(items[j]).astype(out.dtype, copy=False)

    def infer_shape(self, node, input_shapes):
        core = self._core(node)
        core_shapes = [tuple(s[1:]) if b else s for s, b in zip(input_shapes, self.batched)]
        shapes = self.core_op.infer_shape(core, core_shapes)
        stand_ins = {id(v) for v, b in zip(core.inputs, self.batched) if b}
        entries = [as_tensor_variable(e) for shp in shapes for e in shp]
        if any(id(v) in stand_ins for v in ancestors(entries)):
            raise NotImplementedError(f"{self}: the item shape depends on item values")
        n = next(s[0] for s, b in zip(input_shapes, self.batched) if b)
        return [(n,) + tuple(shp) for shp in shapes]

    def _batched_graph(self, inputs, build):
        """`build(core node)` -> core variables (None allowed), batched over `inputs`."""
        core = self.core_node(inputs)
        stand_ins = {v: x for v, x, b in zip(core.inputs, inputs, self.batched) if b}
        outs, extra = build(core)
        present = [o for o in outs if o is not None]
        if not present:
            return [None] * len(outs)
        it = iter(vectorize_graph(present, {**stand_ins, **extra}))
        return [None if o is None else next(it) for o in outs]

    def L_op(self, inputs, outputs, output_grads):
        def build(core):
            gouts = [None if g is None else TensorType(g.dtype, g.type.shape[1:])
                     .make_variable() for g in output_grads]
            grads = self.core_op.L_op(core.inputs, core.outputs, gouts)
            extra = dict(zip(core.outputs, outputs))
            extra.update({g: batched for g, batched in zip(gouts, output_grads)
                          if g is not None})
            return [None if g is None else as_tensor_variable(g) for g in grads], extra

        grads = self._batched_graph(inputs, build)
        # An unbatched input is shared by every item: its gradient sums theirs.
        return [g if g is None or b else sum_(g, axis=0)
                for g, b in zip(grads, self.batched)]

    def R_op(self, inputs, eval_points):
        def build(core):
            tangents, extra = [], dict(zip(core.outputs, self.make_node(*inputs).outputs))
            for t, b in zip(eval_points, self.batched):
                if t is not None and b:
                    stand_in = TensorType(t.dtype, t.type.shape[1:]).make_variable()
                    extra[stand_in] = t
                    t = stand_in
                tangents.append(t)
            outs = self.core_op.R_op(core.inputs, tangents)
            return [o if o is None or isinstance(o, Variable) else None for o in outs], extra

        return self._batched_graph(inputs, build)


_LATE = []


def _register_late_rules():
    # gradient.py's ops: imported here, not at the top, so that gradient.py may import
    # the derivatives module (and through it this one) without a cycle.
    if _LATE:
        return
    _LATE.append(True)
    from symtheano.gradient import _GradientBlock

    BATCHING_RULES[_GradientBlock] = lambda node, inputs, batched: [node.op(inputs[0])]
