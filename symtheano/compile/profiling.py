"""`function(..., profile=True)`: where a compiled function's time goes.

A profiled function keeps a `ProfileStats` as `f.profile`: per node (a fused
kernel, a BLAS call, a reduction, a reference `perform`) how often it ran and
for how long; the compile time, split into rewriting and linking (fetching
or compiling kernels, assembling the program) with the number of libraries
compiled rather than found in the cache; and the time of whole calls, whose
part not spent in nodes is the Python call path (argument checks, output
copies, updates). `f.profile.summary()` prints it as a table.

How nodes are timed without slowing anything that is not profiled:

- The reference program and the node-by-node C program (`PyProgram`,
  `CProgram`, `DebugProgram`) call one perform per node from Python: the
  profiled function's program gets each perform wrapped in a timer.
- The program runner (`NativeProgram`, codegen/c/program.py) executes the whole
  graph in one native call, so there is no place between nodes to read a
  clock. A profiled function instead runs its nodes one by one: each node
  becomes a runner program of one instruction, the very instruction (native
  entry, parameters, fallback perform, loop) the whole program holds, and a
  Python loop times each call. Kernels and their results are the same; each
  node's time includes the runner's per-call cost (about a microsecond), so
  tiny nodes look a little slower than they are inside the one-call program,
  and the call path shows the loop's own overhead. No branch or clock was
  added to the runner itself.
- A CUDA program (`CudaProgram`, codegen/cuda/program.py) runs its steps from
  Python: a profiled one records a device marker after each step (a CUDA event
  on a GPU, the host clock on FakeDevice) and synchronises once at the end of
  the call; a row's time is the device time between its step's markers
  (codegen/cuda/profile.py says what that means for steps working on the host).
  Its kind is the step's: kernel, blas, view, assemble, host, meta or fallback,
  and steps that copied data between host and device (fallbacks, and kernels
  that declined a call) report the bytes. Unprofiled CUDA calls record nothing.
"""

from __future__ import annotations

import sys
import time

from symtheano.graph.basic import Constant


class NodeStats:
    """Calls and total seconds of one node of a profiled function."""

    __slots__ = ("node", "kind", "calls", "seconds", "copied_bytes")

    def __init__(self, node, kind):
        self.node, self.kind = node, kind
        self.calls, self.seconds = 0, 0.0
        self.copied_bytes = 0  # between host and device (CUDA fallback steps)

    def label(self, limit=60):
        from symtheano.printing import short_label

        out = self.node.outputs[0]
        text = short_label(out, limit) if out.name is None else f"{self.node.op}"
        return text if len(text) <= limit else text[: limit - 3] + "..."


class ProfileStats:
    """What `function(..., profile=True)` measured (`f.profile`)."""

    def __init__(self, name, nodes, kinds, rewrite_s, link_s, libraries_built):
        self.name = name
        self.nodes = [NodeStats(n, k) for n, k in zip(nodes, kinds)]
        self.rewrite_seconds = rewrite_s
        self.link_seconds = link_s
        self.libraries_built = libraries_built
        self.calls = 0
        self.call_seconds = 0.0

    @property
    def compile_seconds(self):
        return self.rewrite_seconds + self.link_seconds

    @property
    def node_seconds(self):
        return sum(s.seconds for s in self.nodes)

    @property
    def call_path_seconds(self):
        """Time in calls not spent inside nodes: the Python call path."""
        return max(0.0, self.call_seconds - self.node_seconds)

    def reset(self):
        """Forget the calls measured so far (the compile times stay)."""
        self.calls, self.call_seconds = 0, 0.0
        for s in self.nodes:
            s.calls, s.seconds, s.copied_bytes = 0, 0.0, 0

    def summary(self, file=None, n_nodes=20):
        """Print the table (to stdout, a stream, or return it with file="str")."""
        text = self._table(n_nodes)
        if file == "str":
            return text
        (file or sys.stdout).write(text)
        return None

    def __str__(self):
        return self._table(20)

    def _table(self, n_nodes):
        us = 1e6
        per_call = (lambda t: t / self.calls * us) if self.calls else (lambda t: 0.0)
        built = ("all kernels from the cache" if self.libraries_built == 0
                 else f"{self.libraries_built} libraries compiled")
        lines = [
            f"Profile of {self.name}: {self.calls} call(s)",
            f"  compile       {self.compile_seconds * 1e3:10.2f} ms  (rewrite "
            f"{self.rewrite_seconds * 1e3:.2f} ms, link {self.link_seconds * 1e3:.2f} ms; "
            f"{built})",
            f"  calls         {self.call_seconds * 1e3:10.3f} ms  "
            f"({per_call(self.call_seconds):.1f} us per call)",
            f"    in nodes    {self.node_seconds * 1e3:10.3f} ms  "
            f"({per_call(self.node_seconds):.1f} us per call)",
            f"    call path   {self.call_path_seconds * 1e3:10.3f} ms  "
            f"({per_call(self.call_path_seconds):.1f} us per call: argument checks, "
            f"output copies, updates, the profiler's loop)",
            "",
            f"  {'time %':>7} {'total ms':>10} {'calls':>7} {'us/call':>9}  {'kind':<9} node",
        ]
        total = self.node_seconds or 1.0
        ranked = sorted(self.nodes, key=lambda s: -s.seconds)
        for s in ranked[:n_nodes]:
            each = s.seconds / s.calls * us if s.calls else 0.0
            copied = (f"  [copies {s.copied_bytes / s.calls:.0f} bytes per call]"
                      if s.copied_bytes and s.calls else "")
            lines.append(f"  {100 * s.seconds / total:6.1f}% {s.seconds * 1e3:10.3f} "
                         f"{s.calls:7d} {each:9.1f}  {s.kind:<9} {s.label()}{copied}")
        if len(ranked) > n_nodes:
            rest = ranked[n_nodes:]
            lines.append(f"  ... {len(rest)} more node(s), "
                         f"{sum(s.seconds for s in rest) * 1e3:.3f} ms")
        return "\n".join(lines) + "\n"

    def __repr__(self):
        return (f"<ProfileStats {self.name}: {self.calls} call(s), {len(self.nodes)} node(s), "
                f"{self.call_seconds * 1e3:.3f} ms in calls>")


