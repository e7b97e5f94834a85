"""The C linker: which compiled code computes a node.

Two kinds of emitters are registered by the modules of this package
(elementwise kernels in elemwise_emit.py, reductions, BLAS products...):

- `@native_emitter`: `node -> (address of the library's st_node entry, params)
  | None`; the program runner (program.py, vm/st_vm.c) calls the entry directly,
  so a graph whose nodes all have one runs in a single native call;
- `@emitter`: `node -> perform-compatible callable | None`, compiled code
  called from Python (for kernels not yet behind a native entry).

A node neither kind takes runs its NumPy `perform` inside the same program, so
a graph always runs. Without the runner (no Python headers), `CProgram` runs
the reference program with compiled performs, node by node.
"""

from __future__ import annotations

import numpy as np

from symtheano.compile.mode import PyProgram

EMITTERS = []
NATIVE_EMITTERS = []
EMITTER_MODULES = ("elemwise_emit", "reduce_emit", "blas_emit", "shape_emit", "nnet_emit",
                   "padded_sum_emit", "ifelse_emit", "constructor_emit")


def emitter(fn):
    """Register `fn(node) -> callable(node, inputs, output_storage) | None`."""
    EMITTERS.append(fn)
    return fn


def native_emitter(fn):
    """Register `fn(node) -> (st_node address, params) | None` (runtime/st_node.h)."""
    NATIVE_EMITTERS.append(fn)
    return fn


_loaded = []


def load_emitters():
    # Importing an emitter module registers it. Some may be imported already (by a
    # test, say), so a flag, not the registries' emptiness, says whether all are.
    if not _loaded:
        import importlib

        for name in EMITTER_MODULES:
            importlib.import_module(f"symtheano.codegen.c.{name}")
        _loaded.append(True)


def native_entry(node):
    """(address of the compiled st_node entry, params) for `node`, or None."""
    load_emitters()
    for fn in NATIVE_EMITTERS:
        entry = fn(node)
        if entry is not None:
            return entry
    return None


def c_perform(node):
    """The compiled replacement of `node.op.perform`, or None."""
    load_emitters()
    for fn in EMITTERS:
        perform = fn(node)
        if perform is not None:
            return perform
    return None


class CProgram(PyProgram):
    """Runs a FunctionGraph with compiled code where an emitter provides it."""

    def perform_for(self, node):
        return c_perform(node) or node.op.perform

    def compiled_nodes(self):
        """The nodes that run compiled code."""
        return [node for perform, node, _, _ in self.steps if perform != node.op.perform]

    def c_nodes(self):
        """How many nodes run compiled code."""
        return len(self.compiled_nodes())


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
