"""Modes: which rewrites run on a function's graph and which back end runs it.

"C" (the default, also "FAST_RUN") compiles the graph: where a C compiler works,
the program runner executes the whole graph in one native call
(codegen/c/program.py); without a compiler, functions run on the reference back
end with one warning. "PY" is the reference back end: each node's `perform`
(NumPy) in topological order, checking that every value a node produces has
the dtype and number of dimensions its type promises, so an op whose reference
implementation drifts from its declared type fails loudly. "DEBUG" runs every
compiled node beside its reference and raises at the first disagreement.
"CUDA" runs the graph on a GPU (codegen/cuda/program.py).
"""

from __future__ import annotations

import warnings

import numpy as np

from symtheano.configuration import config
from symtheano.graph.basic import Constant

MODE_NAMES = ("FAST_RUN", "FAST_COMPILE", "PY", "C", "DEBUG")


class Mode:
    """A rewrite selection and a linker.

    optimizer: "fast_run" (every stage), "fast_compile" (merge and constant
    folding) or None. excluding: names of stages or single rewrites to skip.
    fast_math: allow identities that are wrong for inf/NaN (x - x -> 0, x * 0 -> 0).
    device: for linker "cuda", what runs the program (codegen/cuda/device.py's
    interface; None: the process's GPU runtime).
    """

    def __init__(self, linker="py", optimizer="fast_run", excluding=(), including=(),
                 fast_math=False, device=None):
        if linker not in ("py", "c", "debug", "cuda"):
            raise ValueError(f"linker must be 'py' (NumPy reference), 'c', 'debug' (C checked "
                             f"against the reference node by node) or 'cuda', got {linker!r}")
        self.linker = linker
        self.optimizer = optimizer
        self.excluding = tuple(excluding)
        self.including = tuple(including)
        self.fast_math = fast_math
        self.device = device

    def rewrite(self, fgraph):
        """Rewrite `fgraph` in place; returns the RewriteReport."""
        from symtheano.rewrite.pipeline import rewrite

        return rewrite(fgraph, self.optimizer, self.excluding, self.including, self.fast_math)

    def link(self, fgraph):
        if any(getattr(n.op, "destroy_map", None) for n in fgraph.apply_nodes):
            # A graph may arrive with ops that overwrite their inputs (e.g. cloned from a
            # compiled function) even when the inplace stage did not run: prove it safe.
            from symtheano.rewrite.inplace import check_destroy

            check_destroy(fgraph)
        if self.linker == "c":
            from symtheano.codegen.c import vm
            from symtheano.codegen.c.linker import CProgram

            if vm.available():
                from symtheano.codegen.c.program import NativeProgram

                return NativeProgram(fgraph)
            return CProgram(fgraph)
        if self.linker == "cuda":
            from symtheano.codegen.cuda.program import CudaProgram

            if self.device is None:
                from symtheano.codegen.cuda.driver import default_runtime

                return CudaProgram(fgraph, default_runtime())
            return CudaProgram(fgraph, self.device)
        if self.linker == "debug":
            from symtheano.codegen.c.linker import DebugProgram

            return DebugProgram(fgraph)
        return PyProgram(fgraph)

    def excluding_(self, *names):
        """This mode without the named stages or rewrites (Theano's Mode.excluding)."""
        return Mode(self.linker, self.optimizer, self.excluding + names, self.including,
                    self.fast_math, self.device)

    def __str__(self):
        return f"Mode(linker={self.linker!r}, optimizer={self.optimizer!r})"


def get_mode(mode):
    """A Mode from None (config.mode), a name, or a Mode."""
    if isinstance(mode, Mode):
        return mode
    name = mode if mode is not None else config.mode
    if mode is None and config.device == "cuda" and name in ("C", "FAST_RUN"):
        name = "CUDA"  # Theano's device flag: the default mode runs on the GPU
    if name == "CUDA":
        return _cuda_mode()
    if name in ("C", "FAST_RUN"):
        return Mode("c", "fast_run") if _compiler_works() else Mode("py", "fast_run")
    if name == "DEBUG":
        return Mode("debug", "fast_run")
    if name not in MODE_NAMES:
        raise ValueError(f"unknown mode {name!r}; expected one of {MODE_NAMES} or a Mode")
    return Mode("py", "fast_compile" if name == "FAST_COMPILE" else "fast_run")


