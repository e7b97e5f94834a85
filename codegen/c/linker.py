"""The C linker: the reference program, with every node that has C code run
by compiled code instead of its `perform`.

Emitters are functions `node -> perform-compatible callable | None`, registered
with `@emitter` by the modules of this package (elementwise kernels in
elemwise_emit.py, reductions, BLAS products...). A node no emitter takes runs
its NumPy `perform` inside the same program, so a graph always runs.
"""

from __future__ import annotations

import numpy as np

from symtheano.compile.mode import PyProgram

EMITTERS = []
EMITTER_MODULES = ("elemwise_emit", "reduce_emit", "blas_emit")


def emitter(fn):
    """Register `fn(node) -> callable(node, inputs, output_storage) | None`."""
    EMITTERS.append(fn)
    return fn


def c_perform(node):
    """The compiled replacement of `node.op.perform`, or None."""
    if not EMITTERS:
        import importlib

        for name in EMITTER_MODULES:  # importing an emitter module registers it
            importlib.import_module(f"symtheano.codegen.c.{name}")
    for fn in EMITTERS:
        perform = fn(node)
        if perform is not None:
            return perform
    return None


class CProgram(PyProgram):
    """Runs a FunctionGraph with compiled code where an emitter provides it."""

    def perform_for(self, node):
        return c_perform(node) or node.op.perform

    def c_nodes(self):
        """How many nodes run compiled code."""
        return sum(1 for perform, node, _, _ in self.steps if perform != node.op.perform)


class DebugModeError(AssertionError):
    """mode="DEBUG" found a node whose compiled result differs from its reference."""


class DebugProgram(CProgram):
    """Runs every compiled node twice, compiled and reference, and raises at the
    first node whose outputs differ (naming it and where the user built it)."""

    def perform_for(self, node):
        compiled = c_perform(node)
        if compiled is None:
            return node.op.perform

        def both(node, inputs, output_storage):
            copies = [np.array(a, copy=True) for a in inputs]
            reference = [[None] for _ in node.outputs]
            node.op.perform(node, copies, reference)
            compiled(node, inputs, output_storage)
            for out, want, got in zip(node.outputs, reference, output_storage):
                problem = _difference(np.asarray(want[0]), np.asarray(got[0]))
                if problem:
                    from symtheano.printing import short_label

                    where = f" (built at {out.where()})" if out.where() else ""
                    raise DebugModeError(f"DEBUG mode: compiled {node.op} disagrees with its "
                                         f"reference for {short_label(out, 100)}{where}: "
                                         f"{problem}")

        return both


def _difference(want, got):
    """A description of how `got` differs from `want`, or '' when they agree."""
    if want.shape != got.shape or want.dtype != got.dtype:
        return f"got {got.dtype} {got.shape}, expected {want.dtype} {want.shape}"
    if want.dtype.kind != "f":
        bad = want != got
        return f"{int(bad.sum())} element(s) differ" if bad.any() else ""
    nan_w, nan_g = np.isnan(want), np.isnan(got)
    if (nan_w != nan_g).any():
        return f"NaN at different positions ({int((nan_w != nan_g).sum())} element(s))"
    rtol = 1e-5 if want.dtype == np.float32 else 1e-12
    finite = ~nan_w
    close = np.isclose(got[finite], want[finite], rtol=rtol, atol=rtol * 1e-3)
    if close.all():
        return ""
    err = np.max(np.abs(got[finite] - want[finite]))
    return f"{int((~close).sum())} element(s) differ, max abs difference {err:.3g}"
