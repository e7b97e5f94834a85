"""The native entries of ops that build arrays from sizes alone (codegen/c/
constructor_emit.py, runtime/constructor_node.h): Eye against numpy.eye for every
dtype, diagonals inside and outside the array, empty sizes, and the reference's
error for the calls the entry declines."""

from __future__ import annotations

import numpy as np
import pytest
from symtheano.codegen.c import build

import symtheano as th
import symtheano.tensor as T
from symtheano.tensor.constructors import Eye

try:
    build.compiler()
except build.CompilerUnavailable as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no C compiler: {exc}", allow_module_level=True)

SIZES = [(0, 0, 0), (3, 3, 0), (3, 5, 1), (5, 3, -2), (4, 4, 7), (4, 4, -9), (1, 6, -1),
         (3, 4, 2 ** 62), (3, 4, -(2 ** 63)), (2, 0, 0)]


@pytest.mark.parametrize("dtype", ["float64", "float32", "int8", "int64", "uint16", "bool"])
def test_eye_matches_numpy(dtype):
    n, m, k = T.lscalar("n"), T.lscalar("m"), T.lscalar("k")
    f = th.function([n, m, k], Eye(dtype)(n, m, k))
    assert [type(node.op) for node in f.program.native_nodes()] == [Eye]
    for sizes in SIZES:
        got, expected = f(*sizes), np.eye(*sizes, dtype=dtype)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_negative_sizes_raise_the_reference_error():
    n = T.lscalar("n")
    f = th.function([n], T.eye(n, 3))
    with pytest.raises(ValueError, match="negative size"):
        f(-1)
