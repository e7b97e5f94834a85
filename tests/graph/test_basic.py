"""Graph structure: traversal of deep graphs, cloning, FunctionGraph.replace."""

import numpy as np

import symtheano as th
import symtheano.tensor as T
from symtheano.graph.basic import ancestors, clone_graph, graph_inputs, toposort
from symtheano.graph.fg import FunctionGraph


def test_toposort_deep_chain_needs_no_recursion():
    x = T.dvector("x")
    y = x
    for _ in range(10_000):
        y = y + 1.0
    order = toposort([y])
    assert len(order) == 10_000
    position = {id(n): i for i, n in enumerate(order)}
    for n in order:
        for inp in n.inputs:
            if inp.owner is not None:
                assert position[id(inp.owner)] < position[id(n)]
    f = th.function([x], y)
    np.testing.assert_allclose(f(np.zeros(2)), [10_000.0, 10_000.0])


def test_toposort_diamonds_are_linear():
    x = T.dscalar("x")
    y = x
    for _ in range(60):  # 2**60 paths: an exponential walk would never finish
        y = y + y
    assert len(toposort([y])) == 60


def test_graph_inputs_and_ancestors():
    x, y = T.dscalars("x", "y")
    z = x * 2 + y
    roots = graph_inputs([z])
    assert x in roots and y in roots
    assert z in ancestors([z])


def test_clone_graph_leaves_original_untouched():
    x, y = T.dscalars("x", "y")
    z = (x + 1) * y
    before = [id(n) for n in toposort([z])]
    (new,), _ = clone_graph([z], {x: y})
    assert [id(n) for n in toposort([z])] == before
    assert x in graph_inputs([z]) and x not in graph_inputs([new])
    f = th.function([y], new)
    assert f(3.0) == 12.0


def test_function_graph_replace_and_prune():
    x = T.dvector("x")
    a = T.exp(x)
    out = a * 2
    (out_c,), memo = clone_graph([out])
    fg = FunctionGraph([x], [out_c])
    a_c = memo[id(a)]
    fg.replace(a_c, T.log(x))
    names = {n.op.scalar_op.name for n in fg.apply_nodes if isinstance(n.op, T.Elemwise)}
    assert "log" in names and "exp" not in names
    assert a.owner.op.scalar_op.name == "exp"  # the user's graph is unchanged


def test_ops_compare_by_props():
    assert T.Elemwise(T.basic.Add()) == T.Elemwise(T.basic.Add())
    assert hash(T.DimShuffle(2, (1, 0))) == hash(T.DimShuffle(2, (1, 0)))
    assert T.DimShuffle(2, (1, 0)) != T.DimShuffle(2, (0, 1))
