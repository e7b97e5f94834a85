"""Forward-mode differentiation: `Rop` builds the graph of a Jacobian-vector product.

`Rop(f, wrt, eval_points)` walks the nodes between `wrt` and `f` from the inputs
forwards. Each op's pushforward `R_op(inputs, eval_points)` maps the tangents
of its inputs (None: no tangent) to one tangent per output; an elementwise op
lifts its scalar op's rule `R_op(inputs, output, tangents)`, and a fused
Composite pushes the tangents through its unfused graph. Nothing is computed
twice: the pass is one sweep, each tangent a graph built next to the value it
belongs to, so J v costs a small multiple of f (not one reverse sweep per row).

Conventions (as for `grad`):
- tangents flow only through float variables; integer and bool values are
  piecewise constant, so an integer output has a zero tangent;
- an op whose derivative is zero almost everywhere (floor, sign, comparisons)
  returns None: a zero tangent, while its output still counts as connected;
- an output that does not depend on any `wrt` through float variables is
  *disconnected* (an error by default, zeros with disconnected_outputs='ignore').

`symtheano.gradient` re-exports `Rop` next to `grad`, `Lop` and
`hessian_vector_product`.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Variable, toposort

__all__ = ["Rop", "pushforward", "node_outputs", "sum_tangents", "fit_tangent"]

# The nodes whose R_op is running, innermost last: `node_outputs` hands an op its
# node's own outputs instead of building a duplicate node.
_VISITING = []


def _is_float(v):
    from symtheano.tensor.type import FLOAT_DTYPES, TensorType

    return isinstance(v.type, TensorType) and v.dtype in FLOAT_DTYPES


def node_outputs(op, inputs):
    """The outputs of `op` applied to `inputs`: those of the node being pushed
    forward when it is exactly that application, else of a new node."""
    if _VISITING:
        node = _VISITING[-1]
        if node.op == op and len(node.inputs) == len(inputs) and all(
                a is b for a, b in zip(node.inputs, inputs)):
            return node.outputs
    return op.make_node(*inputs).outputs


def sum_tangents(terms):
    """The sum of the terms that are not None (None when all are): the tangent of
    an output made of contributions from several inputs."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0]
    from symtheano.tensor.basic import add

    return add(*terms)


def fit_tangent(t, out):
    """`t` as the tangent of `out`: out's dtype, ndim and broadcast pattern
    (a tangent that broadcasts where `out` does not is broadcast to out's shape;
    one of unknown size where out has static size 1 is declared so)."""
    from symtheano.tensor.basic import cast, second
    from symtheano.tensor.elemwise import shape_padleft
    from symtheano.tensor.shape import specify_shape
    from symtheano.tensor.var import as_tensor_variable

    t = as_tensor_variable(t)
    if t.ndim > out.ndim:
        raise ValueError(f"a tangent with {t.ndim} dimensions for {out}, which has "
                         f"{out.ndim} (a bug in the op's R_op)")
    if t.ndim < out.ndim:
        t = shape_padleft(t, out.ndim - t.ndim)
    if t.dtype != out.dtype:
        t = cast(t, out.dtype)
    if any(ts == 1 and os != 1 for ts, os in zip(t.type.shape, out.type.shape)):
        t = second(out, t)
    if any(os == 1 and ts != 1 for ts, os in zip(t.type.shape, out.type.shape)):
        t = specify_shape(t, tuple(1 if os == 1 else None for os in out.type.shape))
    return t


def _rule(node, eval_points):
    """The node's output tangents from its input tangents, checked."""
    rop = getattr(node.op, "R_op", None)
    outs = ", ".join(_label(o) for o in node.outputs)
    if rop is None:
        raise NotImplementedError(f"{node.op} has no forward-mode rule (R_op), needed for "
                                  f"the tangent of {outs}")
    _VISITING.append(node)
    try:
        result = rop(list(node.inputs), list(eval_points))
    except NotImplementedError as exc:
        raise NotImplementedError(f"{exc} (the tangent of {outs})") from None
    finally:
        _VISITING.pop()
    if result is None or len(result) != len(node.outputs):
        n = "None" if result is None else len(result)
        raise ValueError(f"{node.op}.R_op returned {n} tangents for {len(node.outputs)} "
                         "outputs (a bug in the op)")
    return result


def _sweep(outputs, seeds):
    """({id: tangent}, {ids of connected variables}) for the nodes between the
    seeded variables and `outputs`. A None tangent of a connected variable is 0."""
    from symtheano.gradient import DisconnectedType

    tangents, connected = {}, set()
    for var, t in seeds:
        tangents[id(var)] = t
        connected.add(id(var))
    seeded = set(tangents)
    for node in toposort(outputs):
        if all(id(o) in seeded for o in node.outputs):
            continue
        if not any(id(i) in connected and _is_float(i) for i in node.inputs):
            continue
        evs = [tangents.get(id(i)) if _is_float(i) else None for i in node.inputs]
        free = [o for o in node.outputs if id(o) not in seeded and _is_float(o)]
        connected.update(id(o) for o in free)
        if all(e is None for e in evs):
            continue  # every input tangent is zero
        for o, t in zip(node.outputs, _rule(node, evs)):
            if id(o) in seeded or not _is_float(o):
                continue
            if isinstance(t, DisconnectedType):
                connected.discard(id(o))
            elif t is not None:
                tangents[id(o)] = fit_tangent(t, o)
    return tangents, connected


def pushforward(outputs, wrt, tangents):
    """The tangents of `outputs` (a list) when each variable of `wrt` moves along
    the matching entry of `tangents` (None: it does not move); None where an
    output's tangent is zero or disconnected. The building block of Rop and of
    the R_op of ops defined by an inner graph (Composite)."""
    seeds = [(w, t) for w, t in zip(wrt, tangents, strict=True) if t is not None]
    found, _ = _sweep(outputs, seeds)
    return [found.get(id(o)) for o in outputs]


