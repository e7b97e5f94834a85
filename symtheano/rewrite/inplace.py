"""inplace: elementwise ops (Elemwise, Composite, FusedReduce) write into the
buffer of an input that is a dead intermediate, and `check_destroy` proves
that the final graph never reads a value after it was overwritten.

An op that overwrites its input declares it: `destroy_map = {output: [input]}`.
The stage gives a node such a variant (an Elemwise becomes a one-step
Composite) for input V only when all of these hold:
- V is computed by the graph: not a function input, a shared variable's
  storage or a constant, and not a function output;
- the node is V's only reader (and reads it once);
- V owns its memory: the op computing it returns a fresh array, not a view of
  one of its inputs (ops that may return a view: those declaring `view_map`,
  DimShuffle, Reshape, SpecifyShape, ... : every op not known to allocate);
- V has the dtype of the result and its shape (it broadcasts nowhere).

Aliasing is tracked conservatively: an op not listed in `FRESH_OPS` may return
any of its inputs or a view of them, unless it declares a `view_map` (`{}`: it
never returns a view).

BLAS-shaped products (Gemm, Gemv, Ger) get their inplace variant, which writes
the result into the added term (input 0), when that term is a dead intermediate
as above, or when it is the storage of a shared variable that the function
replaces, after the call, with this very node's output (`updates=[(W, W - lr *
dot(x.T, g))]`, Theano's gemm-inplace weight update). The second kind needs
what `function` records on the graph, `fgraph.update_outputs` ({input variable:
index of the output that becomes its new value}), and holds only when every
other reader of W, and of anything that may share its memory (W.T, ...), runs
earlier in the program's order and none of them is a function output. At call
time `Function` hands such a shared value to the program only when nothing
else can see it (see symtheano/compile/function.py); otherwise a copy.

Rewrites: "elemwise_inplace", "blas_inplace" (switch off all with
Mode(excluding=["inplace"])).
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.rewrite.fusion import rebuild
from symtheano.tensor.blas import Dot, MatMul, TensorDot
from symtheano.tensor.composite import Composite, FusedReduce, check_destroyable
from symtheano.tensor.elemwise import Elemwise
from symtheano.tensor.nnet import LogSoftmax, Softmax
from symtheano.tensor.reduce import Argmax, Reduce


def _fresh_ops():
    """Ops whose outputs never share memory with their inputs (checked over every op
    of the registry in tests/rewrite/test_inplace.py; an op may also say so itself
    with `view_map = {}`). Elemwise is fresh except for ELEMWISE_PASS_THROUGH. An op
    that overwrites an input writes its output there: a destroy, not a view."""
    ops = [Composite, FusedReduce, Reduce, Argmax, Dot, TensorDot, MatMul, Softmax, LogSoftmax]
    try:  # the BLAS-shaped products, where present
        from symtheano.tensor import blas_ops

        ops += [getattr(blas_ops, n) for n in ("Gemm", "Gemv", "Ger") if hasattr(blas_ops, n)]
    except ImportError:
        pass
    return tuple(ops)


FRESH_OPS = _fresh_ops()

# Scalar ops whose reference impl may hand back an input unchanged, for inputs of
# these dtype kinds (and add/mul of one input): an Elemwise of them may alias it.
ELEMWISE_PASS_THROUGH = {
    "floor": "iub", "ceil": "iub", "trunc": "iub", "round_half_to_even": "iub",
    "round_half_away_from_zero": "iub", "neg": "b", "sgn": "b",
}


class DestroyError(AssertionError):
    """A graph would read a value after an op overwrote it, or overwrite a value
    it must not (an input, a constant, a function output)."""


def view_pairs(node):
    """(output index, input index) pairs whose arrays may share memory, excluding
    inputs the node destroys (their buffer becomes the output's: see check_destroy)."""
    op = node.op
    if isinstance(op, Elemwise):
        name = op.scalar_op.name
        if name in ("add", "mul"):  # with one input, the impl returns it
            return [(0, 0)] if len(node.inputs) == 1 else []
        kinds = ELEMWISE_PASS_THROUGH.get(name, "")
        return [(0, i) for i, x in enumerate(node.inputs) if np.dtype(x.dtype).kind in kinds]
    view_map = getattr(op, "view_map", None)
    if isinstance(op, FRESH_OPS) and not view_map:
        return []
    if view_map is not None:
        return [(o, i) for o, ins in view_map.items() for i in ins]
    return [(o, i) for o in range(len(node.outputs)) for i in range(len(node.inputs))]


def alias_classes(fgraph, order=None):
    """{variable: representative}: variables that may share memory map to the same
    representative (a union-find over the view relation of every node)."""
    parent = {}

    def find(v):
        root = v
        while parent.get(root, root) is not root:
            root = parent[root]
        while parent.get(v, v) is not root:
            parent[v], v = root, parent[v]
        return root

    for node in order if order is not None else fgraph.toposort():
        for o, i in view_pairs(node):
            a, b = find(node.outputs[o]), find(node.inputs[i])
            if a is not b:
                parent[a] = b
    return find


def check_destroy(fgraph):
    """Prove that running `fgraph`'s nodes in toposort order (as the program does)
    never reads a value after it was overwritten; raise DestroyError otherwise.

    For each input V that a node D destroys: no variable that may share V's memory
    (V's views and what V is a view of) is a function input, a constant or a
    function output, and every node reading one of them runs before D, except D
    itself reading V at the destroyed position."""
    order = fgraph.toposort()
    position = {node: k for k, node in enumerate(order)}
    find = alias_classes(fgraph, order)
    members = {}
    for var in fgraph.variables:
        members.setdefault(find(var), []).append(var)
    inputs = set(fgraph.inputs)
    for node in order:
        for _, destroyed in getattr(node.op, "destroy_map", {}).items():
            for k in destroyed:
                target = node.inputs[k]
                for var in members.get(find(target), [target]):
                    _check_member(fgraph, node, k, target, var, inputs, position)


def replaced_by(fgraph, node, k, var):
    """True when `var` is a function input (a shared variable's storage) that the
    function replaces after the call with an output of `node` that `node` writes
    over its input k (fgraph.update_outputs, recorded by `function`)."""
    j = getattr(fgraph, "update_outputs", {}).get(var)
    if j is None or node.inputs[k] is not var:
        return False
    out = fgraph.outputs[j]
    return any(out is node.outputs[o] and k in ins
               for o, ins in getattr(node.op, "destroy_map", {}).items())


def destroyed_inputs(fgraph):
    """The function inputs that some node may overwrite (each is replaced after the
    call by that node's output; see `replaced_by`)."""
    inputs = set(fgraph.inputs)
    found = []
    for node in fgraph.apply_nodes:
        for ins in getattr(node.op, "destroy_map", {}).values():
            for k in ins:
                var = node.inputs[k]
                if var in inputs and var not in found:
                    found.append(var)
    return found


def _check_member(fgraph, node, k, target, var, inputs, position):
    what = f"{node.op} overwrites {target}"
    alias = "" if var is target else f", which may share memory with {var},"
    if isinstance(var, Constant):
        raise DestroyError(f"{what}{alias} a constant")
    if var in inputs and not (var is target and replaced_by(fgraph, node, k, var)):
        raise DestroyError(f"{what}{alias} a function input or shared variable")
    for client, j in fgraph.clients.get(var, ()):
        if client == "output":
            raise DestroyError(f"{what}{alias} a function output")
        if client is node:
            if var is target and j == k:
                continue
            raise DestroyError(f"{what} while reading{alias[1:-1] or ' it'} as input {j}")
        if position[client] > position[node]:
            raise DestroyError(f"{what}{alias} but {client.op} reads it afterwards")


def _elemwise_type(node):
    if isinstance(node.op, FusedReduce):
        return node.op.elemwise_type(node)
    return node.outputs[0].type


def _destroyable(fgraph, node, k, outputs):
    var = node.inputs[k]
    if var.owner is None or var in outputs or fgraph.clients.get(var) != [(node, k)]:
        return False
    if any(o == var.index for o, _ in view_pairs(var.owner)):
        return False  # var may be a view of something else
    try:
        check_destroyable(node.op, var, _elemwise_type(node))
    except TypeError:
        return False
    return True


def _current_inplace(op):
    if isinstance(op, Composite):
        return op.inplace
    if isinstance(op, FusedReduce):
        return op.composite.inplace
    return None


def _variant_builder(node, inplace):
    """Build `node`'s op in the variant that overwrites input `inplace` (None: none)."""
    op = node.op
    if isinstance(op, Elemwise):
        comp, inputs = Composite.from_nodes([node])
        new_op = comp.with_inplace(inputs.index(node.inputs[inplace]))
    else:
        new_op, inputs = op.with_inplace(inplace), node.inputs
    return lambda get: [new_op(*[get(v) for v in inputs])]


def _owns_memory(var):
    """var is computed by an op that returns fresh memory, not a view."""
    return var.owner is not None and not any(o == var.index for o, _ in view_pairs(var.owner))


def _blas_term_destroyable(fgraph, node, outputs, position, find, members):
    """May the product `node` (Gemm, Gemv, Ger) overwrite its added term, input 0?"""
    var = node.inputs[0]
    if isinstance(var, Constant):
        return False
    if var.owner is not None:  # an intermediate: one reader, fresh memory, not an output
        return (var not in outputs and fgraph.clients.get(var) == [(node, 0)]
                and _owns_memory(var))
    j = getattr(fgraph, "update_outputs", {}).get(var)
    if j is None or fgraph.outputs[j] is not node.outputs[0]:
        return False
    inputs = set(fgraph.inputs)
    for member in members.get(find(var), [var]):
        if member is not var and (member in inputs or isinstance(member, Constant)):
            return False
        for client, i in fgraph.clients.get(member, ()):
            if client == "output":
                return False
            if client is node:
                if member is var and i == 0:
                    continue
                return False
            if position[client] > position[node]:
                return False
    return True


def _blas_inplace(fgraph, ctx, enabled):
    """Choose the inplace variant of every Gemm, Gemv and Ger whose term may be
    overwritten (and the plain op for the others); returns how many changed."""
    from symtheano.tensor.blas_ops import Gemm, Gemv, Ger

    order = fgraph.toposort()
    position = {node: k for k, node in enumerate(order)}
    find = alias_classes(fgraph, order)
    members = {}
    for var in fgraph.variables:
        members.setdefault(find(var), []).append(var)
    outputs = set(fgraph.outputs)
    plan = {}
    for node in order:
        if not isinstance(node.op, Gemm | Gemv | Ger):
            continue
        choice = enabled and _blas_term_destroyable(fgraph, node, outputs, position, find,
                                                    members)
        if choice != node.op.inplace:
            new_op = node.op.with_inplace(choice)
            plan[node] = lambda get, node=node, new_op=new_op: [
                new_op(*[get(v) for v in node.inputs])]
            if choice:
                ctx.report.count("blas_inplace")
    if plan:
        rebuild(fgraph, order, plan)
    return len(plan)


class InplaceStage:
    """The inplace stage (see the module docstring)."""

    name = "inplace"
    rewrites = ("elemwise_inplace", "blas_inplace")

    def run(self, fgraph, ctx):
        changed = self._elemwise(fgraph, ctx)
        changed += _blas_inplace(fgraph, ctx, "blas_inplace" not in ctx.excluding)
        check_destroy(fgraph)
        return changed

    def _elemwise(self, fgraph, ctx):
        enabled = "elemwise_inplace" not in ctx.excluding
        order = fgraph.toposort()
        outputs = set(fgraph.outputs)
        plan = {}
        for node in order:
            if not isinstance(node.op, Elemwise | Composite | FusedReduce):
                continue
            current = _current_inplace(node.op)
            choice = None
            if enabled:
                choice = next((k for k in range(len(node.inputs))
                               if _destroyable(fgraph, node, k, outputs)), None)
            # A destructive op left from an earlier compilation is re-decided here.
            if choice != current:
                plan[node] = _variant_builder(node, choice)
                if choice is not None:
                    ctx.report.count("elemwise_inplace")
        if plan:
            rebuild(fgraph, order, plan)
        return len(plan)


STAGE = InplaceStage()
