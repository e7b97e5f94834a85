"""`function`: compile symbolic inputs and outputs into a callable.

The user's graph is copied (with `givens` substituted) into a FunctionGraph,
rewritten by the mode's pipeline, and handed to the mode's back end, which
returns a program. `Function` checks the caller's arguments, runs the program
and applies `updates` to shared variables.
"""

from __future__ import annotations

import warnings

import numpy as np

from symtheano.compile.io import In, Out
from symtheano.compile.mode import get_mode
from symtheano.compile.sharedvalue import SharedVariable
from symtheano.configuration import config
from symtheano.graph.basic import Constant, Variable, clone_graph, graph_inputs
from symtheano.graph.fg import FunctionGraph
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
             allow_input_downcast=None, profile=None, on_unused_input=None, trust_input=False):
    """Compile `outputs` as a function of `inputs`.

    inputs: a list of variables or `In` objects. outputs: a variable (the
    call returns one array) or a list (the call returns a list); `Out(v,
    borrow=True)` lets an output share memory with internal storage.
    updates: (shared_variable, new_expression) pairs applied after each call.
    givens: (variable, replacement) pairs substituted into the graph.
    """
    if profile:
        raise NotImplementedError("function(profile=True) is not available yet: profiling "
                                  "arrives with the compiled back ends")
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
    mode_obj = get_mode(mode)
    report = mode_obj.rewrite(fgraph)
    program = mode_obj.link(fgraph)
    fn = Function(specs, out_specs, single, shared_inputs,
                  [v for v, _ in checked_updates], fgraph, program, mode_obj,
                  name=name, allow_input_downcast=allow_input_downcast,
                  trust_input=trust_input)
    fn.report = report
    return fn


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
        if hasattr(program, "direct_call") and not shared_inputs and not updated:
            self._fast = program.direct_call(self._filter, single,
                                             [v.type for v in self.inputs])

    def rewrite_report(self):
        """Which rewrites fired (and how often) and how long each stage took."""
        return self.report

    @property
    def maker(self):
        """Theano compatibility: `f.maker.fgraph` is the compiled graph."""
        return self

    def _filter(self, pos, value):
        var = self.inputs[pos]
        try:
            return var.type.filter(value, strict=self.input_specs[pos].strict,
                                   allow_downcast=self._allow_downcast[pos])
        except (TypeError, ValueError) as exc:
            given = (f"{type(value).__name__} of dtype {value.dtype} and shape {value.shape}"
                     if isinstance(value, np.ndarray) else f"{type(value).__name__} {value!r}"
                     if np.ndim(value) == 0 else f"{type(value).__name__} of shape "
                     f"{np.shape(value)}")
            raise type(exc)(
                f"{self.name}: bad argument for {_describe(var, pos)}: {exc}. Expected "
                f"{var.type}, given {given}") from None

    def __call__(self, *args, **kwargs):
        if self._fast is not None and not kwargs:
            out = self._fast(args)
            if out is not NotImplemented:
                return out
        return self._call(args, kwargs)

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
        if not self.trust_input:
            values = [v if self._is_default(pos, v) else self._filter(pos, v)
                      for pos, v in enumerate(values)]
        shared_values = [s.get_value(borrow=True) for s in self._shared]
        results = self.program(values + shared_values)
        outputs = results[: self._n_out]
        news = results[self._n_out:]
        protected = values + shared_values
        for i, out in enumerate(outputs):
            # Read-only arrays are views of constants: hand out a writable copy.
            if not out.flags.writeable or (not self._borrow[i] and _aliases(out, protected)):
                out = out.copy()
                outputs[i] = out
            protected.append(out)
        for var, new in zip(self._updated, news):
            if _aliases(new, protected):
                new = new.copy()
            var.set_value(new, borrow=True)
            protected.append(new)
        if self._single:
            return outputs[0]
        return outputs

    def _is_default(self, pos, value):
        return value is self._defaults[pos] and value is not _MISSING

    def __repr__(self):
        ins = ", ".join(str(v) for v in self.inputs)
        return (f"<Function {self.name}({ins}) -> {self._n_out} output(s), "
                f"{len(self._updated)} update(s), mode={self.mode}>")


def _aliases(arr, others):
    return any(o is arr or (isinstance(o, np.ndarray) and np.may_share_memory(o, arr))
               for o in others)