# -- Rop -------------------------------------------------------------------------------------

def _label(var):
    where = var.where() if hasattr(var, "where") else ""
    return f"{var} ({var.type}{', created at ' + where if where else ''})"


def _as_point(what, i, v, like, role):
    """Eval point `v` checked against `like` (the wrt or output it belongs to), as a
    variable of like's dtype and static shape; sizes not known statically are
    checked when the function runs (CheckShape, an error naming `v`)."""
    from symtheano.tensor.shape import CheckShape, shape_i, specify_shape
    from symtheano.tensor.var import as_tensor_variable, constant

    if not isinstance(v, Variable):
        arr = np.asarray(v)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"{what}: eval_points[{i}] must be a float array or variable, "
                            f"got {arr.dtype} data")
        # Data takes its variable's dtype, as a Python number does in x * 2.
        v = constant(arr.astype(like.dtype))
    v = as_tensor_variable(v)
    if v.ndim != like.ndim:
        raise ValueError(f"{what}: eval_points[{i}] {_label(v)} has {v.ndim} dimensions, but "
                         f"{role}[{i}] {_label(like)} has {like.ndim}")
    if v.dtype != like.dtype:
        raise TypeError(f"{what}: eval_points[{i}] {_label(v)} has dtype {v.dtype}, but "
                        f"{role}[{i}] {_label(like)} has dtype {like.dtype}; cast it with "
                        f"T.cast(v, {like.dtype!r})")
    unknown = []
    for d, (vs, ls) in enumerate(zip(v.type.shape, like.type.shape)):
        if vs is not None and ls is not None and vs != ls:
            raise ValueError(f"{what}: eval_points[{i}] {_label(v)} has size {vs} in "
                             f"dimension {d}, but {role}[{i}] {_label(like)} has {ls}")
        if ls is None:
            unknown.append(d)
    if unknown and v is not like:
        v = CheckShape(unknown)(v, *[shape_i(like, d) for d in unknown])
    return specify_shape(v, like.type.shape)


def _as_list(x, what, name):
    if isinstance(x, list | tuple):
        return list(x), False
    if x is None:
        raise TypeError(f"{what}: {name} is None")
    return [x], True


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """The Jacobian of `f` with respect to `wrt` times `eval_points`: the directional
    derivative sum_j (df/dwrt_j) eval_points[j], built by forward mode.

    f: a variable or a list/tuple of them; wrt and eval_points: a variable (and its
    tangent) or lists of equal length, each tangent of its wrt's dtype and shape.
    Returns one tangent per f, as a list when f is a list or tuple.
    disconnected_outputs: 'raise', 'warn' or 'ignore' when an f does not depend on
    any wrt; return_disconnected: 'zero' (zeros_like) or 'None' for those.
    Integer and bool outputs have a zero tangent.
    """
    import warnings

    from symtheano.gradient import DisconnectedInputError
    from symtheano.tensor.shape import zeros_like
    from symtheano.tensor.type import upcast
    from symtheano.tensor.var import as_tensor_variable

    if disconnected_outputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"Rop: disconnected_outputs must be 'raise', 'warn' or 'ignore', "
                         f"got {disconnected_outputs!r}")
    if return_disconnected not in ("zero", "None"):
        raise ValueError(f"Rop: return_disconnected must be 'zero' or 'None', got "
                         f"{return_disconnected!r}")
    f_list, single_f = _as_list(f, "Rop", "f")
    f_tuple = isinstance(f, tuple)
    wrt_list, single_wrt = _as_list(wrt, "Rop", "wrt")
    points, single_points = _as_list(eval_points, "Rop", "eval_points")
    if single_wrt != single_points or len(wrt_list) != len(points):
        raise ValueError(f"Rop: wrt and eval_points must match one to one; got "
                         f"{len(wrt_list)} wrt and {len(points)} eval_points")
    for i, w in enumerate(wrt_list):
        if not isinstance(w, Variable):
            raise TypeError(f"Rop: wrt[{i}] must be a symbolic variable, got "
                            f"{type(w).__name__}")
        if not _is_float(w):
            raise TypeError(f"Rop: wrt[{i}] {_label(w)} is not a float variable; forward "
                            "mode moves only float variables (integer and bool values "
                            "are piecewise constant)")
    f_list = [as_tensor_variable(o) for o in f_list]
    points = [_as_point("Rop", i, v, w, "wrt") for i, (w, v) in
              enumerate(zip(wrt_list, points))]
    tangents, connected = _sweep(f_list, list(zip(wrt_list, points)))

    float_dtype = upcast(*[p.dtype for p in points]) if points else "float64"
    results = []
    for i, out in enumerate(f_list):
        if not _is_float(out):
            results.append(zeros_like(out, dtype=float_dtype))
            continue
        t = tangents.get(id(out))
        if t is not None:
            results.append(t)
            continue
        if id(out) in connected:  # a zero tangent (floor, sign, ...)
            results.append(zeros_like(out))
            continue
        message = (f"Rop: f[{i}] {_label(out)} does not depend on any of wrt through float "
                   "variables; pass disconnected_outputs='ignore' for a zero tangent")
        if disconnected_outputs == "raise":
            raise DisconnectedInputError(message)
        if disconnected_outputs == "warn":
            warnings.warn(message, stacklevel=2)
        results.append(zeros_like(out) if return_disconnected == "zero" else None)
    if single_f:
        return results[0]
    return tuple(results) if f_tuple else results
