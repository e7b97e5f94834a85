"""The Scan op: a loop whose body is a graph (the inner graph), run n_steps times.

The inner graph's inputs, in order:
- one row of each sequence (step t reads row t of the outer sequence input);
- the previous values of each recurrent output, one input per tap (tap -k at
  step t reads the value the output had k steps earlier);
- the previous value of each carried state (a state of which only the final
  value is kept: shared variables updated by the loop, gradient accumulators);
- the non-sequences (the same value at every step).
Its outputs: the new value of each recurrent output, then one value per step
of each non-recurrent output, then the new value of each carried state.

The node's inputs are `n_steps`, the sequences, the initial values of the
recurrent outputs (L rows each, L the largest lag), the initial carried states
and the non-sequences. Its outputs: each recurrent output's whole buffer (the L
initial rows, then one row per step), each non-recurrent output stacked over
the steps, and each carried state's final value. `scan()` (basic.py) builds the
node and hands the user the buffers without their initial rows.

The reference `perform` is a Python loop over an inner function compiled once
(rewritten by the pipeline, run by the reference back end); the C back end runs
the whole loop inside the program runner (native.py). Gradients and tangents
are other Scans (grad.py).
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Constant, Op, clone_graph, graph_inputs, toposort
from symtheano.graph.fg import FunctionGraph
from symtheano.tensor.type import INT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable


def row_type(ttype):
    """The type of one row of a variable of type `ttype`."""
    return TensorType(ttype.dtype, ttype.shape[1:])


def fits(inner, outer):
    """May a value of type `outer` stand where `inner` is expected (same dtype and
    ndim, and outer's static sizes never contradict inner's)?"""
    return (inner.dtype == outer.dtype and inner.ndim == outer.ndim
            and all(i is None or i == o for i, o in zip(inner.shape, outer.shape)))


class Scan(Op):
    """A loop over an inner graph (see the module docstring for the layout).

    inputs, outputs: the inner graph's input and output variables;
    n_seqs: how many inner inputs are rows of sequences;
    mit_taps: per recurrent output, its taps (negative ints), in the order its
        inner inputs come;
    n_nit: how many outputs are not recurrent; n_carry: how many carried states;
    truncate_gradient: backpropagate through at most this many steps (-1: all);
    labels: names of the outer inputs/outputs for error messages (scan() passes
        the user's words, 'sequences[0]', 'outputs_info[1]', ...).

    Two Scans are equal only when they are the same object: merging two loops
    would need their inner graphs compared.
    """

    def __init__(self, inputs, outputs, n_seqs, mit_taps, n_nit, n_carry, truncate_gradient=-1,
                 name="scan", labels=None):
        self.inner_inputs = tuple(inputs)
        self.inner_outputs = tuple(as_tensor_variable(o) for o in outputs)
        self.n_seqs = int(n_seqs)
        self.mit_taps = tuple(tuple(int(k) for k in taps) for taps in mit_taps)
        self.n_mit = len(self.mit_taps)
        self.n_nit = int(n_nit)
        self.n_carry = int(n_carry)
        self.truncate_gradient = int(truncate_gradient)
        self.name = name
        for j, taps in enumerate(self.mit_taps):
            if not taps or any(k >= 0 for k in taps):
                raise ValueError(f"Scan: recurrent output {j} needs negative taps, got {taps}")
        self.lags = tuple(-min(taps) for taps in self.mit_taps)
        n_taps = sum(len(t) for t in self.mit_taps)
        self.n_nonseq = len(self.inner_inputs) - self.n_seqs - n_taps - self.n_carry
        if self.n_nonseq < 0:
            raise ValueError("Scan: fewer inner inputs than the layout needs")
        if len(self.inner_outputs) != self.n_mit + self.n_nit + self.n_carry:
            raise ValueError(f"Scan: {len(self.inner_outputs)} inner outputs for {self.n_mit} "
                             f"recurrent, {self.n_nit} other and {self.n_carry} carried")
        n_outer_in = 1 + self.n_seqs + self.n_mit + self.n_carry + self.n_nonseq
        n_outer_out = len(self.inner_outputs)
        self.labels = dict(labels or {})
        self.in_labels = [self.labels.get(("in", i), f"input {i}") for i in range(n_outer_in)]
        self.out_labels = [self.labels.get(("out", i), f"output {i}")
                           for i in range(n_outer_out)]
        for j, (placeholders, out) in enumerate(zip(self.tap_inputs(), self.inner_outputs)):
            if not all(p.type == placeholders[0].type for p in placeholders):
                raise TypeError(f"Scan: the taps of {self.out_labels[j]} differ in type")
            self._check_output(j, placeholders[0].type, out)
        for c, (p, out) in enumerate(zip(self.carry_inputs(), self.carry_outputs())):
            self._check_output(self.n_mit + self.n_nit + c, p.type, out)
        for v in graph_inputs(self.inner_outputs):
            if not isinstance(v, Constant) and v not in self.inner_inputs:
                raise ValueError(f"Scan: the inner graph reads {v}, which is not an inner input")
        # Carried states may come out as they went in (no step), or be a non-sequence.
        self.view_map = {self.n_mit + self.n_nit + c: list(range(1, n_outer_in))
                         for c in range(self.n_carry)}
        self._compiled = {}

    def _check_output(self, k, want, out):
        if out.dtype != want.dtype or out.ndim != want.ndim:
            raise TypeError(f"scan: the step function's value for {self.out_labels[k]} has "
                            f"type {out.type}, but its previous value has type {want}; they "
                            "must have the same dtype and number of dimensions (use T.cast)")

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __str__(self):
        return f"Scan{{{self.name}}}"

    __repr__ = __str__

    # -- the layout ----------------------------------------------------------------------

    def seq_inputs(self):
        return self.inner_inputs[:self.n_seqs]

    def tap_inputs(self):
        """Per recurrent output, its inner inputs (one per tap)."""
        groups, pos = [], self.n_seqs
        for taps in self.mit_taps:
            groups.append(self.inner_inputs[pos:pos + len(taps)])
            pos += len(taps)
        return groups

    def carry_inputs(self):
        start = len(self.inner_inputs) - self.n_nonseq - self.n_carry
        return self.inner_inputs[start:start + self.n_carry]

    def nonseq_inputs(self):
        return self.inner_inputs[len(self.inner_inputs) - self.n_nonseq:]

    def carry_outputs(self):
        return self.inner_outputs[self.n_mit + self.n_nit:]

    def outer_slices(self):
        """(seqs, inits, carries, nonseqs) as slices of the node's inputs."""
        a = 1 + self.n_seqs
        b = a + self.n_mit
        c = b + self.n_carry
        return slice(1, a), slice(a, b), slice(b, c), slice(c, None)

    def clone_with(self, inputs, outputs, n_seqs, mit_taps, n_nit, n_carry, name=None):
        """Another Scan with this one's options."""
        return Scan(inputs, outputs, n_seqs, mit_taps, n_nit, n_carry,
                    truncate_gradient=self.truncate_gradient, name=name or self.name)

    # -- building the node ---------------------------------------------------------------

    def make_node(self, n_steps, *outer):
        n_steps = as_tensor_variable(n_steps)
        if n_steps.ndim != 0 or n_steps.dtype not in INT_DTYPES:
            raise TypeError(f"scan: n_steps must be an integer scalar, got {n_steps} of type "
                            f"{n_steps.type}")
        if n_steps.dtype != "int64":
            from symtheano.tensor.basic import cast

            n_steps = cast(n_steps, "int64")
        expected = self.n_seqs + self.n_mit + self.n_carry + self.n_nonseq
        if len(outer) != expected:
            raise TypeError(f"{self}: {expected} inputs after n_steps expected, got {len(outer)}")
        outer = [as_tensor_variable(v) for v in outer]
        s_seq, s_init, s_carry, s_nonseq = self.outer_slices()
        wants = ([TensorType(p.dtype, (None,) + p.type.shape) for p in self.seq_inputs()]
                 + [TensorType(g[0].dtype, (lag,) + g[0].type.shape)
                    for g, lag in zip(self.tap_inputs(), self.lags)]
                 + [p.type for p in self.carry_inputs()]
                 + [p.type for p in self.nonseq_inputs()])
        checked = []
        for i, (v, want) in enumerate(zip(outer, wants), start=1):
            checked.append(self._fit_input(i, v, want))
        outputs = []
        for g in self.tap_inputs():
            outputs.append(TensorType(g[0].dtype, (None,) + g[0].type.shape).make_variable())
        for out in self.inner_outputs[self.n_mit:self.n_mit + self.n_nit]:
            outputs.append(TensorType(out.dtype, (None,) + out.type.shape).make_variable())
        for p in self.carry_inputs():
            outputs.append(p.type.make_variable())
        return Apply(self, [n_steps] + checked, outputs)

    def _fit_input(self, i, v, want):
        """`v` as outer input i of type `want`: same dtype and ndim; a static size the
        inner graph relies on but `v` does not declare is checked at run time."""
        label = self.in_labels[i]
        if v.dtype != want.dtype or v.ndim != want.ndim:
            raise TypeError(f"scan: {label} is {v} of type {v.type}, expected dtype "
                            f"{want.dtype} with {want.ndim} dimensions")
        for d, (have, need) in enumerate(zip(v.type.shape, want.shape)):
            if need is not None and have is not None and have != need:
                raise ValueError(f"scan: {label} ({v}) has size {have} in dimension {d}, but "
                                 f"the loop needs {need}")
        if not fits(want, v.type):
            from symtheano.tensor.shape import specify_shape

            v = specify_shape(v, want.shape)
        return v

    # -- the reference implementation -----------------------------------------------------

    def inner_fgraph(self):
        """A private copy of the inner graph as a FunctionGraph (rewrites change it)."""
        inputs = [p.type.make_variable(p.name) for p in self.inner_inputs]
        outputs, _ = clone_graph(self.inner_outputs, dict(zip(self.inner_inputs, inputs)))
        return FunctionGraph(inputs, outputs)

    def rewritten_inner(self, linker):
        """The inner graph rewritten by the pipeline, for the back end `linker`."""
        from symtheano.compile.mode import Mode

        fgraph = self.inner_fgraph()
        Mode(linker, "fast_run").rewrite(fgraph)
        return fgraph

    def _step_function(self):
        program = self._compiled.get("py")
        if program is None:
            from symtheano.compile.mode import PyProgram

            program = self._compiled["py"] = PyProgram(self.rewritten_inner("py"))
        return program

    def perform(self, node, inputs, output_storage):
        step = self._step_function()
        n = int(inputs[0])
        s_seq, s_init, s_carry, s_nonseq = self.outer_slices()
        seqs, inits = inputs[s_seq], inputs[s_init]
        carries, nonseqs = list(inputs[s_carry]), list(inputs[s_nonseq])
        if n < 0:
            raise ValueError(f"scan: n_steps is {n}; it must be at least 0")
        for i, s in enumerate(seqs, start=s_seq.start):
            if s.shape[0] < n:
                raise ValueError(f"scan: {self.in_labels[i]} has {s.shape[0]} entries, fewer "
                                 f"than the {n} steps to run")
        buffers = []
        for j, (init, lag) in enumerate(zip(inits, self.lags)):
            if init.shape[0] != lag:
                raise ValueError(f"scan: the initial value of {self.out_labels[j]} has "
                                 f"{init.shape[0]} rows, its taps {list(self.mit_taps[j])} "
                                 f"need {lag}")
            buf = np.empty((n + lag,) + init.shape[1:], dtype=node.outputs[j].dtype)
            buf[:lag] = init
            buffers.append(buf)
        carry_shapes = [c.shape for c in carries]
        nits = [None] * self.n_nit
        for t in range(n):
            # [t, ...] gives a 0-d array, not a NumPy scalar, for a vector's entry
            args = [s[t, ...] for s in seqs]
            for buf, lag, taps in zip(buffers, self.lags, self.mit_taps):
                args.extend(buf[t + lag + k, ...] for k in taps)
            args.extend(carries)
            args.extend(nonseqs)
            try:
                values = step(args)
            except Exception as exc:
                exc.add_note(f"in step {t} of the loop")
                raise
            for j, (buf, lag) in enumerate(zip(buffers, self.lags)):
                self._check_step_shape(j, t, values[j], buf.shape[1:])
                buf[t + lag] = values[j]
            for m in range(self.n_nit):
                value = values[self.n_mit + m]
                if nits[m] is None:
                    nits[m] = np.empty((n,) + value.shape, dtype=value.dtype)
                self._check_step_shape(self.n_mit + m, t, value, nits[m].shape[1:])
                nits[m][t] = value
            for c in range(self.n_carry):
                k = self.n_mit + self.n_nit + c
                self._check_step_shape(k, t, values[k], carry_shapes[c])
                carries[c] = values[k]
        if n == 0 and self.n_nit:
            for m, shape in enumerate(self._rows_without_steps(node, inputs)):
                nits[m] = np.empty((0,) + shape, dtype=node.outputs[self.n_mit + m].dtype)
        for k, value in enumerate(buffers + nits + carries):
            output_storage[k][0] = np.asarray(value)

    def _rows_without_steps(self, node, inputs):
        """The row shapes of the non-recurrent outputs when no step runs: from the
        inner graph's shapes where they follow from the inputs' shapes, else the
        static sizes (0 where unknown)."""
        from symtheano.compile.mode import PyProgram
        from symtheano.tensor.shape import MakeVector, shape_tuple

        stand_ins = [v.type.make_variable() for v in node.inputs]
        in_shapes = [shape_tuple(v) for v in stand_ins]
        probe = Apply(self, stand_ins, [o.type.make_variable() for o in node.outputs])
        rows = []
        for out in self.inner_outputs[self.n_mit:self.n_mit + self.n_nit]:
            try:
                shape = self._inner_shape(out, probe, in_shapes)
            except NotImplementedError:
                rows.append(tuple(s or 0 for s in out.type.shape))
                continue
            if not shape:
                rows.append(())
                continue
            program = PyProgram(FunctionGraph(stand_ins, [MakeVector("int64")(*shape)]))
            rows.append(tuple(int(s) for s in program(list(inputs))[0]))
        return rows

    def _check_step_shape(self, k, t, value, want):
        if value.shape != tuple(want):
            before = ("its initial value" if k < self.n_mit or k >= self.n_mit + self.n_nit
                      else "step 0")
            raise ValueError(f"scan: the step function gave {self.out_labels[k]} the shape "
                             f"{value.shape} at step {t}, but {before} had {tuple(want)}; "
                             "an output's shape must not change from step to step")

    # -- shapes ----------------------------------------------------------------------------

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.basic import add
        from symtheano.tensor.var import constant

        n = node.inputs[0]
        s_seq, s_init, s_carry, s_nonseq = self.outer_slices()
        shapes = []
        for lag, shape in zip(self.lags, input_shapes[s_init]):
            shapes.append((add(n, constant(np.int64(lag))),) + tuple(shape[1:]))
        for out in self.inner_outputs[self.n_mit:self.n_mit + self.n_nit]:
            shapes.append((n,) + self._inner_shape(out, node, input_shapes))
        shapes.extend(tuple(s) for s in input_shapes[s_carry])
        return shapes

    def _inner_shape(self, out, node, input_shapes):
        """The shape of inner output `out` in terms of the outer inputs' shapes, by
        the inner ops' infer_shape; NotImplementedError when it depends on values."""
        from symtheano.tensor.shape import shape_i
        from symtheano.tensor.var import constant

        if None not in out.type.shape:
            return tuple(constant(np.int64(s)) for s in out.type.shape)
        s_seq, s_init, s_carry, s_nonseq = self.outer_slices()
        known = {}
        for p, shape in zip(self.seq_inputs(), input_shapes[s_seq]):
            known[p] = tuple(shape[1:])
        for group, shape in zip(self.tap_inputs(), input_shapes[s_init]):
            for p in group:
                known[p] = tuple(shape[1:])
        for p, shape in zip(self.carry_inputs(), input_shapes[s_carry]):
            known[p] = tuple(shape)
        for p, shape in zip(self.nonseq_inputs(), input_shapes[s_nonseq]):
            known[p] = tuple(shape)
        for inner in toposort([out]):
            in_shapes = [known.get(v) or tuple(shape_i(v, d) for d in range(v.ndim))
                         for v in inner.inputs]
            for o, shape in zip(inner.outputs, inner.op.infer_shape(inner, in_shapes)):
                known[o] = tuple(shape)
        result = known.get(out) or tuple(shape_i(out, d) for d in range(out.ndim))
        placeholders = set(self.inner_inputs)
        if any(v in placeholders for v in graph_inputs(list(result))):
            raise NotImplementedError(f"{self}: the shape of {out} depends on values computed "
                                      "inside the loop")
        return result

    # -- derivatives -------------------------------------------------------------------------

    def L_op(self, inputs, outputs, output_grads):
        from symtheano.scan_module.grad import pullback

        return pullback(self, inputs, outputs, output_grads)

    def R_op(self, inputs, eval_points):
        from symtheano.scan_module.grad import pushforward_scan

        return pushforward_scan(self, inputs, eval_points)

    def connection_pattern(self, node):
        return [[i > 0] * len(node.outputs) for i in range(len(node.inputs))]

    # -- the C back end ----------------------------------------------------------------------

    def native_loop(self, node):
        """The program runner's loop over the compiled inner program (native.py)."""
        loop = self._compiled.get("native")
        if loop is None:
            from symtheano.scan_module.native import build_loop

            loop = self._compiled["native"] = build_loop(self)
        return loop
