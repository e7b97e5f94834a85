"""specialize: replace ops by the cheapest equivalent ones once the graph is
stable (integer powers as multiplies, BLAS-shaped products, ...)."""

from symtheano.rewrite.engine import Stage, constant_folding, pattern

STAGE = Stage("specialize")

STAGE.register(
    constant_folding,
    # x ** 2 and x * x compute bit-identical results: both become sqr(x).
    pattern("pow_two", ("pow", "x", 2), ("sqr", "x"), "x ** 2 -> sqr(x), like x * x"),
    pattern("mul_self", ("mul", "x", "x"), ("sqr", "x"), "x * x -> sqr(x), like x ** 2"),
)
