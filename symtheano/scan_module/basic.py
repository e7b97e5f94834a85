"""`scan`: Theano's loop. The user's step function builds the inner graph on
placeholder variables; the result is one Scan node (op.py) and the updates of
the shared variables the step function changed.

    result, updates = scan(fn, sequences, outputs_info, non_sequences, n_steps)

fn receives, in order: one row of each sequence per tap (sequences[i] may be
a variable, tap 0, or {'input': x, 'taps': [-1, 0, 2]}), the previous values of
each recurrent output per tap (outputs_info[j] may be an initial value, tap
-1, a dict {'initial': x0, 'taps': [-2, -1]} whose x0 holds one row per step
back, or None for an output that is not fed back), then the non-sequences
themselves (the very variables given, so that fn may differentiate with
respect to them). It returns its outputs (one, or a list), optionally with an
update dictionary {shared variable: new value}, or only the dictionary.
"""

from __future__ import annotations

import collections

from symtheano.graph.basic import Constant, Variable, clone_graph, graph_inputs
from symtheano.scan_module.op import Scan, row_type
from symtheano.tensor.type import INT_DTYPES, TensorType
from symtheano.tensor.var import as_tensor_variable

# The tries at matching the placeholders' types to what fn returns (see _call_fn).
_TYPE_ROUNDS = 3


def _as_variable(v, what):
    if isinstance(v, Variable):
        return v
    try:
        return as_tensor_variable(v)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scan: {what} must be a symbolic variable or an array, got "
                        f"{type(v).__name__}: {exc}") from None


def _listify(x):
    if x is None:
        return []
    return list(x) if isinstance(x, list | tuple) else [x]


def _taps(value, what, allow=None):
    if isinstance(value, int):
        value = [value]
    try:
        taps = [int(k) for k in value]
    except (TypeError, ValueError):
        raise TypeError(f"scan: {what} taps must be a list of ints, got {value!r}") from None
    if not taps:
        raise ValueError(f"scan: {what} has an empty list of taps")
    if len(set(taps)) != len(taps):
        raise ValueError(f"scan: {what} lists a tap twice: {taps}")
    if allow == "negative" and any(k >= 0 for k in taps):
        raise ValueError(f"scan: {what} taps must be negative (earlier steps), got {taps}")
    return taps


def _sequences(sequences):
    """[(variable, taps)] from scan's `sequences` argument."""
    found = []
    for i, s in enumerate(_listify(sequences)):
        what = f"sequences[{i}]"
        if isinstance(s, dict):
            if "input" not in s:
                raise ValueError(f"scan: {what} is a dict without an 'input' entry")
            extra = set(s) - {"input", "taps"}
            if extra:
                raise ValueError(f"scan: {what} has unknown entries {sorted(extra)}")
            x, taps = _as_variable(s["input"], what), _taps(s.get("taps", [0]), what)
        else:
            x, taps = _as_variable(s, what), [0]
        if x.ndim < 1:
            raise ValueError(f"scan: {what} ({x}) is a scalar; a sequence needs at least one "
                             "dimension to iterate over")
        found.append((x, taps))
    return found


def _outputs_info(outputs_info):
    """[None | (initial variable, taps, several rows?, given as data?)]."""
    if outputs_info is None:
        return None
    found = []
    for j, o in enumerate(_listify(outputs_info)):
        what = f"outputs_info[{j}]"
        if isinstance(o, dict):
            extra = set(o) - {"initial", "taps"}
            if extra:
                raise ValueError(f"scan: {what} has unknown entries {sorted(extra)}")
            if o.get("initial") is None:
                if o.get("taps"):
                    raise ValueError(f"scan: {what} has taps but no 'initial' value")
                found.append(None)
                continue
            init, taps = o["initial"], _taps(o.get("taps", [-1]), what, "negative")
        elif o is None:
            found.append(None)
            continue
        else:
            init, taps = o, [-1]
        data = not isinstance(init, Variable)
        init = _as_variable(init, what)
        rows = taps != [-1]
        if rows and init.ndim < 1:
            raise ValueError(f"scan: {what} has taps {taps}, so its 'initial' value needs one "
                             f"row per step back ({-min(taps)}), but {init} is a scalar")
        found.append((init, taps, rows, data))
    return found


