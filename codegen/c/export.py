"""Standalone C export: a compiled function as a `.c` and a `.h` that build with a
plain C compiler and run without Python (`Function.export_c`).

The export is the function's rewritten graph as a program for a small runner
in C (runtime/st_export.h), the counterpart of the one Python uses: each node
calls the same native entry (runtime/st_node.h) that it calls from Python,
with the same parameters, and the runner hands out outputs (malloc'ed arrays,
inputs reused in place, views) and frees intermediates after their last
reader. The entries' sources come from the emitters themselves, asked under
`build.sources_only`, so nothing is compiled here, no kernel is written twice,
and sources come without the AVX2/libmvec path (portable C). All the libraries
go into one file, each as a prefixed part (export_source.py); entries that
call other kernels by address (PaddedSum) get those addresses through
relocations filled at each call.

A second program computes the output shapes from the inputs (the shapes of
the original outputs, rewritten so that they read only what they need), for
`<name>_shapes`. Shared variables become trailing inputs; functions with
updates are refused (export a function returning the new values instead). A
node without a native entry (an op that only has its Python `perform`) is
refused with an error naming it. User-chosen names reach the files only as
sanitised comments; C identifiers come from `name`, which must be one.
"""

from __future__ import annotations

import collections
import pathlib
import re
import secrets

import numpy as np
from symtheano.codegen.c import build, export_source
from symtheano.codegen.c.export_source import c_array, comment_text, int64_literal, literals
from symtheano.codegen.c.linker import native_entry
from symtheano.codegen.c.program import storage_plan

from symtheano.graph.basic import Constant

