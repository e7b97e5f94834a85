"""`ifelse(cond, then, else)`: a lazy conditional. Only the branch that the scalar
`cond` selects is computed; the other is never evaluated, so it may be expensive
or even fail for the inputs at hand.

    from symtheano.ifelse import ifelse
    z = ifelse(T.lt(a, b), T.mean(x), T.mean(y))

Design: an IfElse node holds each branch as its own small graph (`Branch`: fresh
input variables standing for the node's inputs, and the branch's outputs). The
node's inputs are the condition and every variable the branches read, so the
outer graph, its rewrites (merge, constant folding) and the program runners see
one ordinary node, never a branch's nodes. Running the node runs the chosen
branch as a compiled function of its own: `perform` uses the reference back end
and the C linker's emitter (codegen/c/ifelse_emit.py) compiled C, each compiled
the first time its branch is taken. Gradients and forward-mode tangents are
ifelse's of the branches' derivatives, lazy in the same way.
"""

from __future__ import annotations

import threading

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, clone_graph, graph_inputs
from symtheano.tensor.type import FLOAT_DTYPES, TensorType, upcast
from symtheano.tensor.var import as_tensor_variable


class Branch:
    """One side of an IfElse: its outputs as a graph of private input variables.
    Compared by identity (two branches are never merged); compiled functions are
    cached per back end."""

    def __init__(self, inputs, outputs, label):
        self.inputs, self.outputs, self.label = list(inputs), list(outputs), label
        self._functions = {}
        self._lock = threading.Lock()

    def function(self, mode):
        """This branch compiled with `mode` ('PY' or 'C'), on first use."""
        fn = self._functions.get(mode)
        if fn is None:
            from symtheano.compile.function import function

            with self._lock:
                fn = self._functions.get(mode)
                if fn is None:
                    fn = function(self.inputs, self.outputs, mode=mode,
                                  on_unused_input="ignore", name=f"ifelse {self.label}")
                    self._functions[mode] = fn
        return fn

    def rebuild(self, outer_inputs):
        """The branch's outputs computed from `outer_inputs` (a fresh copy of its graph)."""
        outs, _ = clone_graph(self.outputs, dict(zip(self.inputs, outer_inputs, strict=True)))
        return outs

    def __repr__(self):
        return f"<ifelse {self.label} branch: {len(self.outputs)} output(s)>"


class IfElse(Op):
    """outputs = then_branch(inputs) if cond else else_branch(inputs), computing only
    the branch taken. Inputs: the scalar condition, then the variables the
    branches read (in `then_branch.inputs` order)."""

    __props__ = ("then_branch", "else_branch", "name")

    def __init__(self, then_branch, else_branch, name=None):
        self.then_branch, self.else_branch, self.name = then_branch, else_branch, name

    def __str__(self):
        return f"IfElse{{{self.name}}}" if self.name else "IfElse"

    def make_node(self, cond, *inputs):
        cond = _as_condition(cond)
        inputs = [as_tensor_variable(v) for v in inputs]
        for i, (v, inner) in enumerate(zip(inputs, self.then_branch.inputs, strict=True)):
            # Rewrites may hand in a variable that knows more (or fewer) static sizes;
            # the branch function checks sizes when it runs.
            if v.dtype != inner.dtype or v.ndim != inner.ndim:
                raise TypeError(f"ifelse: input {i} ({v}) has type {v.type}, the branches "
                                f"expect {inner.type}")
        outs = [_merged_type(a, b).make_variable()
                for a, b in zip(self.then_branch.outputs, self.else_branch.outputs,
                                strict=True)]
        return Apply(self, [cond] + inputs, outs)

    def _run(self, mode, node, inputs, output_storage):
        branch = self.then_branch if inputs[0] else self.else_branch
        results = branch.function(mode)(*inputs[1:])
        for cell, value, out in zip(output_storage, results, node.outputs, strict=True):
            cell[0] = np.asarray(value, dtype=out.dtype)

    def perform(self, node, inputs, output_storage):
        self._run("PY", node, inputs, output_storage)

    def compiled_perform(self, mode):
        """A perform that runs the chosen branch compiled with `mode` (the C linker's)."""
        def perform(node, inputs, output_storage):
            self._run(mode, node, inputs, output_storage)

        return perform

    def infer_shape(self, node, input_shapes):
        # Static sizes are constants; the others depend on the branch taken, which only
        # running it tells (a shape_i of the output itself: rewrites leave it alone).
        from symtheano.tensor.shape import shape_i

        return [tuple(s if s is not None else shape_i(out, d)
                      for d, s in enumerate(out.type.shape)) for out in node.outputs]

    def L_op(self, inputs, outputs, output_grads):
        from symtheano.gradient import grad
        from symtheano.tensor.shape import zeros_like

        cond, *outer = inputs
        wrt = [i for i, v in enumerate(outer) if v.dtype in FLOAT_DTYPES]
        flows = [k for k, (o, g) in enumerate(zip(outputs, output_grads, strict=True))
                 if o.dtype in FLOAT_DTYPES and g is not None]
        if not wrt or not flows:
            return [None] * len(inputs)

        def branch_grads(branch):
            outs = branch.rebuild(outer)
            known = {outs[k]: output_grads[k] for k in flows
                     if not isinstance(outs[k], Constant)}
            if not known:
                return [zeros_like(outer[i]) for i in wrt]
            return grad(None, [outer[i] for i in wrt], known_grads=known,
                        disconnected_inputs="ignore")

        chosen = ifelse(cond, branch_grads(self.then_branch), branch_grads(self.else_branch),
                        name=f"grad of {self.name}" if self.name else None)
        result = [None] * len(inputs)
        for i, g in zip(wrt, chosen, strict=True):
            result[1 + i] = g
        return result

    def R_op(self, inputs, eval_points):
        from symtheano.rop import Rop

        cond, *outer = inputs
        moving = [i for i, t in enumerate(eval_points[1:])
                  if t is not None and outer[i].dtype in FLOAT_DTYPES]
        float_outs = [k for k, o in enumerate(self.then_branch.outputs)
                      if _merged_type(o, self.else_branch.outputs[k]).dtype in FLOAT_DTYPES]
        if not moving or not float_outs:
            return [None] * len(self.then_branch.outputs)

        def branch_tangents(branch):
            outs = branch.rebuild(outer)
            return Rop([outs[k] for k in float_outs], [outer[i] for i in moving],
                       [eval_points[1 + i] for i in moving], disconnected_outputs="ignore")

        chosen = ifelse(cond, branch_tangents(self.then_branch),
                        branch_tangents(self.else_branch))
        result = [None] * len(self.then_branch.outputs)
        for k, t in zip(float_outs, chosen, strict=True):
            result[k] = t
        return result

    def pretty(self, input_strs):
        return f"ifelse({input_strs[0]}, ...)"


