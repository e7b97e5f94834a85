"""OpCases for the fused ops: Composite (an elementwise DAG as one op) and
FusedReduce (a Composite feeding a reduction), built directly from the
unfused expression so that each case checks the fused op itself."""

import numpy as np

import symtheano.tensor as T
from symtheano.graph.basic import toposort
from symtheano.tensor.composite import FUSABLE_REDUCTIONS, Composite, FusedReduce
from tests.tensor.registry import OpCase, rand


def fused(output):
    """`output` (an elementwise expression) computed by one Composite node."""
    op, outer = Composite.from_nodes(toposort([output]))
    return op(*outer)


def fused_reduce(output):
    """`output` (a reduction of an elementwise expression) as one FusedReduce node
    (a 0-d input needs no reduction: T.sum returns it, and it is a Composite)."""
    node = output.owner
    if not isinstance(node.op, FUSABLE_REDUCTIONS):
        return fused(output)
    op, outer = Composite.from_nodes(toposort([node.inputs[0]]))
    return FusedReduce(op, node.op)(*outer)


def _pairs(rng):
    return [(rand(rng, (3, 4)), rand(rng, (3, 4))),
            (rand(rng, (5,)), rand(rng, (5,))),
            (rand(rng, ()), rand(rng, ())),
            (np.zeros((0, 3)), np.zeros((0, 3))),
            (rand(rng, (2, 3), "float32"), rand(rng, (2, 3), "float32"))]


def _row_col_scalar(rng):
    return [(rand(rng, (1, 4)), rand(rng, (3, 1)), rand(rng, ())),
            (rand(rng, (1, 0)), rand(rng, (2, 1)), rand(rng, ()))]


def _ints(rng):
    return [(rng.integers(-5, 5, (3, 4)).astype("int32"),
             rng.integers(-5, 5, (3, 4)).astype("int8"))]


def _positive(rng):
    return [(rand(rng, (3, 4), low=0.5, high=1.5), rand(rng, (3, 4), low=0.5, high=1.5)),
            (rand(rng, (2, 3, 2), low=0.5, high=1.5), rand(rng, (2, 3, 2), low=0.5, high=1.5))]


def _bools(rng):
    return [(rng.random((3, 4)) > 0.5, rng.random((3, 4)) > 0.5)]


CASES = [
    OpCase("composite_chain", lambda x, y: fused(T.exp(T.sin(x) * y + 1) - x),
           lambda x, y: np.exp(np.sin(x) * y + 1) - x, _pairs, rtol=1e-6),
    OpCase("composite_shared_subexpression",
           lambda x, y: fused(T.sqr(x - y) + T.tanh(x - y) * (x - y)),
           lambda x, y: (x - y) ** 2 + np.tanh(x - y) * (x - y), _pairs, rtol=1e-6),
    OpCase("composite_row_col_scalar", lambda r, c, s: fused(T.tanh(r + c) * s - s),
           lambda r, c, s: np.tanh(r + c) * s - s, _row_col_scalar),
    OpCase("composite_int_to_bool", lambda a, b: fused(T.gt(a * 2 + b, 1)),
           lambda a, b: a * 2 + b > 1, _ints),
    OpCase("composite_float_of_ints", lambda a, b: fused(T.sqrt(T.abs(a - b)) + 1),
           lambda a, b: np.sqrt(np.abs(a - b).astype("float64")) + 1, _ints),
    OpCase("fused_sum_squared_difference", lambda x, y: fused_reduce(T.sum((x - y) ** 2)),
           lambda x, y: np.sum((x - y) ** 2), _pairs, rtol=1e-6),
    OpCase("fused_max_axis", lambda x, y: fused_reduce(T.max(T.exp(x) * y, axis=-1)),
           lambda x, y: np.max(np.exp(x) * y, axis=-1), _positive),
    OpCase("fused_prod_axis0", lambda x, y: fused_reduce(T.prod(x / y, axis=0)),
           lambda x, y: np.prod(x / y, axis=0), _positive),
    OpCase("fused_min_all", lambda x, y: fused_reduce(T.min(x - 2 * y)),
           lambda x, y: np.min(x - 2 * y), _positive),
    OpCase("fused_sum_int", lambda a, b: fused_reduce(T.sum(a * b + 1, axis=1)),
           lambda a, b: np.sum(a.astype("int64") * b + 1, axis=1), _ints),
    OpCase("fused_all", lambda a, b: fused_reduce(T.all(T.or_(a, T.invert(b)), axis=0)),
           lambda a, b: np.all(a | ~b, axis=0), _bools),
    OpCase("fused_any", lambda a, b: fused_reduce(T.any(T.and_(a, b))),
           lambda a, b: np.any(a & b), _bools),
]
