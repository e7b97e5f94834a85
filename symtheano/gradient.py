"""Reverse-mode differentiation: `grad` builds the graph of a gradient.

`grad` walks the nodes between `wrt` and `cost` from the cost backwards; each
op's `L_op` maps the gradients of its outputs to gradients of its inputs, and
contributions to a variable used in several places are summed. Gradients flow
only through float variables: integer and bool values are piecewise constant.

`Lop` is the vector-Jacobian product (reverse mode from given output
gradients); `Rop`, the Jacobian-vector product, is forward mode and lives in
symtheano/rop.py; `hessian_vector_product` is forward over reverse (the Rop of
a gradient).
"""

from __future__ import annotations

import warnings

import numpy as np

from symtheano.graph.basic import Apply, Op, Variable, toposort
from symtheano.rop import Rop  # noqa: F401  (re-exported: T.Rop, gradient.Rop)
from symtheano.tensor.type import FLOAT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable


class DisconnectedInputError(ValueError):
    """`grad` was asked for a variable the cost does not depend on."""


class GradientError(AssertionError):
    """`verify_grad` found a symbolic gradient that disagrees with finite differences."""

    def __init__(self, message, arg=None, abs_err=None, rel_err=None):
        super().__init__(message)
        self.arg, self.abs_err, self.rel_err = arg, abs_err, rel_err


class DisconnectedType:
    """Returned for a disconnected gradient when return_disconnected='Disconnected'."""

    def __repr__(self):
        return "DisconnectedType()"


def _is_float(v):
    return isinstance(v.type, TensorType) and v.dtype in FLOAT_DTYPES


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", add_names=True,
         known_grads=None, return_disconnected="zero", null_gradients="raise"):
    """Symbolic gradient of scalar `cost` with respect to `wrt` (a variable or a list).

    consider_constant: variables whose gradient is not propagated further.
    disconnected_inputs: 'raise', 'warn' or 'ignore' when cost does not depend on wrt.
    known_grads: {variable: gradient} to start from (cost may then be None).
    return_disconnected: 'zero' (zeros_like), 'None' or 'Disconnected'.
    """
    from symtheano.tensor.shape import ones_like, zeros_like

    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"disconnected_inputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError(f"return_disconnected must be 'zero', 'None' or 'Disconnected', "
                         f"got {return_disconnected!r}")
    single = not isinstance(wrt, list | tuple)
    wrt_list = [wrt] if single else list(wrt)
    for i, w in enumerate(wrt_list):
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt[{i}] must be a symbolic variable, got "
                            f"{type(w).__name__}")

    seeds = {}
    if cost is not None:
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar (0-d), got {cost} with "
                            f"{cost.ndim} dimensions {cost.type.describe_shape()}; "
                            "take its sum or mean, or use known_grads / jacobian")
        if not _is_float(cost):
            raise TypeError(f"grad: the cost {cost} has dtype {cost.dtype}; only float "
                            "costs can be differentiated")
        # d cost / d cost = 1, written as fill(cost, 1) so that the gradient graph
        # depends on the cost's inputs even where the derivative is a constant.
        seeds[cost] = ones_like(cost)
        if not consider_constant and not known_grads and all(w.owner is None for w in wrt_list):
            # Differentiate the numerically stable form of the cost (log(sigmoid(x)) as
            # -softplus(-x), ...): the derivative is the same function, but its formula
            # then stays finite where the naive one gives inf * 0.
            from symtheano.rewrite.pipeline import stabilized

            (stable,) = stabilized([cost])
            if stable is not cost:
                stable.name = cost.name
                seeds = {stable: ones_like(stable)}
                cost = stable
    for var, g in (known_grads or {}).items():
        g = as_tensor_variable(g)
        if g.ndim != var.ndim:
            raise ValueError(f"grad: known gradient of {var} has {g.ndim} dimensions, "
                             f"expected {var.ndim}")
        seeds[var] = g
    if not seeds:
        raise ValueError("grad: give a cost, or known_grads")

    blocked = set(consider_constant or ())
    grads = _backpropagate(list(seeds), seeds, wrt_list, blocked)

    results = []
    for w in wrt_list:
        g = grads.get(w)
        if g is not None:
            results.append(g)
            continue
        if not _is_float(w):
            # Theano's convention: the gradient with respect to a discrete input is 0.
            results.append(zeros_like(w, dtype="float64" if w.dtype != "float32" else
                                      "float32"))
            continue
        message = (f"grad: the cost does not depend on {w}"
                   f"{' (created at ' + w.where() + ')' if w.where() else ''}; pass "
                   "disconnected_inputs='ignore' to get a zero gradient")
        if disconnected_inputs == "raise":
            raise DisconnectedInputError(message)
        if disconnected_inputs == "warn":
            warnings.warn(message, stacklevel=2)
        results.append({"zero": lambda w=w: zeros_like(w), "None": lambda: None,
                        "Disconnected": DisconnectedType}[return_disconnected]())
    if add_names and cost is not None and cost.name:
        for w, g in zip(wrt_list, results):
            if isinstance(g, Variable) and g.name is None and w.name:
                g.name = f"(d{cost.name}/d{w.name})"
    return results[0] if single else results


