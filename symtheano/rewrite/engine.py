"""The rewrite engine: node rewriters, one-line patterns, and the drivers that
apply them to a FunctionGraph (an equilibrium worklist and a merge pass).

A node rewriter is a function `(fgraph, node) -> replacement outputs | None`.
A pattern is a pair of nested tuples over scalar-op names, written on one line
with a comment saying the identity, e.g.

    pattern("log1p", ("log", ("add", 1, "x")), ("log1p", "x"))  # log(1 + x) -> log1p(x)

The equilibrium driver keeps a worklist: it visits every node once, and after
a replacement only the new nodes and the clients of the replaced outputs, so
rewriting stays near-linear in the size of the graph.
"""

from __future__ import annotations

import collections
import time
import warnings

import numpy as np

from symtheano.graph.basic import Constant
from symtheano.tensor.elemwise import SCALAR_OPS, Elemwise
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import TensorConstant, as_tensor_variable

COMMUTATIVE = frozenset({"add", "mul", "maximum", "minimum", "eq", "neq", "and_", "or_",
                         "xor", "logical_and", "logical_or", "logical_xor"})


class NodeRewriter:
    """A named rewrite of one node. `tracks`: op classes and/or scalar-op names
    whose nodes it looks at (None: every node)."""

    def __init__(self, fn, name, tracks=None, comment=""):
        self.fn = fn
        self.name = name
        self.tracks = tuple(tracks) if tracks is not None else None
        self.comment = comment

    def __call__(self, fgraph, node):
        return self.fn(fgraph, node)

    def __repr__(self):
        return f"<rewrite {self.name}{': ' + self.comment if self.comment else ''}>"


def node_rewriter(tracks=None, name=None):
    """Decorator: `@node_rewriter([Elemwise])` turns a function into a NodeRewriter."""
    def wrap(fn):
        doc = (fn.__doc__ or "").strip().splitlines()
        return NodeRewriter(fn, name or fn.__name__, tracks, doc[0] if doc else "")

    return wrap


# -- patterns --------------------------------------------------------------------------------

def scalar_name(node):
    """The scalar-op name of an Elemwise node, or None."""
    if node is not None and isinstance(node.op, Elemwise):
        return node.op.scalar_op.name
    return None


def constant_value(var):
    """The single value every element of a constant holds, or None."""
    if isinstance(var, Constant):
        data = var.data
        if data.size == 0:
            return None
        first = data.flat[0]
        if data.size == 1 or np.all(data == first):
            return first.item()
    return None


def _matches(pattern, var, bindings):
    """Every extension of `bindings` under which `pattern` matches `var` (a generator:
    a commutative node tries both orders, and a later mismatch backtracks into them)."""
    if isinstance(pattern, str):
        bound = bindings.get(pattern)
        if bound is None:
            yield {**bindings, pattern: var}
        elif bound is var:
            yield bindings
        return
    if isinstance(pattern, int | float):
        value = constant_value(var)
        if value is not None and value == pattern:
            yield bindings
        return
    name, *args = pattern
    node = var.owner
    if scalar_name(node) != name or len(node.inputs) != len(args):
        return
    yield from _matches_all(args, node.inputs, bindings)
    if name in COMMUTATIVE and len(args) == 2:
        yield from _matches_all(args, node.inputs[::-1], bindings)


def _matches_all(patterns, inputs, bindings):
    if not patterns:
        yield bindings
        return
    for found in _matches(patterns[0], inputs[0], bindings):
        yield from _matches_all(patterns[1:], inputs[1:], found)


def _match(pattern, var, bindings):
    """Does `pattern` match `var`? On success `bindings` holds the bound variables."""
    for found in _matches(pattern, var, bindings):
        bindings.clear()
        bindings.update(found)
        return True
    return False


def _dtype_for_constants(bindings, default):
    for v in bindings.values():
        if v.dtype.startswith("float"):
            return v.dtype
    return default


