"""Looking at graphs: `pp` (compact infix math), `debugprint` (a tree with
types and static shapes, for a variable, a list of them or a compiled function:
then its rewritten graph and the rewrites that fired) and `graphviz` (a picture,
as a `graphviz.Digraph`; in symtheano/graphviz_drawing.py).
"""

from __future__ import annotations

import sys

from symtheano.graph.basic import Constant, Variable, toposort


def _leaf_label(var):
    if isinstance(var, Constant):
        return str(var)
    if var.name is not None:
        return var.name
    return f"<{var.type}>"


def pp(var):
    """A one-line infix rendering of `var`'s graph, e.g. '((x ** 2) + sin(y))'."""
    if isinstance(var, list | tuple):
        return "\n".join(pp(v) for v in var)
    if not isinstance(var, Variable):
        raise TypeError(f"pp expects a symbolic variable, got {type(var).__name__}")
    text = {}
    for node in toposort([var]):
        strs = []
        for inp in node.inputs:
            if inp.owner is None or id(inp) not in text:
                strs.append(text.get(id(inp), _leaf_label(inp)))
            else:
                strs.append(text[id(inp)])
        rendered = node.op.pretty(strs)
        if rendered is None:
            rendered = f"{node.op}({', '.join(strs)})"
        for i, out in enumerate(node.outputs):
            text[id(out)] = rendered if len(node.outputs) == 1 else f"{rendered}[{i}]"
    return text.get(id(var), _leaf_label(var))


def short_label(var, limit=60):
    """`var`'s name, or its expression shortened to `limit` characters (for errors)."""
    if var.name is not None or var.owner is None:
        return _leaf_label(var)
    text = pp(var)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _ids():
    """Short labels A, B, ..., Z, BA, BB, ... for debugprint."""
    n = 0
    while True:
        k, label = n, ""
        while True:
            label = chr(ord("A") + k % 26) + label
            k //= 26
            if k == 0:
                break
        yield label
        n += 1


def debugprint(obj, file=None, print_type=True, depth=-1, ids="CHAR", print_view=False,
               print_rewrites=True):
    """Print the graph of `obj` as an indented tree.

    obj: a variable, a list of variables, or a compiled Function (its rewritten
    graph, followed by the rewrites that fired when `print_rewrites`). A node
    printed before shows only its id the next time. file: a stream, or "str" to
    return the text; by default it prints to stdout.
    """
    from symtheano.compile.function import Function

    header, footer = [], []
    if isinstance(getattr(obj, "inner", None), Function):
        obj = obj.inner  # a function with sparse outputs: its inner function
    if isinstance(obj, Function):
        outputs = list(obj.fgraph.outputs)
        header.append(f"{obj!r}")
        if print_rewrites:
            footer = _rewrites_fired(obj)
    elif isinstance(obj, Variable):
        outputs = [obj]
    elif isinstance(obj, list | tuple):
        outputs = list(obj)
    else:
        raise TypeError(f"debugprint expects a variable, a list or a function, got "
                        f"{type(obj).__name__}")
    labels, gen = {}, _ids()
    lines = list(header)
    for out in outputs:
        _print_tree(out, lines, labels, gen, print_type, depth)
    lines.extend(footer)
    text = "\n".join(lines) + "\n"
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return file


def _rewrites_fired(fn):
    """Lines saying which rewrites changed a compiled function's graph."""
    report = getattr(fn, "report", None)
    if report is None:
        return []
    lines = [f"Rewrites: {report.nodes_before} nodes -> {report.nodes_after} nodes"]
    fired = sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0]))
    lines.extend(f"  {n:4d} x {name}" for name, n in fired)
    if not fired:
        lines.append("  (none fired)")
    return lines


def graphviz(obj, expand_fused=False, print_type=True, rankdir="TB"):
    """A picture of the graph of `obj` (a variable, a list of them or a compiled
    Function) as a `graphviz.Digraph`: `.pipe(format="png")` gives PNG bytes,
    `.render(path, format="svg")` writes a file, and Jupyter shows it inline.

    Ops are boxes, inputs and outputs ellipses, constants small grey boxes; an
    edge carries the value's dtype and static shape when `print_type`. A fused
    kernel (Composite, FusedReduce) is one box; with `expand_fused=True` it is
    drawn as a cluster holding its scalar steps. Needs the `graphviz` package
    (`pip install 'symtheano[viz]'`) and, to render, Graphviz's `dot` program.
    """
    from symtheano.graphviz_drawing import draw

    return draw(obj, expand_fused=expand_fused, print_type=print_type, rankdir=rankdir)


def _describe(var, labels, gen, print_type):
    owner = var.owner
    if owner is not None:
        name = str(owner.op)
        if len(owner.outputs) > 1:
            name += f".{owner.outputs.index(var)}"
        key = id(owner)
    else:
        name = _leaf_label(var)
        key = id(var)
    seen = key in labels
    if not seen:
        labels[key] = next(gen)
    text = f"{name} [id {labels[key]}]"
    if print_type:
        text += f" <{var.type}>"
    if owner is not None and var.name:
        text += f" '{var.name}'"
    return text, seen


def _print_tree(root, lines, labels, gen, print_type, depth):
    # Iterative depth-first walk so that very deep graphs print without recursion.
    stack = [(root, "", 0)]
    while stack:
        var, prefix, level = stack.pop()
        text, seen = _describe(var, labels, gen, print_type)
        lines.append(prefix + text)
        if seen or var.owner is None or (depth >= 0 and level >= depth):
            continue
        child_prefix = prefix.replace("|", " ") + " |" if prefix else " |"
        for inp in reversed(var.owner.inputs):
            stack.append((inp, child_prefix, level + 1))