def _backpropagate(sources, seeds, wrt, blocked):
    """{variable: gradient} for every variable between `wrt` and `sources`."""
    from symtheano.tensor.basic import add, cast
    from symtheano.tensor.shape import zeros_like

    # Only nodes that lie on a path from some wrt to a source need a gradient.
    wrt_ids = set(map(id, wrt))
    depends = set()  # ids of variables that depend on some wrt
    nodes = toposort(sources)
    for node in nodes:
        if any(id(i) in wrt_ids or id(i) in depends for i in node.inputs
               if i not in blocked):
            depends.update(id(o) for o in node.outputs)

    contributions = {}
    for var, g in seeds.items():
        contributions.setdefault(var, []).append(g)

    def total(var):
        parts = contributions.get(var)
        if not parts:
            return None
        g = parts[0] if len(parts) == 1 else add(*parts)
        if g.dtype != var.dtype and var.dtype in FLOAT_DTYPES:
            g = cast(g, var.dtype)
        contributions[var] = [g]
        return g

    for node in reversed(nodes):
        if not any(id(o) in depends for o in node.outputs):
            continue
        if not any(o in contributions and _is_float(o) for o in node.outputs):
            continue
        if any(o in blocked for o in node.outputs):
            continue
        out_grads = []
        for o in node.outputs:
            g = total(o) if _is_float(o) else None
            out_grads.append(g if g is not None else (
                zeros_like(o) if _is_float(o) else None))
        in_grads = node.op.L_op(node.inputs, node.outputs, out_grads)
        if len(in_grads) != len(node.inputs):
            raise ValueError(f"{node.op}.L_op returned {len(in_grads)} gradients for "
                             f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if g is None or not _is_float(inp) or inp in blocked:
                continue
            if not (id(inp) in wrt_ids or id(inp) in depends):
                continue
            g = as_tensor_variable(g)
            if g.ndim != inp.ndim:
                raise ValueError(f"{node.op} produced a gradient with {g.ndim} dimensions "
                                 f"for its input {inp} with {inp.ndim} (a bug in the op)")
            contributions.setdefault(inp, []).append(g)
    return {w: total(w) for w in wrt if w in contributions}


class _GradientBlock(Op):
    """Identity in the forward pass; its gradient is zero (`zero_grad`) or absent
    (`disconnected_grad`)."""

    __props__ = ("kind",)
    view_map = {0: [0]}

    def __init__(self, kind):
        self.kind = kind

    def make_node(self, x):
        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type.make_variable()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, node, input_shapes):
        return input_shapes

    def grad(self, inputs, output_grads):
        if self.kind == "zero":
            from symtheano.tensor.shape import zeros_like

            return [zeros_like(inputs[0])]
        return [None]

    def R_op(self, inputs, eval_points):
        # The block works both ways: zero_grad's output has a zero tangent,
        # disconnected_grad's none at all.
        return [None if self.kind == "zero" else DisconnectedType()]

    def pretty(self, input_strs):
        return f"{self.kind}_grad({input_strs[0]})"


def zero_grad(x):
    """x in the forward pass; a zero gradient flows back through it."""
    return _GradientBlock("zero")(x)


def disconnected_grad(x):
    """x in the forward pass; no gradient flows back through it (as if constant)."""
    return _GradientBlock("disconnected")(x)


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """The vector-Jacobian product: sum_i eval_points[i] . d f[i] / d wrt, by reverse
    mode started from the given output gradients (`grad` with known_grads).

    f and eval_points: a variable and its cotangent (of f's dtype and shape) or
    lists of equal length; wrt: a variable or a list. Returns one gradient per wrt,
    as a list when wrt is a list or tuple. Integer wrt get zeros (as in `grad`).
    """
    from symtheano.rop import _as_list, _as_point, _label

    f_list, single_f = _as_list(f, "Lop", "f")
    points, single_points = _as_list(eval_points, "Lop", "eval_points")
    if single_f != single_points or len(f_list) != len(points):
        raise ValueError(f"Lop: f and eval_points must match one to one; got {len(f_list)} "
                         f"f and {len(points)} eval_points")
    wrt_list, single_wrt = _as_list(wrt, "Lop", "wrt")
    f_list = [as_tensor_variable(o) for o in f_list]
    known = {}
    for i, (out, v) in enumerate(zip(f_list, points)):
        if not _is_float(out):
            raise TypeError(f"Lop: f[{i}] {_label(out)} is not a float variable; only float "
                            "outputs carry gradients")
        v = _as_point("Lop", i, v, out, "f")
        known[out] = known[out] + v if out in known else v
    results = grad(None, wrt_list, consider_constant=consider_constant,
                   disconnected_inputs=disconnected_inputs, known_grads=known)
    return results[0] if single_wrt else results