def _as_condition(cond):
    cond = as_tensor_variable(cond)
    if cond.ndim != 0:
        raise TypeError(f"ifelse: the condition {cond} must be a scalar, got {cond.ndim} "
                        f"dimensions {cond.type.describe_shape()}")
    return cond


def _merged_type(a, b):
    """The output type of a branch pair of one dtype and ndim: sizes static in both
    and equal stay static."""
    shape = tuple(x if x == y else None for x, y in zip(a.type.shape, b.type.shape,
                                                        strict=True))
    return TensorType(a.dtype, shape)


def _pair(k, a, b):
    """The k-th outputs of the two branches, converted to one dtype."""
    from symtheano.tensor.basic import cast

    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim != b.ndim:
        raise TypeError(f"ifelse: output {k} has {a.ndim} dimensions in the then branch "
                        f"({a}) but {b.ndim} in the else branch ({b}); both branches must "
                        "give tensors of one ndim")
    dtype = upcast(a.dtype, b.dtype)
    return (a if a.dtype == dtype else cast(a, dtype)), (b if b.dtype == dtype else cast(b, dtype))


def ifelse(condition, then_branch, else_branch, name=None):
    """`then_branch` if the scalar `condition` is non-zero, else `else_branch`, computing
    only the branch taken. Each branch is a variable or a list of variables (of
    equal length); the result is a variable or a list accordingly. Outputs of
    different dtypes are upcast to a common one; their ndim must agree."""
    cond = _as_condition(condition)
    single = not isinstance(then_branch, list | tuple)
    then_list = [then_branch] if single else list(then_branch)
    else_list = [else_branch] if not isinstance(else_branch, list | tuple) else list(
        else_branch)
    if len(then_list) != len(else_list):
        raise ValueError(f"ifelse: the then branch has {len(then_list)} output(s) and the "
                         f"else branch {len(else_list)}; they must have as many")
    if not then_list:
        raise ValueError("ifelse: the branches have no outputs")
    pairs = [_pair(k, a, b) for k, (a, b) in enumerate(zip(then_list, else_list))]
    then_list, else_list = [p[0] for p in pairs], [p[1] for p in pairs]
    outer = []
    seen = set()
    for v in graph_inputs(then_list + else_list):
        if not isinstance(v, Constant) and id(v) not in seen:
            seen.add(id(v))
            outer.append(v)
    inner = [v.type.make_variable(v.name) for v in outer]
    replace = dict(zip(outer, inner, strict=True))
    then_outs, _ = clone_graph(then_list, replace)
    else_outs, _ = clone_graph(else_list, replace)
    op = IfElse(Branch(inner, then_outs, "then"), Branch(inner, else_outs, "else"), name)
    outs = op.make_node(cond, *outer).outputs
    for out in outs:
        if name is not None:
            out.name = name
    return outs[0] if single else outs


__all__ = ["IfElse", "Branch", "ifelse"]