def _cuda_mode():
    """mode="CUDA" (or config.device="cuda"): the program runs on the GPU
    (codegen/cuda/program.py); where this machine lacks pycuda, the CUDA driver, a
    GPU or nvcc, one error naming the first missing piece (codegen/cuda/availability.py)."""
    from symtheano.codegen.cuda.availability import require

    require()
    return Mode("cuda", "fast_run")


_compiler_problem = []


def _compiler_works():
    """True when a C compiler is there; otherwise warn once that functions run on
    the NumPy reference back end (mode "PY") and return False."""
    if not _compiler_problem:
        from symtheano.codegen.c import build

        try:
            build.compiler()
            _compiler_problem.append("")
        except build.CompilerUnavailable as exc:
            _compiler_problem.append(str(exc))
            warnings.warn(f"symtheano: {exc}; compiled functions run on the NumPy reference "
                          "back end (mode='PY') instead of C. Install a C compiler (gcc or "
                          "clang), or set mode='PY' to silence this warning.", RuntimeWarning,
                          stacklevel=4)
    return not _compiler_problem[0]


class PyProgram:
    """Runs a FunctionGraph node by node with each op's NumPy `perform`."""

    def __init__(self, fgraph):
        self.fgraph = fgraph
        cells = {}
        for v in fgraph.variables:
            cells[v] = [v.data] if isinstance(v, Constant) else [None]
        self.input_cells = [cells[v] for v in fgraph.inputs]
        self.output_cells = [cells[v] for v in fgraph.outputs]
        self.steps = []
        for node in fgraph.toposort():
            self.steps.append((self.perform_for(node), node, [cells[v] for v in node.inputs],
                               [cells[v] for v in node.outputs]))
        # Cells that hold intermediate results, cleared after each call so that
        # a program does not keep the previous call's arrays alive.
        inputs = set(map(id, fgraph.inputs))
        self.temp_cells = [c for v, c in cells.items()
                           if not isinstance(v, Constant) and id(v) not in inputs]

    def perform_for(self, node):
        """The callable that computes `node` (subclasses substitute compiled code)."""
        return node.op.perform

    def __call__(self, input_values):
        for cell, value in zip(self.input_cells, input_values):
            cell[0] = value
        try:
            for perform, node, in_cells, out_cells in self.steps:
                try:
                    perform(node, [c[0] for c in in_cells], out_cells)
                except Exception as exc:
                    _add_node_note(exc, node)
                    raise
                for out, cell in zip(node.outputs, out_cells):
                    value = cell[0]
                    if (not isinstance(value, np.ndarray) or value.dtype.name != out.dtype
                            or value.ndim != out.ndim):
                        cell[0] = _wrong_output(node, out, value)
            return [c[0] for c in self.output_cells]
        finally:
            for cell in self.input_cells:
                cell[0] = None
            for cell in self.temp_cells:
                cell[0] = None


def _wrong_output(node, out, value):
    raise TypeError(f"internal error: {node.op} produced {type(value).__name__}"
                    f"{' of dtype ' + str(value.dtype) if hasattr(value, 'dtype') else ''}"
                    f"{' with ndim ' + str(np.ndim(value))}, but its output type is {out.type}")


def _add_node_note(exc, node):
    """Tell the user which node failed and where in their code it was built."""
    from symtheano.printing import short_label

    out = node.outputs[0]
    where = f", built at {out.where()}" if out.where() else ""
    exc.add_note(f"while computing {short_label(out, 100)}{where}")
    # The values that reached the node come from the function's inputs and shared
    # variables: say where those were created too.
    roots = [v for v in dict.fromkeys(node.inputs)
             if v.owner is None and not isinstance(v, Constant) and v.where()]
    if roots:
        exc.add_note("inputs: " + "; ".join(f"{short_label(v)} created at {v.where()}"
                                            for v in roots[:6]))
