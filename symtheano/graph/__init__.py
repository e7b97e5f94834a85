"""The graph: variables, apply nodes, ops, traversal and FunctionGraph."""

from symtheano.graph.basic import (  # noqa: F401
    Apply,
    Constant,
    Op,
    Type,
    Variable,
    ancestors,
    clone_graph,
    clone_replace,
    graph_inputs,
    toposort,
)