def build(pattern, bindings, dtype):
    """The graph a pattern's right-hand side describes, with `bindings` substituted."""
    if isinstance(pattern, str):
        return bindings[pattern]
    if isinstance(pattern, int | float):
        return as_tensor_variable(np.asarray(pattern, dtype=dtype))
    name, *args = pattern
    return Elemwise(SCALAR_OPS[name])(*[build(a, bindings, dtype) for a in args])


def pattern(name, lhs, rhs, comment=""):
    """A NodeRewriter replacing what matches `lhs` by `rhs` (a pattern or a
    function of the bound variables)."""
    root = lhs[0]

    def rewrite(fgraph, node):
        bindings = {}
        if not _match(lhs, node.outputs[0], bindings):
            return None
        if callable(rhs):
            out = rhs(**bindings)
            return None if out is None else [out]
        return [build(rhs, bindings, _dtype_for_constants(bindings, node.outputs[0].dtype))]

    return NodeRewriter(rewrite, name, [root], comment)


# -- fitting a replacement to the variable it replaces ---------------------------------------

def fit_replacement(old, new):
    """`new` adjusted to stand for `old` (same dtype), or None when it cannot:
    it must not broadcast where `old` did not, nor contradict a static size."""
    from symtheano.tensor.basic import cast

    new = as_tensor_variable(new)
    if not isinstance(old.type, TensorType):
        return new if new.type == old.type else None
    if new.ndim != old.ndim:
        return None
    for a, b in zip(old.type.shape, new.type.shape):
        if b == 1 and a != 1:
            return None
        if a is not None and b is not None and a != b:
            return None
    if new.dtype != old.dtype:
        new = cast(new, old.dtype)
    return new


# -- drivers ---------------------------------------------------------------------------------

class RewriteReport:
    """What the rewriter did to one graph: how often each rewrite fired and how
    long each stage took."""

    def __init__(self):
        self.counts = collections.Counter()
        self.stage_times = collections.OrderedDict()
        self.nodes_before = self.nodes_after = 0

    def count(self, name):
        self.counts[name] += 1

    def __str__(self):
        lines = [f"rewrites: {self.nodes_before} nodes -> {self.nodes_after} nodes"]
        for stage, seconds in self.stage_times.items():
            lines.append(f"  stage {stage:<18} {seconds * 1e3:9.2f} ms")
        for name, n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:6d} x {name}")
        return "\n".join(lines)

    __repr__ = __str__


class RewriteContext:
    """Options of one rewriting run: excluded names, flags, and the report."""

    def __init__(self, excluding=(), fast_math=False, report=None):
        self.excluding = frozenset(excluding)
        self.fast_math = fast_math
        self.report = report if report is not None else RewriteReport()


