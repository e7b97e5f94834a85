"""Graph rewriting: the engine (engine.py), the stages (one module each) and
their order (pipeline.py). `function` rewrites every graph it compiles."""

from symtheano.rewrite.engine import (  # noqa: F401
    NodeRewriter,
    RewriteReport,
    Stage,
    node_rewriter,
    pattern,
)
