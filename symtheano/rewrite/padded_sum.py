"""padded_sum: sums of slices written into zeros become one PaddedSum op.

The pattern is what reverse mode produces for a cost reading shifted slices of
a variable (`x[1:]`, `x[:-1]`): the gradient of each slice is written into an
array of zeros, and the parts are added,

    add(inc_subtensor(zeros[:-1], e1), inc_subtensor(zeros[1:], e2), e3)

(or a single `inc_subtensor(zeros[1:], e)`). It becomes PaddedSum (see
tensor/padded_sum.py), and the elementwise subgraphs computing e1, e2, ... move
into its terms, so that a compiled back end makes one pass over the output
instead of one per term plus one per array of zeros.

Moving an elementwise node into a term is allowed when everything that reads it
is inside this PaddedSum (other moved nodes, or the replaced nodes), so no
value is computed both inside and outside, or when it is cheap arithmetic
(CHEAP), which is then copied in and also stays where it is for its other
readers: with cost and gradient in one function, `x[1:] - x[:-1] ** 2` is read
by the cost's sum and by the gradient's terms, and materialising it for both
took more passes over memory (and, on every call, fresh pages from the system)
than computing it twice. A node read by two terms is copied into both: each
term evaluates it at its own positions of the output, so the copies compute
different elements, except where the boxes are shifted copies of one range
(`x[1:]`, `x[:-1]`), where the element computed at one position by one term is
computed again at the next by the other. That doubles the work of that node,
which is worth it for arithmetic (the pass over memory costs more) and not for
a transcendental function: such a node stays outside when two terms, or a
term and a reader outside, read it. Runs first in the fusion stage (rewrite
name "padded_sum").
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.tensor.basic import Add, Second, cast
from symtheano.tensor.composite import Composite, is_left_pad
from symtheano.tensor.elemwise import Elemwise
from symtheano.tensor.padded_sum import PaddedSum, Term
from symtheano.tensor.shape import Alloc, shape_i
from symtheano.tensor.subtensor import IncSubtensor, Slice

# Scalar ops cheap enough to evaluate twice rather than materialise (see above).
CHEAP = frozenset({
    "add", "sub", "mul", "neg", "sqr", "true_div", "int_div", "abs", "maximum", "minimum",
    "second", "identity", "cast", "switch", "lt", "gt", "le", "ge", "eq", "neq",
})


def _zeros_shape(z):
    """(what gives its shape, its sizes as int64 scalars) when `z` is an array of +0.0
    (second(x, 0): x; alloc(0, *shape): the shape's variables), else None."""
    owner = z.owner
    if owner is None:
        return None
    if isinstance(owner.op, Elemwise) and isinstance(owner.op.scalar_op, Second):
        like, value = owner.inputs
        if like.ndim != z.ndim or not _is_positive_zero(value):
            return None
        return (like,), [shape_i(like, d) for d in range(z.ndim)]
    if isinstance(owner.op, Alloc):
        value, *dims = owner.inputs
        if len(dims) != z.ndim or not _is_positive_zero(value):
            return None
        return tuple(dims), [d if d.dtype == "int64" else cast(d, "int64") for d in dims]
    return None


def _is_positive_zero(value):
    return (isinstance(value, Constant) and value.data.size > 0 and not np.any(value.data)
            and not np.any(np.signbit(value.data)))


def _box(op):
    """The IncSubtensor's index as a PaddedSum box, or None when it is not one."""
    box = []
    for e in op.idx_list:
        if not isinstance(e, Slice) or e.step not in (None, 1):
            return None
        if not all(p is None or isinstance(p, int) for p in (e.start, e.stop)):
            return None
        box.append((e.start, e.stop))
    return tuple(box) or None  # x[()] writes the whole array: no box to pad


def _inc_term(fgraph, var, out):
    """(Term kind, box, value, zeros sizes) when `var` is a slice of zeros set or
    incremented by a value of `out`'s dtype, read only where it is replaced."""
    node = var.owner
    if node is None or type(node.op) is not IncSubtensor or len(node.inputs) != 2:
        return None
    z, value = node.inputs
    box = _box(node.op)
    sizes = _zeros_shape(z)
    if box is None or sizes is None or value.ndim != z.ndim or value.dtype != out.dtype:
        return None
    if z.dtype != out.dtype or any(zs == 1 and os != 1
                                   for zs, os in zip(z.type.shape, out.type.shape)):
        return None
    kind = "set" if node.op.set_instead_of_inc else "inc"
    return kind, box, value, sizes


def _same_shape(a, b):
    """Do the zeros described by `a` and `b` (from _zeros_shape) have one shape?"""
    return len(a[0]) == len(b[0]) and all(
        x is y or (isinstance(x, Constant) and isinstance(y, Constant) and x.data == y.data)
        for x, y in zip(a[0], b[0]))


def _candidate(fgraph, node):
    """(terms as (kind, box, value), sizes, replaced nodes) for a node to replace."""
    out = node.outputs[0]
    if out.ndim == 0:
        return None
    if isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Add):
        if out.dtype != node.inputs[0].dtype or any(i.ndim != out.ndim or i.dtype != out.dtype
                                                    for i in node.inputs):
            return None
        terms, sizes, replaced = [], None, {node}
        for inp in node.inputs:
            found = _inc_term(fgraph, inp, out)
            single = len(fgraph.clients.get(inp, ())) == 1
            if found is not None and single and (sizes is None or _same_shape(sizes, found[3])):
                kind, box, value, sizes = found
                terms.append((kind, box, value))
                replaced.add(inp.owner)
            else:
                terms.append(("full", (), inp))
        if sizes is None:
            return None
        return terms, sizes[1], replaced
    found = _inc_term(fgraph, out, out)
    if found is None:
        return None
    clients = fgraph.clients.get(out, ())
    if len(clients) == 1 and clients[0][0] != "output" and _candidate(
            fgraph, clients[0][0]) is not None:
        return None  # the add reading it takes it
    kind, box, value, sizes = found
    return [(kind, box, value)], sizes[1], {node}


