"""The order in which rewrite stages run: one list, read top to bottom.

merge (CSE) and constant folding first, so that later stages see each value
once; canonicalize puts graphs in one normal form; stabilize replaces
formulas that overflow or cancel; specialize picks the fastest equivalent
ops; fusion merges elementwise chains into single loops; inplace lets ops
overwrite intermediates nobody else reads. Merge also runs after each stage.
"""

from __future__ import annotations

from symtheano.graph.basic import Constant, clone_graph, graph_inputs
from symtheano.graph.fg import FunctionGraph
from symtheano.rewrite import (  # noqa: F401  (linalg registers its rewrites in two stages)
    canonicalize,
    fusion,
    inplace,
    linalg,
    specialize,
    stabilize,
)
from symtheano.rewrite.engine import MergeStage, RewriteContext, Stage, constant_folding, run_stages

CONSTANT_FOLDING = Stage("constant_folding")
CONSTANT_FOLDING.register(constant_folding)

PIPELINE = [
    MergeStage(),
    CONSTANT_FOLDING,
    canonicalize.STAGE,
    stabilize.STAGE,
    specialize.STAGE,
    fusion.STAGE,
    inplace.STAGE,
]

PRESETS = {
    "fast_run": tuple(stage.name for stage in PIPELINE),
    "fast_compile": ("merge", "constant_folding"),
    "stabilize_only": ("merge", "constant_folding", "canonicalize", "stabilize"),
    None: (),
}


def rewrite(fgraph, optimizer="fast_run", excluding=(), including=(), fast_math=False):
    """Rewrite `fgraph` in place with the stages of preset `optimizer`; returns
    the RewriteReport. Names in `excluding` switch off stages or single rewrites."""
    if optimizer not in PRESETS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of "
                         f"{sorted(k for k in PRESETS if k)} or None")
    wanted = set(PRESETS[optimizer]) | set(including)
    stages = [s for s in PIPELINE if s.name in wanted and s.name not in excluding]
    ctx = RewriteContext(excluding=excluding, fast_math=fast_math)
    return run_stages(fgraph, stages, ctx)


def stabilized(outputs):
    """`outputs` rewritten by the stabilizing stages, or the very same variables
    when no rewrite applies. `grad` differentiates this form, so that gradients
    of stabilized formulas are computed from the stable formula."""
    cloned, _ = clone_graph(outputs)
    roots = [v for v in graph_inputs(cloned) if not isinstance(v, Constant)]
    fgraph = FunctionGraph(roots, cloned)
    report = rewrite(fgraph, "stabilize_only")
    interesting = {k: v for k, v in report.counts.items() if k != "merge"}
    return list(fgraph.outputs) if interesting else list(outputs)
