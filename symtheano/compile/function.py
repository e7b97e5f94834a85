"""`function`: compile symbolic inputs and outputs into a callable.

The user's graph is copied (with `givens` substituted) into a FunctionGraph,
rewritten by the mode's pipeline, and handed to the mode's back end, which
returns a program. `Function` checks the caller's arguments, runs the program
and applies `updates` to shared variables.

An update such as `W - lr * dot(x.T, g)` may be computed into W's own storage
(Gemm{inplace}, symtheano/rewrite/inplace.py). Before each call that could do
so, `Function` hands the program W's array only when nothing else can see it:
it owns its memory, may be written, and no reference other than the shared
variable's exists (no borrowed value, view, clone or argument); otherwise the
program gets a copy. So an in-place update never changes an array the caller
holds, and W's storage is reused from one training step to the next. A call
that fails after such a node ran may leave W updated (as in Theano).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from symtheano.compile.io import In, Out
from symtheano.compile.mode import get_mode
from symtheano.compile.sharedvalue import SharedVariable
from symtheano.configuration import config
from symtheano.graph.basic import Constant, Variable, clone_graph, graph_inputs
from symtheano.graph.fg import FunctionGraph
from symtheano.graph.operand_errors import name_arguments
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import as_tensor_variable

_MISSING = object()


class UnusedInputError(ValueError):
    """An input of `function` is not needed to compute any output."""


def _describe(var, position=None):
    label = f"'{var.name}'" if var.name else str(var)
    where = f" (created at {var.where()})" if var.where() else ""
    pos = f"input {position} " if position is not None else ""
    return f"{pos}{label}{where}"


def _as_pairs(arg, what):
    if arg is None:
        return []
    if isinstance(arg, dict):
        return list(arg.items())
    pairs = list(arg)
    if len(pairs) == 2 and isinstance(pairs[0], Variable) and not isinstance(
            pairs[0], tuple | list):
        if isinstance(pairs[1], Variable) or not isinstance(pairs[1], tuple | list):
            pairs = [tuple(pairs)]  # a single (variable, value) pair
    for p in pairs:
        if not isinstance(p, tuple | list) or len(p) != 2:
            raise TypeError(f"function: {what} must be a dict or a list of (variable, "
                            f"expression) pairs, got {p!r}")
    return [tuple(p) for p in pairs]


def _check_replacement(old, new, what):
    new = as_tensor_variable(new)
    if old.type == new.type:
        return new
    if old.dtype != new.dtype or old.ndim != new.ndim:
        raise TypeError(f"function: {what} for {_describe(old)} has type {new.type}, expected "
                        f"{old.type} (same dtype and number of dimensions; use T.cast)")
    for d, (a, b) in enumerate(zip(old.type.shape, new.type.shape)):
        if a is not None and b is not None and a != b:
            raise ValueError(f"function: {what} for {_describe(old)} has static size {b} in "
                             f"dimension {d}, expected {a}")
    return new


def function(inputs, outputs=None, mode=None, updates=None, givens=None,
             no_default_updates=False, accept_inplace=False, name=None, rebuild_strict=True,
             allow_input_downcast=None, profile=None, on_unused_input=None, trust_input=False,
             return_device=False):
    """Compile `outputs` as a function of `inputs`.

    inputs: a list of variables or `In` objects. outputs: a variable (the
    call returns one array) or a list (the call returns a list); `Out(v,
    borrow=True)` lets an output share memory with internal storage.
    updates: (shared_variable, new_expression) pairs applied after each call.
    givens: (variable, replacement) pairs substituted into the graph.
    profile: True times every call, node by node, into `f.profile`
    (`f.profile.summary()` prints the table; symtheano/compile/profiling.py).
    return_device: with mode="CUDA", outputs stay on the GPU (device arrays, which
    calls take back as arguments without a copy; `.get()` copies one to the host).
    """
    if _has_sparse(outputs):
        return _SparseOutputs.compile(inputs, outputs, mode=mode, updates=updates,
                                      givens=givens, no_default_updates=no_default_updates,
                                      accept_inplace=accept_inplace, name=name,
                                      rebuild_strict=rebuild_strict,
                                      allow_input_downcast=allow_input_downcast,
                                      profile=profile, on_unused_input=on_unused_input,
                                      trust_input=trust_input)
    if not isinstance(inputs, list | tuple):
        raise TypeError(f"function: inputs must be a list of variables, got "
                        f"{type(inputs).__name__} (write function([x], ...))")
    specs = [i if isinstance(i, In) else In(i) if isinstance(i, Variable) else None
             for i in inputs]
    for pos, (raw, spec) in enumerate(zip(inputs, specs)):
        if spec is None:
            raise TypeError(f"function: input {pos} must be a symbolic variable or In(...), "
                            f"got {type(raw).__name__} {raw!r}")
        v = spec.variable
        if isinstance(v, Constant):
            raise TypeError(f"function: input {pos} ({v}) is a constant; constants cannot be "
                            "inputs")
        if isinstance(v, SharedVariable):
            raise TypeError(f"function: input {pos} ({v}) is a shared variable; shared "
                            "variables are implicit inputs and must not be listed (use "
                            "givens= to replace one)")
        if v.owner is not None:
            raise TypeError(f"function: {_describe(v, pos)} is computed by {v.owner.op}; "
                            "inputs must be variables created as inputs (e.g. T.dvector)")
    seen = {}
    for pos, spec in enumerate(specs):
        if id(spec.variable) in seen:
            raise ValueError(f"function: {_describe(spec.variable, pos)} is listed twice "
                             f"(also at position {seen[id(spec.variable)]})")
        seen[id(spec.variable)] = pos

    single = outputs is not None and not isinstance(outputs, list | tuple)
    out_list = [] if outputs is None else [outputs] if single else list(outputs)
    out_specs = [o if isinstance(o, Out) else Out(as_tensor_variable(o)) if not isinstance(
        o, Variable) else Out(o) for o in out_list]

    update_pairs = _as_pairs(updates, "updates")
    checked_updates = []
    for var, expr in update_pairs:
        if not isinstance(var, SharedVariable):
            raise TypeError(f"function: updates can only change shared variables, got "
                            f"{_describe(var) if isinstance(var, Variable) else repr(var)}")
        checked_updates.append((var, _check_replacement(var, expr, "the update")))
    if len({id(v) for v, _ in checked_updates}) != len(checked_updates):
        raise ValueError("function: a shared variable has more than one update")
    givens_map = {}
    for old, new in _as_pairs(givens, "givens"):
        if not isinstance(old, Variable):
            raise TypeError(f"function: givens keys must be variables, got {old!r}")
        givens_map[old] = _check_replacement(old, new, "the replacement in givens")

    exprs = [o.variable for o in out_specs] + [e for _, e in checked_updates]
    if not no_default_updates:
        updated = {id(v) for v, _ in checked_updates}
        for v in graph_inputs(exprs):
            if isinstance(v, SharedVariable) and v.default_update is not None and (
                    id(v) not in updated) and (no_default_updates is False or v not in
                                               no_default_updates):
                checked_updates.append((v, v.default_update))
                exprs.append(v.default_update)
    cloned, _ = clone_graph(exprs, givens_map)

    declared = [s.variable for s in specs]
    declared_ids = {id(v) for v in declared}
    shared_inputs = []
    for v in graph_inputs(cloned):
        if id(v) in declared_ids or isinstance(v, Constant):
            continue
        if isinstance(v, SharedVariable):
            shared_inputs.append(v)
            continue
        which = next((i for i, e in enumerate(cloned) if v in graph_inputs([e])), 0)
        what = (f"output {which}" if which < len(out_specs)
                else f"the update of {checked_updates[which - len(out_specs)][0]}")
        raise ValueError(
            f"function: {what} depends on {_describe(v)}, which is not among the inputs "
            f"[{', '.join(map(str, declared))}]; add it to inputs, or replace it with givens=")
    for v, _ in checked_updates:
        if v not in shared_inputs:
            shared_inputs.append(v)

    used = {id(v) for v in graph_inputs(cloned)}
    policy = on_unused_input or config.on_unused_input
    for pos, v in enumerate(declared):
        if id(v) not in used:
            msg = (f"function: {_describe(v, pos)} is not used to compute any output; pass "
                   "on_unused_input='ignore' (or 'warn') if that is intended")
            if policy == "raise":
                raise UnusedInputError(msg)
            if policy == "warn":
                warnings.warn(msg, stacklevel=2)

    fgraph = FunctionGraph(declared + shared_inputs, cloned)
    # What the inplace stage may overwrite: the storage of a shared variable that
    # the call replaces with an output (symtheano/rewrite/inplace.py).
    fgraph.update_outputs = {v: len(out_specs) + i for i, (v, _) in enumerate(checked_updates)}
    mode_obj = get_mode(mode)
    started = time.perf_counter()
    report = mode_obj.rewrite(fgraph)
    rewritten = time.perf_counter()
    built_before = _libraries_built()
    program = mode_obj.link(fgraph)
    if return_device:
        if not hasattr(program, "device_call"):
            raise ValueError(f"function(return_device=True) needs mode='CUDA'; this function's "
                             f"mode is {mode_obj}")
        program.return_device = True
    info = CompileInfo(rewritten - started, time.perf_counter() - rewritten,
                       _libraries_built() - built_before)
    stats = None
    cls = Function
    if profile:
        from symtheano.compile.profiling import profiled_program

        program, stats = profiled_program(program, name or "function", *info)
        cls = ProfiledFunction
    fn = cls(specs, out_specs, single, shared_inputs,
             [v for v, _ in checked_updates], fgraph, program, mode_obj,
             name=name, allow_input_downcast=allow_input_downcast,
             trust_input=trust_input)
    fn.report = report
    fn.compile_info = info
    fn.profile = stats
    return fn


class CompileInfo(tuple):
    """How long a function took to compile: rewriting and linking (fetching or
    compiling kernels, assembling the program), in seconds, and how many kernel
    libraries linking compiled rather than found in the cache."""

    __slots__ = ()

    def __new__(cls, rewrite_seconds, link_seconds, libraries_built):
        return tuple.__new__(cls, (rewrite_seconds, link_seconds, libraries_built))

    rewrite_seconds = property(lambda self: self[0])
    link_seconds = property(lambda self: self[1])
    libraries_built = property(lambda self: self[2])


def _libraries_built():
    """Libraries compiled so far in this process (0 until the C back end is loaded)."""
    build = sys.modules.get("symtheano.codegen.c.build")
    return 0 if build is None else build.libraries_built()


def _has_sparse(outputs):
    module = sys.modules.get("symtheano.sparse_derivatives")
    if module is None:  # no sparse derivative was ever built (and SciPy stays unloaded)
        return False
    SparseVariable = module.SparseVariable
    items = outputs if isinstance(outputs, list | tuple) else [outputs]
    return any(isinstance(o, SparseVariable) for o in items)


class _SparseOutputs:
    """A compiled function with sparse outputs (SparseVariable: sparse_hessian,
    sparse_jacobian): the inner function computes each sparse matrix's arrays
    (data, indices, indptr, shape) as ordinary outputs, and every call assembles
    them into scipy.sparse matrices."""

    @classmethod
    def compile(cls, inputs, outputs, **kwargs):
        from symtheano.sparse_derivatives import SparseVariable

        single = not isinstance(outputs, list | tuple)
        items = [outputs] if single else list(outputs)
        flat, layout = [], []
        for item in items:
            if isinstance(item, SparseVariable):
                layout.append((item, len(flat)))
                flat.extend(item.parts)
            else:
                layout.append((None, len(flat)))
                flat.append(item)
        return cls(function(inputs, flat, **kwargs), layout, single)

    def __init__(self, inner, layout, single):
        self.inner, self.layout, self.single = inner, layout, single

    def __call__(self, *args, **kwargs):
        results = self.inner(*args, **kwargs)
        out = [results[k] if sparse is None else sparse.assemble(*results[k:k + 4])
               for sparse, k in self.layout]
        return out[0] if self.single else out

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Function:
    """A compiled function: call it with arrays (by position or by input name)."""

    def __init__(self, specs, out_specs, single, shared_inputs, updated, fgraph, program,
                 mode, name=None, allow_input_downcast=None, trust_input=False):
        self.input_specs = specs
        self.inputs = [s.variable for s in specs]
        self.outputs = [o.variable for o in out_specs]
        self._borrow = [o.borrow for o in out_specs]
        self._single = single
        self._shared = shared_inputs
        self._updated = updated
        self.fgraph = fgraph
        self.program = program
        self.mode = mode
        self.name = name or "function"
        self.trust_input = trust_input
        self._n_out = len(out_specs)
        self._positions = {}
        for pos, s in enumerate(specs):
            if s.name is not None and s.name not in self._positions:
                self._positions[s.name] = pos
        self._allow_downcast = [s.allow_downcast if s.allow_downcast is not None else
                                allow_input_downcast for s in specs]
        self._defaults = []
        for pos, s in enumerate(specs):
            if s.has_default:
                self._defaults.append(self._filter(pos, s.value))
            else:
                self._defaults.append(_MISSING)
        # A program that can take whole calls natively (argument checks, run, private
        # outputs) gets them when no shared variable is read or updated.
        self._fast = None
        # A program that runs on a device (mode="CUDA") takes whole calls: arguments,
        # shared variables and updates in device memory (codegen/cuda/program.py).
        self._device_call = getattr(program, "device_call", None)
        if hasattr(program, "direct_call") and not shared_inputs and not updated:
            self._fast = program.direct_call(self._filter, single,
                                             [v.type for v in self.inputs])
        # For the general path: what an argument taken as it is looks like (an
        # ndarray of exactly the input's dtype and ndim, static sizes matching);
        # anything else goes through the type's filter.
        self._arg_specs = [_array_spec(v.type) for v in self.inputs]
        # Shared variables whose storage the program may overwrite (each is then
        # replaced by the output written there), by position in self._shared.
        from symtheano.rewrite.inplace import destroyed_inputs

        destroyed = set(destroyed_inputs(fgraph))
        self._destroyed = [i for i, s in enumerate(shared_inputs) if s in destroyed]
        # Per update: the position of its variable among the shared inputs, and
        # whether a new value may be stored as it is (no static size to check).
        position = {id(s): i for i, s in enumerate(shared_inputs)}
        self._update_plan = [(var, position[id(var)]) + _array_spec(var.type)[:2]
                             + (_array_spec(var.type)[2] == (),) for var in updated]

    def rewrite_report(self):
        """Which rewrites fired (and how often) and how long each stage took."""
        return self.report

    @property
    def maker(self):
        """Theano compatibility: `f.maker.fgraph` is the compiled graph."""
        return self

    def export_c(self, directory, name="f"):
        """Write this function as standalone C into `directory`: name.c, name.h (the
        documented C interface: every output, or only those asked for, such as a
        value, a gradient or a Hessian) and name_main.c (an example), which build
        with a plain C compiler and run without Python. Shared variables become
        trailing inputs; a function with updates, or with a node that has no C
        implementation, raises symtheano.codegen.c.export.ExportError. Returns the
        paths written."""
        from symtheano.codegen.c.export import export_function

        return export_function(self.fgraph, self.inputs, self.outputs, self._shared,
                               self._updated, directory, name)

    def _filter(self, pos, value):
        var = self.inputs[pos]
        try:
            return var.type.filter(value, strict=self.input_specs[pos].strict,
                                   allow_downcast=self._allow_downcast[pos])
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{self.name}: bad argument for {_describe(var, pos)}: {exc}. Expected "
                f"{var.type}, given {_given(value)}") from None

    def __call__(self, *args, **kwargs):
        if self._fast is not None and not kwargs:
            try:  # costs nothing unless it raises (zero-cost exceptions, Python 3.11)
                out = self._fast(args)
            except ValueError as exc:
                self._name_arguments(exc)
                raise
            if out is not NotImplemented:
                return out
        return self._call(args, kwargs)

    def _name_arguments(self, exc):
        """After a failed call only: word a shape error of the graph's operands again,
        naming the arguments (positions and names) each operand comes from."""
        name_arguments(exc, self.fgraph.inputs, len(self.inputs))

    def _call(self, args, kwargs):
        n = len(self.inputs)
        if len(args) > n:
            names = ", ".join(str(v) for v in self.inputs)
            raise TypeError(f"{self.name} takes {n} argument(s) ({names}), got {len(args)}")
        values = list(args)
        if len(values) < n:
            values.extend(self._defaults[len(values):])
        if kwargs:
            for key, value in kwargs.items():
                pos = self._positions.get(key)
                if pos is None:
                    raise TypeError(f"{self.name} got an unexpected keyword argument {key!r}; "
                                    f"input names: {sorted(self._positions)}")
                if pos < len(args):
                    raise TypeError(f"{self.name} got input {pos} ({key!r}) both by position "
                                    "and by keyword")
                values[pos] = value
        for pos, value in enumerate(values):
            if value is _MISSING:
                raise TypeError(f"{self.name}: missing argument for "
                                f"{_describe(self.inputs[pos], pos)}")
        if self._device_call is not None:
            try:
                return self._device_call(self, values)
            except ValueError as exc:
                self._name_arguments(exc)
                raise
        if not self.trust_input:
            for pos, (v, (dtype, ndim, static)) in enumerate(zip(values, self._arg_specs)):
                if (type(v) is np.ndarray and v.dtype == dtype and v.ndim == ndim
                        and (not static or all(v.shape[d] == n for d, n in static))):
                    continue  # what the filter would return unchanged
                if not self._is_default(pos, v):
                    values[pos] = self._filter(pos, v)
        shared_values = [s._value for s in self._shared]
        for i in self._destroyed:
            # The program may write the new value into this storage: hand it over only
            # when nothing else can see it (no other reference, no view, own memory),
            # else a copy, so that no caller's array or other variable changes.
            if not _exclusive(shared_values, i):
                shared_values[i] = np.array(shared_values[i], copy=True)
        try:
            results = self.program(values + shared_values)
        except ValueError as exc:
            self._name_arguments(exc)
            raise
        outputs = results[: self._n_out]
        seen = _Memory(values)
        seen.extend(shared_values)
        for i, out in enumerate(outputs):
            # Read-only arrays are views of constants: hand out a writable copy.
            if not out.flags.writeable or (not self._borrow[i] and seen.shares(out)):
                out = out.copy()
                outputs[i] = out
            seen.add(out)
        for (var, pos, dtype, ndim, as_is), new in zip(self._update_plan, results[self._n_out:]):
            # The new value may be the old storage of this very variable (written in
            # place), but no other value the caller or another variable can see.
            if seen.shares(new, 1 if new is shared_values[pos] else 0):
                new = new.copy()
            if as_is and type(new) is np.ndarray and new.dtype == dtype and new.ndim == ndim:
                var._value = new
            else:
                var.set_value(new, borrow=True)
            seen.add(new)
        if self._single:
            return outputs[0]
        return outputs

    def _is_default(self, pos, value):
        return value is self._defaults[pos] and value is not _MISSING

    def __repr__(self):
        ins = ", ".join(str(v) for v in self.inputs)
        outs = ", ".join(str(v.type) for v in self.outputs)
        ups = f", updates {', '.join(str(v) for v in self._updated)}" if self._updated else ""
        return (f"<Function {self.name}({ins}) -> {outs}{ups}; mode={self.mode}; "
                f"{self._status()}>")

    def _status(self):
        """How the graph runs and what compiling it cost (for the repr)."""
        n = len(self.fgraph.apply_nodes)
        compiled = getattr(self.program, "compiled_nodes", None)
        runs = (f"{n} node(s)" if compiled is None
                else f"{n} node(s), {len(compiled())} compiled")
        info = getattr(self, "compile_info", None)
        if info is None:
            return runs
        n_built = info.libraries_built
        cache = ("" if compiled is None else "; kernels all from the cache" if n_built == 0
                 else f"; {n_built} kernel {'library' if n_built == 1 else 'libraries'} "
                 "compiled now")
        took = (info.rewrite_seconds + info.link_seconds) * 1e3
        return f"{runs}; compiled in {took:.1f} ms{cache}"


class ProfiledFunction(Function):
    """A Function compiled with profile=True: every call is timed, node by node,
    into `self.profile` (symtheano/compile/profiling.py)."""

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self._call(args, kwargs)
        finally:
            self.profile.call_seconds += time.perf_counter() - start
            self.profile.calls += 1


def _given(value):
    """What a rejected argument was, for the message (never raises: a ragged list
    has no shape)."""
    if isinstance(value, np.ndarray):
        return f"{type(value).__name__} of dtype {value.dtype} and shape {value.shape}"
    try:
        shape = np.shape(value)
    except ValueError:
        return f"{type(value).__name__} of inhomogeneous (ragged) shape"
    if shape == ():
        return f"{type(value).__name__} {value!r}"
    return f"{type(value).__name__} of shape {shape}"


def _array_spec(ttype):
    """(dtype, ndim, ((dimension, static size), ...)) of a tensor type: what an
    array taken as it is must match. A type of another kind matches nothing."""
    if not isinstance(ttype, TensorType):
        return (None, -1, ())
    return (np.dtype(ttype.dtype), ttype.ndim,
            tuple((d, n) for d, n in enumerate(ttype.shape) if n is not None))


class _Memory:
    """The arrays of a call that an output or a new shared value must not share
    memory with. Two arrays that own their memory (no base) share it only when
    they are the same array, so those are compared by identity; views by address
    range (np.may_share_memory)."""

    __slots__ = ("count", "owners", "views")

    def __init__(self, arrays):
        self.count, self.owners, self.views = {}, [], []
        self.extend(arrays)

    def extend(self, arrays):
        for a in arrays:
            self.add(a)

    def add(self, a):
        if not isinstance(a, np.ndarray):
            return  # a number (trust_input=True): no memory to share
        if a.base is None and a.flags.owndata:
            self.count[id(a)] = self.count.get(id(a), 0) + 1
            self.owners.append(a)
        else:
            self.views.append(a)

    def shares(self, a, own=0):
        """May `a` share memory with an array added? `own`: how many of the added
        are `a` itself and allowed (the storage it replaces)."""
        if a.base is None and a.flags.owndata:
            return (self.count.get(id(a), 0) > own
                    or any(np.may_share_memory(v, a) for v in self.views))
        return any(np.may_share_memory(o, a) for o in self.owners + self.views)


def _count_refs(values, i):
    return sys.getrefcount(values[i])


# The count `_count_refs` reports for an array that only the list holds (how the
# interpreter counts the call's own references, measured rather than assumed).
_LIST_ONLY = _count_refs([np.empty(1)], 0)


def _exclusive(values, i):
    """True when values[i] is an array that nothing but `values` and its shared
    variable reference: it owns its memory, may be written, and no view, caller
    variable or other container holds it, so overwriting it is invisible."""
    v = values[i]
    ok = type(v) is np.ndarray and v.base is None and v.flags.owndata and v.flags.writeable
    del v
    return ok and _count_refs(values, i) == _LIST_ONLY + 1
