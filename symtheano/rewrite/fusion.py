"""fusion: elementwise chains and trees become one `Composite` op, and an
elementwise group feeding a reduction becomes one `FusedReduce` op
(`sum((x - y) ** 2)` is one node, one loop in a compiled back end).

Groups. Walking the graph from the outputs back, an Elemwise node joins the
group of its readers when all of them belong to one group; otherwise it starts
a group of its own (its root). Left-padding DimShuffles (which Elemwise adds
to broadcast lower-dimensional inputs) join the same way and cost nothing.

Values read outside their group. A node whose value is also read by something
outside the group (another group, a non-elementwise op, a function output)
ends the group there: it becomes the root, and so the single output, of its
own group, and every reader takes that one array as an input. Nothing is ever
computed twice and each fused op has one output; the price is that such a
value is materialised, which it has to be anyway for the outside reader. A
group built this way can never create a cycle: every member is an ancestor of
the root through members only.

A group of two or more Elemwise nodes becomes a Composite; a group of any
size whose root is read only by a sum/prod/max/min/all/any becomes a
FusedReduce. The graph is rebuilt in one pass, so fusion is linear in the
size of the graph (a chain of 10,000 ops fuses in well under a second).
Before grouping, sums of slices written into zeros (the gradients of shifted
slices) become PaddedSum ops that take in the elementwise nodes computing
them (rewrite/padded_sum.py).
Rewrites: "padded_sum", "elemwise_fusion", "reduce_fusion" (switch off with
Mode(excluding=...)).
"""

from __future__ import annotations

import collections

from symtheano.rewrite.padded_sum import padded_sums
from symtheano.tensor.composite import FUSABLE_REDUCTIONS, Composite, FusedReduce, is_left_pad
from symtheano.tensor.elemwise import Elemwise


def _kind(node):
    if isinstance(node.op, Elemwise):
        return "elemwise"
    if is_left_pad(node):
        return "pad"
    return None


def fusion_groups(fgraph, order, join=True):
    """{root node: member nodes in topological order} for every Elemwise group.

    join=False: every Elemwise node is a group of its own."""
    group_of = {}
    members = collections.defaultdict(list)
    for node in reversed(order):
        kind = _kind(node)
        if kind is None:
            continue
        clients = fgraph.clients.get(node.outputs[0], ())
        roots = {None if c == "output" else group_of.get(c) for c, _ in clients}
        if join and len(roots) == 1 and None not in roots:
            root = roots.pop()
            group_of[node] = root
            members[root].append(node)
        elif kind == "elemwise":
            group_of[node] = node
            members[node].append(node)
    return {root: nodes[::-1] for root, nodes in members.items()}


def rebuild(fgraph, order, plan):
    """Rebuild the graph with `plan` applied and install it in `fgraph`.

    plan: {node: None (drop: its value is computed inside another node) or a
    function (map old variable -> new variable) -> new output variables}. Nodes
    downstream of a change are re-applied to their new inputs. One pass, so
    the cost is linear in the size of the graph (FunctionGraph.replace would walk
    every ancestor of each replacement)."""
    memo = {}

    def get(var):
        return memo.get(id(var), var)

    for node in order:
        if node in plan:
            build = plan[node]
            if build is not None:
                for old, new in zip(node.outputs, build(get)):
                    memo[id(old)] = new
            continue
        new_inputs = [get(i) for i in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            new_node = node.clone_with_new_inputs(new_inputs, strict=False)
            for old, new in zip(node.outputs, new_node.outputs):
                if new.name is None:
                    new.name = old.name
                memo[id(old)] = new
    pairs = [(old, get(old)) for old in dict.fromkeys(fgraph.outputs) if get(old) is not old]
    if pairs:
        fgraph.replace_all(pairs, "rebuild")


def _composite_builder(nodes):
    op, outer = Composite.from_nodes(nodes)

    def build(get):
        return [op(*[get(v) for v in outer])]

    return build


def _reduce_builder(nodes, reduce_node):
    comp, outer = Composite.from_nodes(nodes)
    op = FusedReduce(comp, reduce_node.op)

    def build(get):
        return [op(*[get(v) for v in outer])]

    return build


class FusionStage:
    """The fusion stage (see the module docstring)."""

    name = "fusion"
    rewrites = ("padded_sum", "elemwise_fusion", "reduce_fusion")

    def run(self, fgraph, ctx):
        changed = 0
        if "padded_sum" not in ctx.excluding:
            changed = padded_sums(fgraph)
            for _ in range(changed):
                ctx.report.count("padded_sum")
        fuse_elemwise = "elemwise_fusion" not in ctx.excluding
        fuse_reduce = "reduce_fusion" not in ctx.excluding
        if not (fuse_elemwise or fuse_reduce):
            return changed
        order = fgraph.toposort()
        plan = {}
        for root, nodes in fusion_groups(fgraph, order, join=fuse_elemwise).items():
            n_elemwise = sum(isinstance(n.op, Elemwise) for n in nodes)
            clients = fgraph.clients.get(root.outputs[0], ())
            reader = clients[0][0] if len(clients) == 1 else "output"
            if fuse_reduce and reader != "output" and type(reader.op) in FUSABLE_REDUCTIONS:
                plan.update(dict.fromkeys(nodes))
                plan[reader] = _reduce_builder(nodes, reader)
                ctx.report.count("reduce_fusion")
            elif fuse_elemwise and n_elemwise >= 2:
                plan.update(dict.fromkeys(nodes))
                plan[root] = _composite_builder(nodes)
                ctx.report.count("elemwise_fusion")
        if plan:
            rebuild(fgraph, order, plan)
        return changed + len(plan)


STAGE = FusionStage()