def _split_result(result):
    """(outputs, updates) from what the step function returned."""
    if isinstance(result, dict):
        return [], result
    if isinstance(result, tuple | list) and len(result) == 2:
        a, b = result
        if isinstance(b, dict):
            return _listify(a), b
        if isinstance(a, dict):
            return _listify(b), a
    return _listify(result), {}


def _n_steps(n_steps):
    if isinstance(n_steps, int) and n_steps < 0:
        raise ValueError(f"scan: n_steps is {n_steps}; it must be at least 0 (use "
                         "go_backwards=True to run over the sequences backwards)")
    n = _as_variable(n_steps, "n_steps")
    if n.ndim != 0 or n.dtype not in INT_DTYPES:
        raise TypeError(f"scan: n_steps must be an integer scalar, got {n} of type {n.type}")
    return n


def _fitted_type(want, out):
    """The placeholder type for a recurrent value: `want`, with the static sizes
    `out` (what fn computed from it) does not guarantee forgotten."""
    return TensorType(want.dtype, tuple(w if w == o else None
                                        for w, o in zip(want.shape, out.type.shape)))


def until(condition):
    """Theano's conditional stop of a loop: not supported."""
    raise NotImplementedError("scan: until (stopping a loop on a condition) is not supported "
                              "by symtheano; run a fixed number of steps and mask the results")


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """Run `fn` over `sequences` for `n_steps` steps (Theano's scan); returns
    (outputs, updates). See the module docstring for fn's arguments.

    outputs: one variable, or a list when fn has several outputs (or with
    return_list=True); each stacks fn's value at every step (recurrent outputs
    without their initial values). updates: an OrderedDict {shared variable:
    its value after the last step} for the shared variables fn updated; pass it
    to `function(..., updates=updates)`.
    n_steps: the number of steps (default: the length of the shortest sequence,
    less the span of its taps). go_backwards: iterate over the sequences from
    the end (outputs come in the order of the steps). truncate_gradient:
    backpropagate through at most this many steps (-1: all).
    mode, profile, allow_gc: accepted for Theano compatibility; the loop is
    compiled in the mode of the function that contains it.
    """
    if not callable(fn):
        raise TypeError(f"scan: fn must be callable, got {type(fn).__name__}")
    seqs = _sequences(sequences)
    infos = _outputs_info(outputs_info)
    non_seqs = [_as_variable(v, f"non_sequences[{k}]") for k, v in
                enumerate(_listify(non_sequences))]
    if n_steps is None and not seqs:
        raise ValueError("scan: n_steps is required when there are no sequences (it says how "
                         "many steps to run)")
    truncate_gradient = int(truncate_gradient)
    if truncate_gradient == 0 or truncate_gradient < -1:
        raise ValueError(f"scan: truncate_gradient must be -1 (no truncation) or a positive "
                         f"number of steps, got {truncate_gradient}")

    # One placeholder per sequence tap, and the outer slice it iterates over.
    seq_inputs, seq_outer, seq_labels = [], [], []
    for i, (x, taps) in enumerate(seqs):
        xs = x[::-1] if go_backwards else x
        low = min(min(taps), 0)
        for k in taps:
            label = f"sequences[{i}]" + (f" (tap {k})" if taps != [0] else "")
            seq_inputs.append(row_type(x.type).make_variable(f"{x.name or 'seq'}[t{k:+d}]"))
            seq_outer.append(xs[k - low:] if k - low else xs)
            seq_labels.append(label)

    outs, updates, tap_types = _call_fn(fn, seq_inputs, infos, non_seqs)
    if infos is None:
        infos = [None] * len(outs)
    elif len(outs) != len(infos):
        raise ValueError(f"scan: fn returned {len(outs)} output(s), but outputs_info has "
                         f"{len(infos)} entries (use None for outputs that are not fed back)")
    return _build(seqs, seq_inputs, seq_outer, seq_labels, infos, tap_types, outs, updates,
                  non_seqs, n_steps, truncate_gradient, name, strict, return_list)