def hessian_vector_product(cost, wrt, v, consider_constant=None, disconnected_inputs="raise"):
    """H v, the Hessian of the scalar `cost` with respect to `wrt` times `v`, built
    forward over reverse: the Rop of the gradient along v, a few times the cost of
    one gradient (the dense Hessian is never formed).

    wrt and v: a variable and a direction of its shape, or lists of equal length;
    returns one block sum_j H_ij v_j per wrt (a list when wrt is a list or tuple).
    """
    single = not isinstance(wrt, list | tuple)
    wrt_list = [wrt] if single else list(wrt)
    v_list = [v] if not isinstance(v, list | tuple) else list(v)
    if len(v_list) != len(wrt_list) or single != (not isinstance(v, list | tuple)):
        raise ValueError(f"hessian_vector_product: wrt and v must match one to one; got "
                         f"{len(wrt_list)} wrt and {len(v_list)} v")
    for i, w in enumerate(wrt_list):
        if not isinstance(w, Variable) or not _is_float(w):
            raise TypeError(f"hessian_vector_product: wrt[{i}] must be a float variable, "
                            f"got {w!r}")
    grads = grad(cost, wrt_list, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
    hv = Rop(grads, wrt_list, v_list, disconnected_outputs="ignore")
    return hv[0] if single else hv


def verify_grad(fun, pt, n_tests=2, rng=None, eps=None, out_type=None, abs_tol=None,
                rel_tol=None, mode=None, cast_to_output_type=False, no_debug_ref=True):
    """Check the symbolic gradient of `fun` at the point `pt` (a list of arrays)
    against central finite differences; raise GradientError on disagreement.

    The scalar tested is sum(fun(*inputs) * r) for a random projection r, so
    every output element takes part.
    """
    from symtheano.compile.function import function
    from symtheano.tensor import reduce as tr

    rng = rng if rng is not None else np.random.default_rng(42)
    if isinstance(rng, np.random.RandomState):
        rng = np.random.default_rng(int(rng.randint(2**31)))
    pt = [np.array(p, dtype=p.dtype if hasattr(p, "dtype") else "float64") for p in pt]
    for i, p in enumerate(pt):
        if p.dtype.name not in FLOAT_DTYPES:
            raise TypeError(f"verify_grad: point {i} has dtype {p.dtype}; use float arrays")
    dtype = "float32" if all(p.dtype == np.float32 for p in pt) else "float64"
    eps = eps if eps is not None else (1e-2 if dtype == "float32" else 1e-6)
    abs_tol = abs_tol if abs_tol is not None else (1e-2 if dtype == "float32" else 1e-5)
    rel_tol = rel_tol if rel_tol is not None else (1e-2 if dtype == "float32" else 1e-5)

    # Size-1 dimensions are declared broadcastable, so points may broadcast.
    inputs = [TensorType(p.dtype, tuple(1 if s == 1 else None for s in p.shape))
              .make_variable(f"input_{i}")
              for i, p in enumerate(pt)]
    out = as_tensor_variable(fun(*inputs))
    f_out = function(inputs, out, mode=mode, on_unused_input="ignore")
    out_shape = np.shape(f_out(*pt))
    for _ in range(n_tests):
        proj = rng.uniform(0.5, 1.5, size=out_shape).astype(out.dtype)
        cost = tr.sum(out * proj)
        f_cost = function(inputs, cost, mode=mode, on_unused_input="ignore")
        symbolic = function(inputs, grad(cost, inputs, disconnected_inputs="ignore"),
                            mode=mode, on_unused_input="ignore")(*pt)
        for i, p in enumerate(pt):
            numeric = np.zeros_like(p, dtype="float64")
            flat = numeric.reshape(-1)
            for j in range(p.size):
                plus = [q.copy() for q in pt]
                minus = [q.copy() for q in pt]
                plus[i].reshape(-1)[j] += eps
                minus[i].reshape(-1)[j] -= eps
                flat[j] = (float(f_cost(*plus)) - float(f_cost(*minus))) / (2 * eps)
            sym = np.asarray(symbolic[i], dtype="float64")
            abs_err = np.abs(sym - numeric)
            rel_err = abs_err / np.maximum(np.abs(sym) + np.abs(numeric), 1e-8)
            bad = (abs_err > abs_tol) & (rel_err > rel_tol)
            if np.any(bad):
                pos = np.unravel_index(np.argmax(np.where(bad, abs_err, -1)), p.shape)
                raise GradientError(
                    f"verify_grad: gradient of input {i} (shape {p.shape}) disagrees with "
                    f"central differences (eps={eps}) at index {tuple(map(int, pos))}: "
                    f"symbolic {sym[pos]!r}, numeric {numeric[pos]!r}; max abs error "
                    f"{abs_err.max():.3g} (tol {abs_tol}), max rel error {rel_err.max():.3g} "
                    f"(tol {rel_tol})", arg=i, abs_err=abs_err.max(), rel_err=rel_err.max())


def __getattr__(name):
    # jacobian and hessian live in symtheano/derivatives.py (with the batching
    # transform they need); re-exported here on first use, so that importing
    # this module, which every gradient does, does not load them.
    if name in ("jacobian", "hessian"):
        from symtheano import derivatives

        return getattr(derivatives, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
