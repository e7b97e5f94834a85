"""The op registry test's data model: an OpCase per op behaviour.

Each `tests/tensor/cases_*.py` module defines `CASES`, a list of OpCase. The
registry test (test_registry.py) collects them all and, for every case and
sample, checks the reference implementation against an independent NumPy /
SciPy function (also on non-contiguous copies of the inputs), the gradient
against central differences, the forward-mode rule (R_op) against the reverse
one (u . (J v) == (J^T u) . v, float32 samples included) and against central
differences, and `infer_shape` against the actual shape. It also checks that
every Op class and every ScalarOp is exercised by some case and has a forward
rule, so a new op without a case or an R_op fails the suite.
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from collections.abc import Callable

import numpy as np


@dataclasses.dataclass
class OpCase:
    """One behaviour of one op.

    build: symbolic inputs -> symbolic output (a variable or a list of them).
    reference: NumPy arrays -> expected array(s), computed independently (NumPy,
        SciPy, math), never through symtheano.
    samples: rng -> list of input tuples (NumPy arrays). A dimension of size 1
        is given static size 1 (so it may broadcast).
    grad: check the gradient w.r.t. the float inputs listed in `wrt`
        (default: all float inputs) against central differences, and the
        forward-mode tangent along a random direction likewise. With grad=False
        the forward rule is still checked against the reverse rule.
    """

    name: str
    build: Callable
    reference: Callable
    samples: Callable
    grad: bool = True
    wrt: tuple | None = None
    rtol: float = 1e-7
    atol: float = 1e-10
    grad_tol: float = 1e-5
    grad_eps: float | None = None
    check_shape: bool = True
    # Extra static knowledge for the symbolic inputs, by position: a tuple shape
    # overriding the automatic one (for ops that need static sizes).
    static_shapes: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        return self.name


def rand(rng, shape, dtype="float64", low=-2.0, high=2.0):
    """Random values of `dtype` in [low, high) (integers: rounded)."""
    x = rng.uniform(low, high, size=shape)
    if np.dtype(dtype).kind in "iu":
        return np.round(x).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return x > (low + high) / 2
    return x.astype(dtype)


def non_contiguous(a):
    """A copy of `a` with the same values laid out with non-unit, reversed strides."""
    a = np.asarray(a)
    if a.ndim == 0 or a.size == 0:
        return a
    big = np.empty(tuple(2 * s for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    out = view[..., ::-1]
    out = out[..., ::-1]  # same values, strides still non-contiguous
    assert not out.flags.c_contiguous or a.size <= 1
    return out


def collect_cases():
    """Every OpCase from the cases_*.py modules beside this file."""
    cases = []
    here = pathlib.Path(__file__).parent
    for path in sorted(here.glob("cases_*.py")):
        module = importlib.import_module(f"tests.tensor.{path.stem}")
        cases.extend(module.CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate OpCase names: {sorted(dup)}"
    return cases