class Stage:
    """A named set of node rewriters run to a fixed point (with a budget)."""

    def __init__(self, name, budget_per_node=20):
        self.name = name
        self.rewriters = []
        self.budget_per_node = budget_per_node

    def register(self, *rewriters):
        for r in rewriters:
            if any(r.name == other.name for other in self.rewriters):
                raise ValueError(f"rewrite {r.name!r} registered twice in stage {self.name!r}")
            self.rewriters.append(r)
        return rewriters[0] if len(rewriters) == 1 else rewriters

    def _dispatch(self, ctx):
        by_key = collections.defaultdict(list)
        generic = []
        for r in self.rewriters:
            if r.name in ctx.excluding:
                continue
            if r.tracks is None:
                generic.append(r)
            else:
                for t in r.tracks:
                    by_key[t].append(r)
        return by_key, generic

    def run(self, fgraph, ctx):
        by_key, generic = self._dispatch(ctx)
        if not by_key and not generic:
            return 0

        def candidates(node):
            found = list(by_key.get(type(node.op), ()))
            name = scalar_name(node)
            if name is not None:
                found.extend(by_key.get(name, ()))
            found.extend(generic)
            return found

        queue = collections.deque(fgraph.toposort())
        queued = set(queue)
        budget = self.budget_per_node * len(queue) + 1000
        changes = 0
        while queue:
            node = queue.popleft()
            queued.discard(node)
            if node not in fgraph.apply_nodes:
                continue
            for rewriter in candidates(node):
                new_outputs = rewriter(fgraph, node)
                if not new_outputs:
                    continue
                fitted = [fit_replacement(o, n) for o, n in zip(node.outputs, new_outputs)]
                if any(f is None for f in fitted) or len(fitted) != len(node.outputs):
                    continue
                if all(f is o for f, o in zip(fitted, node.outputs)):
                    continue
                imported = fgraph.replace_all(list(zip(node.outputs, fitted)), rewriter.name)
                ctx.report.count(rewriter.name)
                changes += 1
                for n in imported:
                    if n not in queued:
                        queue.append(n)
                        queued.add(n)
                for out in fitted:
                    for client, _ in fgraph.clients.get(out, ()):
                        if client != "output" and client not in queued:
                            queue.append(client)
                            queued.add(client)
                break
            if changes > budget:
                warnings.warn(f"rewrite stage {self.name!r} stopped after {changes} changes "
                              "(budget exhausted); the graph may be partly rewritten",
                              stacklevel=2)
                break
        return changes


class MergeStage:
    """Common subexpression elimination: equal constants, and equal ops applied
    to the same inputs, are computed once."""

    name = "merge"

    def run(self, fgraph, ctx):
        if "merge" in ctx.excluding:
            return 0
        changes = 0
        constants = {}
        for var in list(fgraph.variables):
            if isinstance(var, Constant) and fgraph.clients.get(var):
                key = var.signature()
                first = constants.setdefault(key, var)
                if first is not var:
                    fgraph.replace(var, first, "merge")
                    changes += 1
        seen = {}
        for node in fgraph.toposort():
            if node not in fgraph.apply_nodes:
                continue
            try:
                key = (node.op, tuple(id(i) for i in node.inputs))
                other = seen.get(key)
            except TypeError:  # an op with unhashable fields is never merged
                continue
            if other is not None and other in fgraph.apply_nodes:
                fgraph.replace_all(list(zip(node.outputs, other.outputs)), "merge")
                changes += 1
            else:
                seen[key] = node
        if changes:
            ctx.report.counts["merge"] += changes
        return changes


# -- constant folding -------------------------------------------------------------------------

FOLD_LIMIT = 1 << 16  # elements: folding never materialises an array larger than this


@node_rewriter(None, name="constant_folding")
def constant_folding(fgraph, node):
    """op(constants) -> constant, when the result's static size is at most FOLD_LIMIT."""
    if not node.inputs or not all(isinstance(i, Constant) for i in node.inputs):
        return None
    for out in node.outputs:
        shape = getattr(out.type, "shape", None)
        if shape is None or None in shape or int(np.prod(shape)) > FOLD_LIMIT:
            return None
    storage = [[None] for _ in node.outputs]
    try:
        with np.errstate(all="ignore"):
            node.op.perform(node, [i.data for i in node.inputs], storage)
    except Exception:  # an error at run time stays an error at run time
        return None
    return [TensorConstant(out.type, np.asarray(cell[0], dtype=out.dtype))
            for out, cell in zip(node.outputs, storage)]


def run_stages(fgraph, stages, ctx):
    """Run `stages` in order, merging after each; time them in ctx.report."""
    report = ctx.report
    report.nodes_before = len(fgraph.apply_nodes)
    fgraph.rewrite_context = ctx
    merge = MergeStage()
    for stage in stages:
        start = time.perf_counter()
        stage.run(fgraph, ctx)
        if not isinstance(stage, MergeStage):
            merge.run(fgraph, ctx)
        report.stage_times[stage.name] = (report.stage_times.get(stage.name, 0.0)
                                          + time.perf_counter() - start)
    report.nodes_after = len(fgraph.apply_nodes)
    return report
