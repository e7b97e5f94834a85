"""Programs: a rewritten graph turned into one list of instructions that the
runner (vm/st_vm.c, loaded by vm.py) executes in a single native call.

Every variable gets a slot. Each node, in topological order, becomes an
instruction: the native entry of its compiled library when an emitter offers
one (runtime/st_node.h), with the op's reference `perform` for the calls the
entry declines; otherwise a compiled perform or the op's own, called from the
runner. After each instruction the slots no later instruction reads and that
are not outputs are released, so intermediates are freed as early as in
Theano's VM with garbage collection on.
"""

from __future__ import annotations

import os

import numpy as np
from symtheano.codegen.c import build, vm
from symtheano.codegen.c.linker import c_perform, load_emitters, native_entry

from symtheano.compile.mode import _add_node_note, _wrong_output
from symtheano.graph.basic import Constant

MAX_DIMS = 32  # ST_MAX_DIMS in runtime/st_node.h
_ROUNDS = 4  # rounds of compiling what is missing, then the rest compiles as it comes


def _entries(nodes):
    """native_entry of every node.

    Each round first looks every remaining node's library up in the bundle and
    the cache only (build.cached_only: no compiler, no lock, no thread), so a
    function whose libraries are all there costs one pass and starts no thread.
    Otherwise the round compiles one node per distinct missing library (or
    toolchain probe) concurrently, one compiler process per core, so no worker
    waits for a library another worker is building; nodes sharing a library
    pick it up in the next round's lookup."""
    load_emitters()
    entries = [None] * len(nodes)
    todo = list(range(len(nodes)))
    for _ in range(_ROUNDS):
        missing = {}  # key of the first missing library -> the nodes that need it
        with build.cached_only():
            for i in todo:
                try:
                    entries[i] = native_entry(nodes[i])
                except build.NotCached as exc:
                    missing.setdefault(exc.key, []).append(i)
        if not missing:
            return entries
        first = [group[0] for group in missing.values()]
        for i, entry in zip(first, _compile_concurrently([nodes[i] for i in first])):
            entries[i] = entry
        todo = [i for group in missing.values() for i in group[1:]]
    for i, entry in zip(todo, _compile_concurrently([nodes[i] for i in todo])):
        entries[i] = entry
    return entries


def _loop(node):
    """The runner's loop for a node whose op runs an inner graph once per step
    (Scan: `op.native_loop(node)`, an st_vm.Loop over the inner graph's own
    program), or None."""
    make = getattr(node.op, "native_loop", None)
    return None if make is None else make(node)


def _compile_concurrently(nodes):
    """native_entry of each node, compiling what is missing, one thread per core."""
    workers = min(len(nodes), os.cpu_count() or 1)
    if workers <= 1:
        return [native_entry(n) for n in nodes]
    from concurrent.futures import ThreadPoolExecutor  # ~5 ms to import: cold path only

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(native_entry, nodes))


def storage_plan(fgraph, nodes):
    """(slot of every variable, per node the slots to release after it) for running
    `nodes` (fgraph's, in topological order): inputs first, then each node's inputs
    and outputs as met, then the outputs; a slot is released after its last reader
    (a value nothing reads, after the node making it), unless it is an output.
    Shared by the C program runner, the standalone C export and the CUDA program."""
    slot = {}
    for v in fgraph.inputs:
        slot.setdefault(v, len(slot))
    for node in nodes:
        for v in (*node.inputs, *node.outputs):
            slot.setdefault(v, len(slot))
    for v in fgraph.outputs:
        slot.setdefault(v, len(slot))
    keep = {slot[v] for v in fgraph.outputs}
    last_reader = {}
    for i, node in enumerate(nodes):
        for v in node.inputs:
            last_reader[slot[v]] = i
        for v in node.outputs:
            last_reader.setdefault(slot[v], i)  # never read: released at once
    releases = [[] for _ in nodes]
    for s, i in sorted(last_reader.items()):
        if s not in keep:
            releases[i].append(s)
    return slot, releases


class NativeProgram:
    """Runs a FunctionGraph in one call of an `st_vm.Program`."""

    def __init__(self, fgraph):
        self.fgraph = fgraph
        self.nodes = fgraph.toposort()
        slot, releases = storage_plan(fgraph, self.nodes)

        self.kinds = []  # per node: "native", "compiled" or "reference"
        instructions = []
        entries = _entries(self.nodes)
        for i, node in enumerate(self.nodes):
            entry = entries[i]
            loop = _loop(node)
            if loop is not None:
                address, params = 0, ()
                perform = node.op.perform
                self.kinds.append("native")
            elif entry is not None:
                address, params = entry
                perform = node.op.perform
                self.kinds.append("native")
            else:
                address, params = 0, ()
                compiled = c_perform(node)
                perform = compiled or node.op.perform
                self.kinds.append("compiled" if compiled else "reference")
            instructions.append((
                address, tuple(int(p) for p in params),
                tuple(slot[v] for v in node.inputs), tuple(slot[v] for v in node.outputs),
                tuple(np.dtype(v.dtype).num for v in node.outputs),
                tuple(v.ndim for v in node.outputs), tuple(releases[i]), node, perform)
                + (() if loop is None else (loop,)))
        constants = tuple((s, v.data) for v, s in slot.items() if isinstance(v, Constant))
        # Kept for profiling, which runs them one at a time (compile/profiling.py).
        self.instructions = tuple(instructions)
        self._run = vm.module().Program(
            len(slot), tuple(slot[v] for v in fgraph.inputs),
            tuple(slot[v] for v in fgraph.outputs), constants, tuple(instructions),
            self._annotate, self._wrong_output)

    def __call__(self, input_values):
        return self._run(input_values)

    def direct_call(self, filter, single, types):
        """The runner's whole-call entry `call(args)`: arguments that are arrays of
        exactly the input's type (or Python floats for float64 scalars) are taken
        as they are, others go through `filter(position, value)`; outputs that are
        not private are copied. Returns NotImplemented for calls it leaves to the
        caller (another number of arguments). None when the runner cannot take
        these arguments (more than MAX_DIMS dimensions)."""
        if any(t.ndim > MAX_DIMS for t in types):
            return None
        specs = [(np.dtype(t.dtype).num, t.ndim, tuple(-1 if n is None else n for n in t.shape))
                 for t in types]
        self._run.set_call(filter, single, specs)
        return self._run.call

    def _annotate(self, exc, index):
        _add_node_note(exc, self.nodes[index])

    def _wrong_output(self, index, k, value):
        node = self.nodes[index]
        _wrong_output(node, node.outputs[k], value)

    def compiled_nodes(self):
        """The nodes that run compiled code (natively or from Python)."""
        return [n for n, kind in zip(self.nodes, self.kinds) if kind != "reference"]

    def native_nodes(self):
        """The nodes the runner calls natively."""
        return [n for n, kind in zip(self.nodes, self.kinds) if kind == "native"]

    def c_nodes(self):
        """How many nodes run compiled code."""
        return len(self.compiled_nodes())