def _absorbable(node):
    return isinstance(node.op, Elemwise) or is_left_pad(node)


def _members(fgraph, terms, replaced, position):
    """The elementwise nodes that move into the terms (see the module docstring)."""
    reach = {}  # node -> set of term indices whose value depends on it through members
    for k, (_, _, value) in enumerate(terms):
        stack = [value]
        while stack:
            v = stack.pop()
            n = v.owner
            if n is None or not _absorbable(n) or k in reach.get(n, ()):
                continue
            reach.setdefault(n, set()).add(k)
            stack.extend(n.inputs)
    members = {n for n, ks in reach.items() if len(ks) == 1 or _cheap(n)}
    # A member that is also needed outside the sum (read by an output or a node that
    # stays, directly or through members that are needed outside) is copied: cheap
    # nodes only. Any other becomes an input of the terms; dropping it can make more
    # members needed outside, hence the loop.
    changed = True
    while changed:
        changed = False
        outside = set()
        for n in sorted(members, key=position.__getitem__, reverse=True):  # readers first
            for client, _ in fgraph.clients.get(n.outputs[0], ()):
                if client == "output" or client in outside or (
                        client not in members and client not in replaced):
                    outside.add(n)
                    break
        for n in outside:
            if not _cheap(n):
                members.discard(n)
                changed = True
    return members


def _cheap(node):
    """A node cheap enough to evaluate twice rather than materialise (see above)."""
    return is_left_pad(node) or (isinstance(node.op, Elemwise)
                                 and node.op.scalar_op.name in CHEAP)


def _term(kind, box, value, members, position):
    """(Term, outer inputs) with the members computing `value` moved into it."""
    nodes, seen, stack = [], set(), [value]
    while stack:
        n = stack.pop().owner
        if n is None or n not in members or n in seen:
            continue
        seen.add(n)
        nodes.append(n)
        stack.extend(n.inputs)
    if not any(isinstance(n.op, Elemwise) for n in nodes):
        return Term(kind, box, None, 1), [value]
    nodes.sort(key=position.__getitem__)
    comp, outer = Composite.from_nodes(nodes)
    return Term(kind, box, comp, len(outer)), outer


def padded_sums(fgraph):
    """Replace every sum of slices of zeros in `fgraph` by a PaddedSum; returns how many."""
    order = fgraph.toposort()
    position = {n: k for k, n in enumerate(order)}
    done = set()
    pairs = []
    for node in reversed(order):
        if node in done:
            continue
        found = _candidate(fgraph, node)
        if found is None:
            continue
        terms, sizes, replaced = found
        members = _members(fgraph, terms, replaced, position)
        built, inputs = [], list(sizes)
        for kind, box, value in terms:
            term, outer = _term(kind, box, value, members, position)
            built.append(term)
            inputs.extend(outer)
        out = node.outputs[0]
        new = PaddedSum(built, out.dtype, out.type.shape)(*inputs)
        new.name = out.name
        pairs.append((out, new))
        done.update(replaced)
        done.update(members)
    if pairs:
        fgraph.replace_all(pairs, "padded_sum")
    return len(pairs)