TEMPLATES = pathlib.Path(__file__).resolve().parent / "export_templates"
MAX_OUTPUTS = 64  # bits of the `wanted` mask
MAX_DIMS = 32  # ST_MAX_DIMS in runtime/st_node.h
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}\Z")
_KEYWORDS = frozenset((
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while main bool true false asm typeof").split())

Exported = collections.namedtuple("Exported", "source header example")
Exported.__doc__ = "Paths of the files `export_c` wrote: name.c, name.h, name_main.c."


class ExportError(ValueError):
    """The function cannot be exported as standalone C (the message says why)."""


def check_name(name):
    """`name` when it can prefix the C identifiers of an export, else ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"export_c: name must be a C identifier (a letter, then letters, digits "
                         f"or underscores, at most 40 characters), got {name!r}")
    if name in _KEYWORDS:
        raise ValueError(f"export_c: name {name!r} is a C keyword or main")
    if name.lower() == "st" or name.lower().startswith("st_"):
        raise ValueError(f"export_c: names starting with 'st_' are symtheano's runtime's, "
                         f"got {name!r}")
    return name


class _Libraries:
    """The recorder given to build.sources_only: each library source gets an index,
    each (library, symbol) a token that stands for its address in params."""

    def __init__(self):
        self.sources, self.descriptions = [], []
        self._index, self._tokens, self.symbols = {}, {}, {}
        # Random high values: that a genuine parameter (a size, a slice bound) equals one
        # is a coincidence of about one in 2**50.
        self._base = (1 << 62) | secrets.randbits(50) << 10

    def __call__(self, source, symbol, extra_args, description):
        if extra_args:
            raise ExportError(f"export_c: the library of {description!r} needs compiler "
                              f"arguments {extra_args}; exports take no arguments")
        lib = self._index.get(source)
        if lib is None:
            lib = self._index[source] = len(self.sources)
            self.sources.append(source)
            self.descriptions.append(description)
        token = self._tokens.setdefault((lib, symbol), self._base + len(self._tokens))
        self.symbols[token] = (lib, symbol)
        return token


class _Program:
    """A FunctionGraph as st_export.h runs it: slots numbered as program.py numbers
    them, the native entry of every node, the slots released after each node,
    and which outputs need each node."""

    def __init__(self, fgraph, libraries, copied_inputs=()):
        self.fgraph = fgraph
        self.nodes = fgraph.toposort()
        slot, self.releases = storage_plan(fgraph, self.nodes)
        self.slot, self.variables = slot, list(slot)
        for v in self.variables:
            if getattr(v, "dtype", None) not in export_source.C_TYPES or v.ndim > MAX_DIMS:
                raise ExportError(f"export_c: a value of type {v.type} has no C type here "
                                  f"(C types of bool, integers, float32/64; ndim <= {MAX_DIMS})")
        self.need = _needs(fgraph)
        self.entries = [_entry(node, i, libraries) for i, node in enumerate(self.nodes)]
        self.copied = {slot[v] for v in copied_inputs}
        self.constants = [v for v in self.variables if isinstance(v, Constant)]

    def users(self, lib, what):
        """Which of this program's nodes call library `lib`, as words."""
        entries = [str(i) for i, e in enumerate(self.entries) if e[0] == lib]
        kernels = [str(i) for i, e in enumerate(self.entries) if any(t[0] == lib for _, t in e[3])]
        said = [f"entries of {what} {', '.join(entries)}" if entries else "",
                f"kernels of {what} {', '.join(kernels)}" if kernels else ""]
        return "; ".join(s for s in said if s)

    def text(self, tag, c_name):
        """The C tables of this program, `static const st_x_program st_x_<tag>` and
        what it points to; `c_name(library, symbol)` names a library's symbol."""
        n = f"st_x_{tag}"
        out = []
        for k, var in enumerate(self.constants):
            data = np.asarray(var.data)
            out.append(c_array(export_source.C_TYPES[data.dtype.name], f"{n}_c{k}",
                               literals(data), per_line=4))
            out.append(c_array("int64_t", f"{n}_c{k}_shape", map(str, data.shape)))
        rows = [self._instruction(out, n, i, c_name) for i in range(len(self.nodes))]
        out.append("/* per node: entry, params, relocations, slots read, written and released "
                   "after it, the outputs that need it (bits) */")
        out.append(c_array("st_x_instr", f"{n}_instr", rows, per_line=1))
        out.append(c_array("int64_t", f"{n}_itemsize",
                           (str(np.dtype(v.dtype).itemsize) for v in self.variables), 16))
        out.append(c_array("int64_t", f"{n}_ndim", (str(v.ndim) for v in self.variables), 16))
        for what, variables in (("inputs", self.fgraph.inputs), ("outputs", self.fgraph.outputs)):
            rows = []
            for k, v in enumerate(variables):
                static = [str(-1 if size is None else size) for size in v.type.shape]
                out.append(c_array("int64_t", f"{n}_{what}{k}_shape", static, 16))
                copy = int(what == "inputs" and self.slot[v] in self.copied)
                rows.append(f"{{{self.slot[v]}, {copy}, {v.ndim}, {n}_{what}{k}_shape}}")
            out.append(c_array("st_x_io", f"{n}_{what}", rows, per_line=1))
        rows = [f"{{{self.slot[v]}, {v.ndim}, {n}_c{k}_shape, {n}_c{k}}}"
                for k, v in enumerate(self.constants)]
        out.append(c_array("st_x_const", f"{n}_consts", rows, per_line=1))
        max_io = max([len(nd.inputs) + len(nd.outputs) for nd in self.nodes] or [0])
        max_params = max([len(e[2]) for e in self.entries] or [0])
        sizes = (len(self.variables), len(self.fgraph.inputs), len(self.fgraph.outputs),
                 len(self.nodes), len(self.constants), max_io, max_params)
        out.append(f"static const st_x_program {n} = {{\n    {', '.join(map(str, sizes))},\n"
                   f"    {n}_itemsize, {n}_ndim, {n}_inputs, {n}_outputs, {n}_instr, "
                   f"{n}_consts\n}};")
        return "\n".join(out)

    def _instruction(self, out, n, i, c_name):
        """Node i's row of the instruction table; its arrays go to `out`."""
        node, (lib, symbol, params, relocs) = self.nodes[i], self.entries[i]
        out.append(f"/* node {i}: {comment_text(node.op, 70)} */")
        out.append(c_array("int64_t", f"{n}_p{i}", map(int64_literal, params)))
        relocs = [f"{{{at}, (st_x_fn){c_name(*target)}}}" for at, target in relocs]
        if relocs:
            out.append(c_array("st_x_reloc", f"{n}_r{i}", relocs, per_line=2))
        lists = {"i": [self.slot[v] for v in node.inputs],
                 "o": [self.slot[v] for v in node.outputs], "f": self.releases[i]}
        for what, slots in lists.items():
            out.append(c_array("int32_t", f"{n}_{what}{i}", map(str, slots), 16))
        return (f"{{{c_name(lib, symbol)}, {n}_p{i}, {len(params)}, "
                f"{f'{n}_r{i}' if relocs else 'NULL'}, {len(relocs)}, "
                f"{n}_i{i}, {n}_o{i}, {n}_f{i}, "
                f"{len(lists['i'])}, {len(lists['o'])}, {len(lists['f'])}, "
                f"UINT64_C({hex(self.need[node])})}}")


def _needs(fgraph):
    """Per node, the bit mask of the outputs whose computation needs it."""
    need = dict.fromkeys(fgraph.apply_nodes, 0)
    inputs = set(fgraph.inputs)
    for k, out in enumerate(fgraph.outputs):
        todo, seen = [out], set()
        while todo:
            v = todo.pop()
            if v in inputs or v.owner is None or v.owner in seen:
                continue
            seen.add(v.owner)
            need[v.owner] |= 1 << k
            todo.extend(v.owner.inputs)
    return need


def _entry(node, index, libraries):
    """(library, symbol, params, relocations) of `node`'s native entry."""
    with build.sources_only(libraries):
        entry = native_entry(node)
    if entry is None:
        from symtheano.printing import short_label

        where = node.outputs[0].where()
        raise ExportError(
            f"export_c: node {index}, {node.op} computing {short_label(node.outputs[0], 80)}"
            f"{f' (built at {where})' if where else ''}, has no C implementation: "
            f"{type(node.op).__name__} runs only its Python perform, so the function cannot "
            "run without Python")
    address, params = entry
    if address not in libraries.symbols:
        raise ExportError(f"export_c: the entry of {node.op} does not come from a library")
    lib, symbol = libraries.symbols[address]
    values, relocs = [], []
    for at, p in enumerate(params):
        p = int(p)
        if p in libraries.symbols:
            relocs.append((at, libraries.symbols[p]))
            p = 0
        values.append(p)
    return lib, symbol, values, relocs


def _shape_graph(inputs, outputs, shared):
    """The rewritten graph computing the shape vector of each output from the
    inputs (shared variables as trailing inputs), and whether it reads the
    inputs' values (not only their shapes)."""
    from symtheano.compile.function import function
    from symtheano.compile.mode import Mode
    from symtheano.tensor.shape import Shape, ShapeI, shape

    standins = [v.type() for v in shared]
    shapes = function(list(inputs) + standins, [shape(o) for o in outputs],
                      mode=Mode("py", "fast_run"), givens=list(zip(shared, standins)),
                      on_unused_input="ignore")
    fgraph = shapes.fgraph
    roots = set(fgraph.inputs)
    reads_values = any(v in roots and not isinstance(node.op, Shape | ShapeI)
                       for node in fgraph.apply_nodes for v in node.inputs)
    return fgraph, reads_values


def _signature(fgraph, n_declared, outputs):
    """The doc lines listing the inputs and outputs (names as sanitised comments)."""
    lines = []
    for what, variables in (("in", fgraph.inputs), ("out", fgraph.outputs)):
        for k, v in enumerate(variables):
            sizes = ", ".join("any" if s is None else str(s) for s in v.type.shape)
            label = v.name if what == "in" else outputs[k].name
            note = f'  "{comment_text(label, 30)}"' if label else ""
            if what == "in" and k >= n_declared:
                note += "  (shared variable: pass its current value)"
            lines.append(f" *   {what}[{k}]  {v.dtype}, {v.ndim} dimension(s) "
                         f"({sizes}){note}")
    return "\n".join(lines)


def _info(variables):
    rows = []
    for v in variables:
        sizes = ", ".join(str(-1 if s is None else s) for s in v.type.shape) or "0"
        rows.append(f'    {{"{v.dtype}", {np.dtype(v.dtype).itemsize}, {v.ndim}, {{{sizes}}}}}')
    return ",\n".join(rows) or '    {"", 0, 0, {0}}'


def _fill(template, values):
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    leftover = re.search(r"\{\{\w+\}\}", text)
    if leftover:
        raise RuntimeError(f"export_c internal error: {template} leaves {leftover.group(0)}")
    return text


def export_function(fgraph, inputs, outputs, shared, updated, directory, name="f"):
    """Write name.c, name.h and name_main.c into `directory` (created if missing)
    for a compiled function: its rewritten `fgraph` (inputs: `inputs`, then the
    `shared` variables it reads), the user's `outputs` and the shared variables
    it `updated`. Returns the paths written (Exported)."""
    from symtheano import __version__

    check_name(name)
    if updated:
        raise ExportError("export_c: the function updates shared variables; an export computes "
                          "outputs only. Compile a function that returns the new values as "
                          "outputs (and takes the shared values as inputs) and export that")
    if len(fgraph.outputs) > MAX_OUTPUTS:
        raise ExportError(f"export_c: {len(fgraph.outputs)} outputs; at most {MAX_OUTPUTS}")
    from symtheano.rewrite.inplace import destroyed_inputs

    libraries = _Libraries()
    main = _Program(fgraph, libraries, destroyed_inputs(fgraph))
    size_graph, reads_values = _shape_graph(inputs, outputs, shared)
    sizes = _Program(size_graph, libraries)

    upper = name.upper()
    runtime, kept, shared = export_source.shared_runtime()
    prefix_of = [f"{name}_l{lib}_" for lib in range(len(libraries.sources))]

    def c_name(lib, symbol):
        return export_source.renamed(symbol, prefix_of[lib], kept)

    parts, uses_blas = [], False
    for lib, source in enumerate(libraries.sources):
        uses_blas |= "blas.h" in build.included_headers(source)
        users = "; ".join(u for u in (main.users(lib, "nodes"), sizes.users(lib, "shape nodes"))
                          if u)
        parts.append(f"/* ======== part {lib}: {comment_text(libraries.descriptions[lib], 60)}"
                     f" ({users}) ======== */\n"
                     + export_source.part(source, prefix_of[lib], kept, shared,
                                          f"{upper}_CBLAS_PREFIX"))
    runner = export_source.inline_includes(export_source.header("st_export.h"), shared, set())
    link, link_note = "", ""
    if uses_blas:
        from symtheano.codegen.c.blas import openblas

        link = f"-l{openblas()['library']} "
        link_note = "".join(f" * {line}\n" for line in (
            "The function calls CBLAS (32-bit integers) under the symbols of the",
            "scipy-openblas32 package (scipy_cblas_dgemm, ...): link its library, whose",
            "folder `python -c 'import scipy_openblas32 as s; print(s.get_lib_dir())'`",
            "prints (-L that folder, and -Wl,-rpath there or LD_LIBRARY_PATH). For another",
            f"CBLAS, compile {name}.c with -D{upper}_CBLAS_PREFIX= (or its symbol prefix).",
            ""))
    shapes_note = ("Some output shapes depend on input values: pass the inputs' data too."
                   if reads_values else
                   "It reads only the inputs' ndim and shape: their data may be NULL.")
    values = {
        "NAME": name, "UPPER": upper, "VERSION": __version__, "LINK": link,
        "LINK_NOTE": link_note, "SHAPES_NOTE": shapes_note,
        "SIGNATURE": _signature(fgraph, len(inputs), outputs),
        "N_IN": str(len(fgraph.inputs)), "N_OUT": str(len(fgraph.outputs)),
        "MAX_DIMS": str(max([1] + [v.ndim for v in (*fgraph.inputs, *fgraph.outputs)])),
        "ALL": hex((1 << len(fgraph.outputs)) - 1),
        "RUNTIME": runtime, "PARTS": "\n\n".join(parts), "RUNNER": runner,
        "PROGRAMS": (main.text("main", c_name) + "\n\n/* the output shapes */\n"
                     + sizes.text("sizes", c_name)),
        "INPUT_INFO": _info(fgraph.inputs), "OUTPUT_INFO": _info(fgraph.outputs),
        "SHAPES_NEED_DATA": str(int(reads_values)),
    }
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = Exported(directory / f"{name}.c", directory / f"{name}.h",
                     directory / f"{name}_main.c")
    paths.source.write_text(_fill("source.c.in", values))
    paths.header.write_text(_fill("header.h.in", values))
    paths.example.write_text(_fill("main.c.in", values))
    return paths