def _call_fn(fn, seq_inputs, infos, non_seqs):
    """Call fn on placeholders whose types fit what it returns: a recurrent
    value's placeholder keeps only the static sizes fn's output guarantees (and
    takes fn's dtype where the initial value was given as data, not a variable)."""
    tap_types = {j: (row_type(info[0].type) if info[2] else info[0].type)
                 for j, info in enumerate(infos or []) if info is not None}
    for _ in range(_TYPE_ROUNDS):
        tap_inputs = {}
        args = list(seq_inputs)
        for j, info in enumerate(infos or []):
            if info is None:
                continue
            init, taps = info[0], info[1]
            tap_inputs[j] = [tap_types[j].make_variable(f"{init.name or f'out{j}'}[t{k:+d}]")
                             for k in taps]
            args.extend(tap_inputs[j])
        args.extend(non_seqs)
        outs, updates = _split_result(fn(*args))
        outs = [_as_variable(o, f"output {k} of fn") for k, o in enumerate(outs)]
        changed = False
        for j, info in enumerate(infos or []):
            if info is None or j >= len(outs):
                continue
            want, out = tap_types[j], outs[j]
            if out.ndim != want.ndim:
                raise TypeError(f"scan: fn's output {j} has {out.ndim} dimensions, but its "
                                f"previous value (outputs_info[{j}]) has {want.ndim}")
            if out.dtype != want.dtype:
                if not info[3]:
                    raise TypeError(f"scan: fn's output {j} has dtype {out.dtype}, but its "
                                    f"initial value outputs_info[{j}] has dtype {want.dtype}; "
                                    f"cast one of them (T.cast)")
                want = TensorType(out.dtype, want.shape)
            fitted = _fitted_type(want, out)
            if fitted != tap_types[j]:
                tap_types[j], changed = fitted, True
        if not changed:
            for j in tap_inputs:
                tap_inputs[j] = tuple(tap_inputs[j])
            return outs, (updates, tap_inputs), tap_types
    raise TypeError("scan: the types of fn's outputs keep changing with the types of the "
                    "previous values given to it")