def profiled_program(program, name, rewrite_s, link_s, libraries_built):
    """(program to run instead, its ProfileStats) for a linked `program`."""
    if hasattr(program, "device_call"):  # CUDA: each step timed on the device
        stats = ProfileStats(name, program.nodes, program.kinds, rewrite_s, link_s,
                             libraries_built)
        program.profile_rows = stats.nodes
        return program, stats
    if hasattr(program, "steps"):  # node by node from Python: wrap each perform
        nodes = [node for _, node, _, _ in program.steps]
        kinds = [_step_kind(perform, node) for perform, node, _, _ in program.steps]
        stats = ProfileStats(name, nodes, kinds, rewrite_s, link_s, libraries_built)
        program.steps = [(_timed(perform, s), node, ins, outs) for (perform, node, ins, outs), s
                         in zip(program.steps, stats.nodes)]
        if hasattr(program, "compiled_nodes"):  # the wrapped performs hide which are compiled
            program.compiled_nodes = lambda: [s.node for s in stats.nodes
                                              if s.kind != "reference"]
        return program, stats
    if hasattr(program, "instructions"):  # the program runner: one call per node
        stats = ProfileStats(name, program.nodes, program.kinds, rewrite_s, link_s,
                             libraries_built)
        return _NodeByNode(program, stats), stats
    # Another back end: whole calls and compile times only, no node rows.
    return program, ProfileStats(name, [], [], rewrite_s, link_s, libraries_built)


def _step_kind(perform, node):
    return "reference" if perform == node.op.perform else "compiled"


def _timed(perform, stats):
    clock = time.perf_counter

    def timed(node, inputs, output_storage):
        start = clock()
        try:
            return perform(node, inputs, output_storage)
        finally:
            stats.seconds += clock() - start
            stats.calls += 1

    return timed


class _NodeByNode:
    """A NativeProgram's instructions run one runner call per node, each timed."""

    def __init__(self, program, stats):
        from symtheano.codegen.c import vm
        from symtheano.compile.mode import _add_node_note, _wrong_output

        self.fgraph = program.fgraph
        self.stats = stats
        self.inputs = list(program.fgraph.inputs)
        self.outputs = list(program.fgraph.outputs)
        self.constants = {id(v): v.data for v in program.fgraph.variables
                          if isinstance(v, Constant)}
        self.steps = []
        Program = vm.module().Program
        for node, instr in zip(program.nodes, program.instructions):
            reads = list(dict.fromkeys(node.inputs))  # each variable once
            local = {id(v): i for i, v in enumerate(reads)}
            n_in = len(reads)
            out_slots = tuple(n_in + k for k in range(len(node.outputs)))
            one = ((instr[0], instr[1], tuple(local[id(v)] for v in node.inputs), out_slots)
                   + tuple(instr[4:6]) + ((),) + tuple(instr[7:]))

            def annotate(exc, index, node=node):
                _add_node_note(exc, node)

            def wrong(index, k, value, node=node):
                _wrong_output(node, node.outputs[k], value)

            runner = Program(n_in + len(node.outputs), tuple(range(n_in)), out_slots, (),
                             (one,), annotate, wrong)
            self.steps.append((runner, [id(v) for v in reads], [id(o) for o in node.outputs]))

    def __call__(self, input_values):
        clock = time.perf_counter
        values = dict(self.constants)
        for var, value in zip(self.inputs, input_values):
            values[id(var)] = value
        for (runner, reads, writes), stats in zip(self.steps, self.stats.nodes):
            args = [values[i] for i in reads]
            start = clock()
            try:
                results = runner(args)
            finally:
                stats.seconds += clock() - start
                stats.calls += 1
            for i, value in zip(writes, results):
                values[i] = value
        return [values[id(v)] for v in self.outputs]

    def compiled_nodes(self):
        return [s.node for s in self.stats.nodes if s.kind != "reference"]
