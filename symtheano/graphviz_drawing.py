"""Drawing a graph with Graphviz: what `symtheano.printing.graphviz` returns.

The picture is a `graphviz.Digraph` (the `graphviz` Python package: only
imported here, when a picture is asked for). Apply nodes are boxes labelled with
their op; root variables (inputs, shared variables) and outputs are ellipses;
constants are small grey boxes; an intermediate value is the edge between the
node that computes it and each node that reads it, labelled with its dtype and
static shape. A fused kernel is one box, or, with `expand_fused=True`, a
cluster (a dashed frame named after the kernel) with one small node per scalar
step, so that what the kernel computes per element can be read off.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant, Variable, toposort

_INPUT = {"shape": "ellipse", "style": "filled", "fillcolor": "#d9ead3"}
_SHARED = {"shape": "ellipse", "style": "filled", "fillcolor": "#fff2cc"}
_OUTPUT = {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe2f3"}
_CONSTANT = {"shape": "box", "style": "filled", "fillcolor": "#eeeeee", "fontsize": "10"}
_OP = {"shape": "box"}
_FUSED = {"shape": "box", "style": "filled,bold", "fillcolor": "#fce5cd"}
_STEP = {"shape": "box", "fontsize": "10", "height": "0.3"}
_LABEL_LIMIT = 48


def _require_graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError("symtheano.printing.graphviz needs the `graphviz` Python package: "
                          "pip install 'symtheano[viz]' (and Graphviz's `dot` program to "
                          "render: apt-get install graphviz, brew install graphviz, ...)"
                          ) from None
    return graphviz


def _short(text, limit=_LABEL_LIMIT):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_label(var):
    dtype = getattr(var.type, "dtype", None)
    shape = getattr(var.type, "shape", None)
    if dtype is None or shape is None:
        return str(var.type)
    dims = ", ".join("?" if n is None else str(n) for n in shape)
    return f"{dtype} ({dims}{',' if len(shape) == 1 else ''})"


def _constant_label(var):
    data = var.data
    if data.size <= 4:
        text = np.array2string(data, separator=", ", threshold=4)
    else:
        text = f"constant {data.dtype} {data.shape}"
    return _short(text, 24)


def _fused_parts(op):
    """(composite, reduce op or None) of a fused kernel, or None for another op."""
    from symtheano.tensor.composite import Composite, FusedReduce

    if isinstance(op, Composite):
        return op, None
    if isinstance(op, FusedReduce):
        return op.composite, op.reduce_op
    return None


def _targets(obj):
    """(outputs, {id(output): label}, roots known as inputs, update labels) of `obj`."""
    from symtheano.compile.function import Function

    if isinstance(getattr(obj, "inner", None), Function):
        obj = obj.inner  # a function with sparse outputs
    if isinstance(obj, Function):
        outputs = list(obj.fgraph.outputs)
        labels = {}
        n_out = len(obj.outputs)
        for i, out in enumerate(outputs):
            if i < n_out:
                labels.setdefault(id(out), f"output {i}" if n_out > 1 else "output")
            else:
                var = obj._updated[i - n_out]
                labels.setdefault(id(out), f"update of {var}")
        return outputs, labels, obj.name
    if isinstance(obj, Variable):
        return [obj], {id(obj): _output_name(obj, 0, 1)}, None
    if isinstance(obj, list | tuple) and all(isinstance(v, Variable) for v in obj):
        outs = list(obj)
        return outs, {id(v): _output_name(v, i, len(outs)) for i, v in enumerate(outs)}, None
    raise TypeError(f"graphviz expects a variable, a list of variables or a compiled function, "
                    f"got {type(obj).__name__}")


def _output_name(var, i, n):
    if var.name is not None:
        return var.name
    return f"output {i}" if n > 1 else "output"


def draw(obj, expand_fused=False, print_type=True, rankdir="TB"):
    """See symtheano.printing.graphviz."""
    graphviz = _require_graphviz()
    outputs, out_labels, title = _targets(obj)
    dot = graphviz.Digraph(name=title or "symtheano", graph_attr={
        "rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11"},
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    if title:
        dot.attr(label=graphviz.escape(title), labelloc="t")
    ids = {}

    def node_id(key):
        return ids.setdefault(key, f"n{len(ids)}")

    def source_of(var):
        """The graph node an edge reading `var` starts from."""
        if var.owner is not None:
            return node_id(("apply", id(var.owner))), var
        key = ("var", id(var))
        if key not in ids:
            if isinstance(var, Constant):
                dot.node(node_id(key), graphviz.escape(_constant_label(var)), **_CONSTANT)
            else:
                style = _SHARED if hasattr(var, "get_value") else _INPUT
                label = var.name if var.name is not None else f"<{var.auto_name}>"
                if print_type:
                    label += "\n" + _type_label(var)
                dot.node(node_id(key), graphviz.escape(label), **style)
        return ids[key], None

    for node in toposort(outputs):
        nid = node_id(("apply", id(node)))
        parts = _fused_parts(node.op) if expand_fused else None
        if parts is not None:
            entry_points = _draw_fused(dot, graphviz, nid, node, *parts)
        else:
            fused = _fused_parts(node.op) is not None
            dot.node(nid, graphviz.escape(_short(str(node.op))), **(_FUSED if fused else _OP))
            entry_points = [nid] * len(node.inputs)
        for var, target in zip(node.inputs, entry_points):
            src, computed = source_of(var)
            label = _type_label(computed) if print_type and computed is not None else ""
            dot.edge(src, target, label=graphviz.escape(label))
    for i, out in enumerate(outputs):
        oid = node_id(("output", i))
        label = out_labels.get(id(out), _output_name(out, i, len(outputs)))
        if print_type:
            label += "\n" + _type_label(out)
        dot.node(oid, graphviz.escape(label), **_OUTPUT)
        src, _ = source_of(out)
        dot.edge(src, oid)
    return dot


def _draw_fused(dot, graphviz, nid, node, composite, reduce_op):
    """Draw a fused kernel as a cluster of its scalar steps; `nid` names its last
    step (where edges leave the kernel). Returns, per node input, the graph node
    that input enters."""
    values = {}  # value index inside the kernel -> graph node id
    first = composite.first_step
    with dot.subgraph(name=f"cluster_{nid}") as box:
        box.attr(label=graphviz.escape(_short(str(node.op), 60)), style="dashed,rounded",
                 color="#e69138", fontsize="10")
        for i in range(composite.nin):
            values[i] = f"{nid}_i{i}"
            box.node(values[i], f"i{i}", shape="circle", fontsize="9", width="0.3",
                     fixedsize="true")
        for j, array in enumerate(composite.constant_arrays):
            values[composite.nin + j] = f"{nid}_c{j}"
            box.node(values[composite.nin + j],
                     graphviz.escape(_short(np.array2string(array, threshold=4), 24)),
                     **_CONSTANT)
        last = len(composite.steps) - 1
        for k, (scalar_op, refs, _) in enumerate(composite.steps):
            sid = nid if (k == last and reduce_op is None) else f"{nid}_s{k}"
            values[first + k] = sid
            box.node(sid, graphviz.escape(str(scalar_op)), **_STEP)
            for r in refs:
                box.edge(values[r], sid)
        if reduce_op is not None:
            box.node(nid, graphviz.escape(_short(str(reduce_op))), **_STEP)
            box.edge(values[first + last], nid)
    return [values[i] for i in range(composite.nin)]