def _build(seqs, seq_inputs, seq_outer, seq_labels, infos, tap_types, outs, fn_updates,
           non_seqs, n_steps, truncate_gradient, name, strict, return_list):
    from symtheano.compile.sharedvalue import SharedVariable
    from symtheano.tensor.basic import cast, minimum
    from symtheano.tensor.elemwise import shape_padleft
    from symtheano.tensor.shape import shape_i

    updates, tap_inputs = fn_updates
    mit = [j for j, info in enumerate(infos) if info is not None]
    nit = [j for j, info in enumerate(infos) if info is None]

    # Shared variables fn updates become carried states.
    carried = []
    for s, expr in updates.items():
        if not isinstance(s, SharedVariable):
            raise TypeError(f"scan: fn returned an update for {s}, which is not a shared "
                            "variable")
        expr = _as_variable(expr, f"the update of {s}")
        if expr.dtype != s.dtype or expr.ndim != s.ndim:
            raise TypeError(f"scan: fn's update of {s} has type {expr.type}, but {s} has type "
                            f"{s.type}; cast it (T.cast)")
        carried.append((s, expr))
    carried_ids = {id(s) for s, _ in carried}
    # A shared variable with a default update read in the loop (a random stream's
    # state) advances at every step, as in Theano: its default update is carried.
    grown = True
    while grown:
        grown = False
        for v in graph_inputs(outs + [e for _, e in carried], blockers=non_seqs):
            if (isinstance(v, SharedVariable) and v.default_update is not None
                    and id(v) not in carried_ids):
                carried.append((v, v.default_update))
                carried_ids.add(id(v))
                grown = True
    carry_inputs = [s.type.make_variable(f"{s}[t-1]") for s, _ in carried]

    # Everything else the step reads becomes a non-sequence: those given, then the
    # free variables and shared variables fn used on its own.
    placeholders = {id(p) for p in seq_inputs}
    placeholders.update(id(p) for group in tap_inputs.values() for p in group)
    explicit = [v for v in non_seqs if id(v) not in carried_ids]
    roots = graph_inputs(outs + [e for _, e in carried], blockers=non_seqs)
    implicit = []
    for v in roots:
        if (isinstance(v, Constant) or id(v) in placeholders or id(v) in carried_ids
                or any(v is e for e in explicit) or any(v is e for e in implicit)):
            continue
        if strict:
            raise ValueError(f"scan(strict=True): fn reads {v}"
                             f"{' (created at ' + v.where() + ')' if v.where() else ''}, "
                             "which is not among the sequences or non_sequences")
        implicit.append(v)
    nonseq_outer = explicit + implicit
    nonseq_inputs = [v.type.make_variable(v.name) for v in nonseq_outer]
    replace = dict(zip(nonseq_outer, nonseq_inputs))
    replace.update((s, p) for (s, _), p in zip(carried, carry_inputs))
    inner_outs, _ = clone_graph([outs[j] for j in mit] + [outs[j] for j in nit]
                                + [e for _, e in carried], replace)

    # The outer inputs: initial rows of the recurrent outputs, n_steps.
    inits, labels = [], {}
    for pos, j in enumerate(mit):
        init, taps, rows, _ = infos[j]
        want = tap_types[j]
        if init.dtype != want.dtype:
            init = cast(init, want.dtype)
        lag = -min(taps)
        inits.append(init[:lag] if rows else shape_padleft(init))
        labels[("in", 1 + len(seq_outer) + pos)] = f"outputs_info[{j}]"
        labels[("out", pos)] = f"outputs_info[{j}] (output {j})"
    for pos, j in enumerate(nit):
        labels[("out", len(mit) + pos)] = f"output {j}"
    for i, label in enumerate(seq_labels):
        labels[("in", 1 + i)] = label
    base = 1 + len(seq_outer) + len(mit)
    for c, (s, _) in enumerate(carried):
        labels[("in", base + c)] = f"the value of {s}"
        labels[("out", len(mit) + len(nit) + c)] = f"the update of {s}"
    for k, v in enumerate(nonseq_outer):
        labels[("in", base + len(carried) + k)] = (
            f"non_sequences[{k}]" if k < len(explicit) else f"{v} (read by fn)")
    labels[("in", 0)] = "n_steps"
    if n_steps is not None:
        n = _n_steps(n_steps)
    else:
        n = shape_i(seq_outer[0], 0)
        for x in seq_outer[1:]:
            n = minimum(n, shape_i(x, 0))

    inputs = (list(seq_inputs) + [p for j in mit for p in tap_inputs[j]] + carry_inputs
              + nonseq_inputs)
    op = Scan(inputs, inner_outs, len(seq_inputs), [infos[j][1] for j in mit], len(nit),
              len(carried), truncate_gradient=truncate_gradient, name=name or "scan",
              labels=labels)
    node = op.make_node(n, *seq_outer, *inits, *[s for s, _ in carried], *nonseq_outer)
    results = [None] * len(infos)
    for pos, j in enumerate(mit):
        results[j] = node.outputs[pos][op.lags[pos]:]
    for pos, j in enumerate(nit):
        results[j] = node.outputs[len(mit) + pos]
    for j, r in enumerate(results):
        if r.name is None:
            r.name = f"{name or 'scan'}.out{j}" if len(results) > 1 else (name or "scan.out")
    new_values = collections.OrderedDict(
        (s, node.outputs[len(mit) + len(nit) + c]) for c, (s, _) in enumerate(carried))
    if len(results) == 1 and not return_list:
        return results[0], new_values
    return results, new_values
