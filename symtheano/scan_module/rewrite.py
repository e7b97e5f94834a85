"""Rewrites of Scan nodes in the outer graph (the inner graph is rewritten by
the whole pipeline when the loop is compiled, see op.py and native.py).

"scan_pushout_invariant" (canonicalize): a computation inside the loop that
depends only on non-sequences and constants gives the same value at every
step, so it is computed once before the loop and read as a new non-sequence.
Non-sequences nothing reads any more are dropped.
"""

from __future__ import annotations

from symtheano.graph.basic import Constant, clone_graph, graph_inputs, toposort
from symtheano.rewrite import canonicalize
from symtheano.rewrite.engine import node_rewriter
from symtheano.scan_module.op import Scan


def _invariant_nodes(op):
    """The inner nodes that depend only on non-sequences and constants (and on at
    least one non-sequence: pure constants are folded inside the loop)."""
    invariant = set(map(id, op.nonseq_inputs()))
    found = []
    for n in toposort(op.inner_outputs):
        if not n.inputs:
            continue
        if all(isinstance(i, Constant) or id(i) in invariant for i in n.inputs) and any(
                id(i) in invariant for i in n.inputs):
            invariant.update(id(o) for o in n.outputs)
            found.append(n)
    return found


@node_rewriter([Scan], name="scan_pushout_invariant")
def scan_pushout_invariant(fgraph, node):
    """scan(step reading f(non-sequences)) -> scan(step reading v), v = f(...) once"""
    op = node.op
    moved = _invariant_nodes(op)
    if not moved:
        return None
    moved_ids = set(map(id, moved))
    frontier, seen = [], set()

    def read(v):
        if v.owner is not None and id(v.owner) in moved_ids and id(v) not in seen:
            seen.add(id(v))
            frontier.append(v)

    for n in toposort(op.inner_outputs):
        if id(n) not in moved_ids:
            for i in n.inputs:
                read(i)
    for o in op.inner_outputs:
        read(o)

    s_seq, s_init, s_carry, s_nonseq = op.outer_slices()
    nonseq_in, nonseq_out = op.nonseq_inputs(), node.inputs[s_nonseq]
    values, _ = clone_graph(frontier, dict(zip(nonseq_in, nonseq_out)))
    new_in = [v.type.make_variable(f"{v.name or 'invariant'}") for v in frontier]
    inner_outs, _ = clone_graph(list(op.inner_outputs), dict(zip(frontier, new_in)))
    used = set(map(id, graph_inputs(inner_outs)))
    keep = [k for k, p in enumerate(nonseq_in) if id(p) in used]
    first_nonseq = len(op.inner_inputs) - op.n_nonseq
    inputs = list(op.inner_inputs[:first_nonseq]) + [nonseq_in[k] for k in keep] + new_in
    labels = {key: label for key, label in op.labels.items()
              if key[0] == "out" or key[1] < s_nonseq.start}
    for pos, k in enumerate(keep):
        labels[("in", s_nonseq.start + pos)] = op.in_labels[s_nonseq.start + k]
    for pos in range(len(new_in)):
        labels[("in", s_nonseq.start + len(keep) + pos)] = "a value computed before the loop"
    new_op = Scan(inputs, inner_outs, op.n_seqs, op.mit_taps, op.n_nit, op.n_carry,
                  truncate_gradient=op.truncate_gradient, name=op.name, labels=labels)
    outer = list(node.inputs[:s_nonseq.start]) + [nonseq_out[k] for k in keep] + values
    return new_op.make_node(*outer).outputs


canonicalize.STAGE.register(scan_pushout_invariant)
