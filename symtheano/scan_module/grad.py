"""Derivatives of a Scan: backpropagation through time, and forward tangents.

Reverse mode (`pullback`) is another Scan that runs over the steps backwards.
At step t it differentiates the step function at the stored values (rows of
the sequences, the recurrent outputs' earlier values, the outputs themselves
so the backward step can reuse them instead of recomputing them) and carries:

- per recurrent output of lag L, a window of L rows: the gradient collected
  so far for the L values that steps <= t read. Row L-1 is the value step t
  produced; its gradient is that row plus the output's own gradient at t. The
  step's tap gradients are added into the window shifted by one row, so that
  what is left after step 0 is the gradient of the initial rows;
- per non-sequence, the sum of its gradients over the steps (a carried state,
  so memory does not grow with the number of steps).

Each sequence row's gradient is a per-step output. truncate_gradient = k runs
the backward loop over the last k steps only.

A Scan with carried states keeps only their final values, but the backward
step needs them at every step: its gradient is taken through a twin in which
those states are ordinary recurrent outputs (recorded at every step). The
twin recomputes the forward loop; it arises for loops that update shared
variables and for second derivatives (the backward loop carries states).

Forward mode (`pushforward_scan`) is one Scan computing the values and their
tangents side by side: each recurrent output gets a recurrent tangent with
the same taps, started from the initial value's tangent.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import clone_graph, clone_replace, graph_inputs
from symtheano.scan_module.op import Scan, row_type
from symtheano.tensor.type import FLOAT_DTYPES, TensorType


def _is_float(v):
    return v.dtype in FLOAT_DTYPES


def _fresh_step(op):
    """(new inner inputs, the inner outputs computed from them)."""
    fresh = [p.type.make_variable(p.name) for p in op.inner_inputs]
    outs, _ = clone_graph(op.inner_outputs, dict(zip(op.inner_inputs, fresh)))
    return fresh, outs


def _split(op, fresh):
    """(seqs, tap groups, carries, nonseqs) of a list laid out like the inner inputs."""
    seqs = fresh[:op.n_seqs]
    groups, pos = [], op.n_seqs
    for taps in op.mit_taps:
        groups.append(fresh[pos:pos + len(taps)])
        pos += len(taps)
    carries = fresh[pos:pos + op.n_carry]
    nonseqs = fresh[pos + op.n_carry:]
    return seqs, groups, carries, nonseqs


def recording_twin(op):
    """The same loop with every carried state a recurrent output (tap -1), so that
    its value at every step is kept: outputs are (recurrent, carried, others)."""
    seqs, groups, carries, nonseqs = _split(op, list(op.inner_inputs))
    outs = list(op.inner_outputs)
    mit_outs = outs[:op.n_mit] + outs[op.n_mit + op.n_nit:]
    inputs = seqs + [p for g in groups for p in g] + carries + nonseqs
    return Scan(inputs, mit_outs + outs[op.n_mit:op.n_mit + op.n_nit], op.n_seqs,
                op.mit_taps + ((-1,),) * op.n_carry, op.n_nit, 0,
                truncate_gradient=op.truncate_gradient, name=op.name)


# -- reverse mode ------------------------------------------------------------------------------

def pullback(op, inputs, outputs, output_grads):
    if op.n_carry:
        return _pullback_recorded(op, inputs, output_grads)
    from symtheano.gradient import grad
    from symtheano.tensor.basic import eq as equal
    from symtheano.tensor.basic import minimum, switch
    from symtheano.tensor.shape import zeros_like
    from symtheano.tensor.subtensor import inc_subtensor, set_subtensor
    from symtheano.tensor.var import constant

    n = inputs[0]
    s_seq, s_init, _, s_nonseq = op.outer_slices()
    seqs, inits, nonseqs = inputs[s_seq], inputs[s_init], inputs[s_nonseq]
    buffers, nits = outputs[:op.n_mit], outputs[op.n_mit:]
    g_buffers, g_nits = output_grads[:op.n_mit], output_grads[op.n_mit:]
    truncated = op.truncate_gradient > 0
    if truncated:
        n_back = minimum(n, constant(np.int64(op.truncate_gradient)))
        start = n - n_back
    else:
        n_back, start = n, constant(np.int64(0))

    fresh, step_outs = _fresh_step(op)
    f_seqs, f_groups, _, f_nonseqs = _split(op, fresh)
    back_inner, back_outer = [], []

    def sequence(inner, outer_rows):
        # the backward loop reads rows start..n-1 of the forward values, last first
        back_inner.append(inner)
        back_outer.append(outer_rows[::-1])

    for p, x in zip(f_seqs, seqs):
        sequence(p, x[start:n])
    for group, taps, lag, buf in zip(f_groups, op.mit_taps, op.lags, buffers):
        for p, k in zip(group, taps):
            sequence(p, buf[lag + k + start:lag + k + n])
    stored = {}  # a step output -> the placeholder reading its stored value
    for j, out in enumerate(step_outs):
        if out.owner is None or not _is_float(out):
            continue
        p = row_type(outputs[j].type).make_variable(f"{out.name or 'out'}_value")
        stored[out] = p
        if j < op.n_mit:
            sequence(p, buffers[j][op.lags[j] + start:op.lags[j] + n])
        else:
            sequence(p, nits[j - op.n_mit][start:n])

    known, windows = {}, []
    for j, (group, lag) in enumerate(zip(f_groups, op.lags)):
        if not _is_float(buffers[j]):
            continue
        window = TensorType(group[0].dtype, (lag,) + group[0].type.shape).make_variable(
            f"grad_window{j}")
        g_row = row_type(g_buffers[j].type).make_variable(f"grad_out{j}")
        sequence(g_row, g_buffers[j][lag + start:lag + n])
        windows.append((j, window))
        _add(known, step_outs[j], window[lag - 1] + g_row)
    for m, g in enumerate(g_nits):
        if _is_float(nits[m]):
            g_row = row_type(g.type).make_variable(f"grad_out{op.n_mit + m}")
            sequence(g_row, g[start:n])
            _add(known, step_outs[op.n_mit + m], g_row)

    wrt = ([p for p in f_seqs if _is_float(p)]
           + [p for j, _ in windows for p in f_groups[j]]
           + [p for p in f_nonseqs if _is_float(p)])
    found = {}
    if known and wrt:
        gs = grad(None, wrt=wrt, known_grads=known, disconnected_inputs="ignore",
                  return_disconnected="None")
        present = [(w, g) for w, g in zip(wrt, gs) if g is not None]
        reused = clone_replace([g for _, g in present], stored) if stored else [
            g for _, g in present]
        found = {id(w): g for (w, _), g in zip(present, reused)}

    nit_outs, seq_positions = [], []
    for i, p in enumerate(f_seqs):
        if id(p) in found:
            nit_outs.append(found[id(p)])
            seq_positions.append(i)
    carry_inner, carry_init, carry_outs = [], [], []
    for j, window in windows:
        lag = op.lags[j]
        new = zeros_like(window)
        if lag > 1:
            new = set_subtensor(new[1:], window[:-1])
        for p, k in zip(f_groups[j], op.mit_taps[j]):
            if id(p) in found:
                new = inc_subtensor(new[lag + k], found[id(p)])
        carry_inner.append(window)
        carry_init.append(zeros_like(inits[j]))
        carry_outs.append(new)
    acc_positions = []
    for k, p in enumerate(f_nonseqs):
        if id(p) in found:
            acc = p.type.make_variable(f"{p.name or 'nonseq'}_grad_sum")
            carry_inner.append(acc)
            carry_init.append(zeros_like(nonseqs[k]))
            carry_outs.append(acc + found[id(p)])
            acc_positions.append(k)

    result = [None] * len(inputs)
    if not carry_outs and not nit_outs:
        return result
    # Only what the backward step reads is handed to it.
    used = set(map(id, graph_inputs(nit_outs + carry_outs)))
    keep = [i for i, p in enumerate(back_inner) if id(p) in used]
    nonseq_keep = [k for k, p in enumerate(f_nonseqs) if id(p) in used]
    back = Scan([back_inner[i] for i in keep] + carry_inner
                + [f_nonseqs[k] for k in nonseq_keep],
                nit_outs + carry_outs, len(keep), (), len(nit_outs), len(carry_inner),
                name=f"{op.name}_grad")
    node = back.make_node(n_back, *[back_outer[i] for i in keep], *carry_init,
                          *[nonseqs[k] for k in nonseq_keep])
    outs = node.outputs
    for pos, i in enumerate(seq_positions):
        full = zeros_like(seqs[i])
        result[s_seq.start + i] = set_subtensor(full[start:n], outs[pos][::-1])
    for pos, (j, _) in enumerate(windows):
        g_init = outs[len(nit_outs) + pos]
        if truncated:  # the window holds the initial rows only when every step was visited
            g_init = switch(equal(start, 0), g_init, zeros_like(g_init))
        result[s_init.start + j] = g_init + g_buffers[j][:op.lags[j]]
    for pos, k in enumerate(acc_positions):
        result[s_nonseq.start + k] = outs[len(nit_outs) + len(windows) + pos]
    for j, _ in enumerate(inits):
        if result[s_init.start + j] is None and _is_float(inits[j]):
            result[s_init.start + j] = g_buffers[j][:op.lags[j]]
    return result


def _add(known, var, g):
    known[var] = known[var] + g if var in known else g


def _pullback_recorded(op, inputs, output_grads):
    """The pullback of a Scan with carried states, through its recording twin.

    The twin is applied to stand-ins for the inputs, so that `grad` follows only
    the twin (not other paths between the inputs, such as an initial state
    computed from a non-sequence); the stand-ins are then replaced by the inputs."""
    from symtheano.gradient import grad
    from symtheano.tensor.elemwise import shape_padleft
    from symtheano.tensor.shape import zeros_like
    from symtheano.tensor.subtensor import set_subtensor

    twin = recording_twin(op)
    stand_ins = [v.type.make_variable(v.name) for v in inputs]
    s_seq, s_init, s_carry, s_nonseq = op.outer_slices()
    outs = twin.make_node(stand_ins[0], *stand_ins[s_seq], *stand_ins[s_init],
                          *[shape_padleft(c) for c in stand_ins[s_carry]],
                          *stand_ins[s_nonseq]).outputs
    known = {}
    n_rec = op.n_mit + op.n_carry
    for j in range(op.n_mit):
        known[outs[j]] = output_grads[j]
    for c in range(op.n_carry):
        buf, g = outs[op.n_mit + c], output_grads[op.n_mit + op.n_nit + c]
        if _is_float(buf):
            known[buf] = set_subtensor(zeros_like(buf)[-1], g)
    for m in range(op.n_nit):
        known[outs[n_rec + m]] = output_grads[op.n_mit + m]
    known = {v: g for v, g in known.items() if _is_float(v)}
    wrt = [v for v in stand_ins[1:] if _is_float(v)]
    if not known or not wrt:
        return [None] * len(inputs)
    gs = grad(None, wrt=wrt, known_grads=known, disconnected_inputs="ignore",
              return_disconnected="None")
    present = [g for g in gs if g is not None]
    back = iter(clone_replace(present, dict(zip(stand_ins, inputs))))
    gs = iter([None if g is None else next(back) for g in gs])
    return [None] + [next(gs) if _is_float(v) else None for v in inputs[1:]]


# -- forward mode ------------------------------------------------------------------------------

def pushforward_scan(op, inputs, eval_points):
    from symtheano.rop import pushforward
    from symtheano.tensor.shape import zeros_like

    fresh, step_outs = _fresh_step(op)
    f_seqs, f_groups, f_carries, f_nonseqs = _split(op, fresh)
    s_seq, s_init, s_carry, s_nonseq = op.outer_slices()
    seqs, inits = inputs[s_seq], inputs[s_init]
    carries, nonseqs = inputs[s_carry], inputs[s_nonseq]
    points = list(eval_points)

    wrt, tangents = [], []

    def moving(inner, outer_point):
        t = inner.type.make_variable(f"{inner.name or 'in'}_tangent")
        wrt.append(inner)
        tangents.append(t)
        return t, outer_point

    seq_t = [moving(p, points[s_seq.start + i]) for i, p in enumerate(f_seqs)
             if _is_float(p) and points[s_seq.start + i] is not None]
    mit_float = [j for j in range(op.n_mit) if _is_float(step_outs[j])]
    group_t = {j: [moving(p, None)[0] for p in f_groups[j]] for j in mit_float}
    carry_float = [c for c in range(op.n_carry) if _is_float(f_carries[c])]
    carry_t = {c: moving(f_carries[c], None)[0] for c in carry_float}
    nonseq_t = [moving(p, points[s_nonseq.start + k]) for k, p in enumerate(f_nonseqs)
                if _is_float(p) and points[s_nonseq.start + k] is not None]

    out_t = pushforward(step_outs, wrt, tangents)
    out_t = [zeros_like(o) if t is None else t for o, t in zip(step_outs, out_t)]
    nit_float = [m for m in range(op.n_nit) if _is_float(step_outs[op.n_mit + m])]
    first_carry = op.n_mit + op.n_nit

    inner_in = (f_seqs + [t for t, _ in seq_t]
                + [p for g in f_groups for p in g] + [t for j in mit_float for t in group_t[j]]
                + f_carries + [carry_t[c] for c in carry_float]
                + f_nonseqs + [t for t, _ in nonseq_t])
    inner_out = (step_outs[:op.n_mit] + [out_t[j] for j in mit_float]
                 + step_outs[op.n_mit:first_carry] + [out_t[op.n_mit + m] for m in nit_float]
                 + step_outs[first_carry:] + [out_t[first_carry + c] for c in carry_float])
    fwd = Scan(inner_in, inner_out, len(f_seqs) + len(seq_t),
               op.mit_taps + tuple(op.mit_taps[j] for j in mit_float),
               op.n_nit + len(nit_float), op.n_carry + len(carry_float),
               truncate_gradient=op.truncate_gradient, name=f"{op.name}_tangent")

    def point_or_zero(k, value):
        return zeros_like(value) if points[k] is None else points[k]

    outs = fwd.make_node(
        inputs[0], *seqs, *[p for _, p in seq_t], *inits,
        *[point_or_zero(s_init.start + j, inits[j]) for j in mit_float],
        *carries, *[point_or_zero(s_carry.start + c, carries[c]) for c in carry_float],
        *nonseqs, *[p for _, p in nonseq_t]).outputs
    n_mit_all = op.n_mit + len(mit_float)
    n_nit_all = op.n_nit + len(nit_float)
    result = [None] * len(op.inner_outputs)
    for pos, j in enumerate(mit_float):
        result[j] = outs[op.n_mit + pos]
    for pos, m in enumerate(nit_float):
        result[op.n_mit + m] = outs[n_mit_all + op.n_nit + pos]
    for pos, c in enumerate(carry_float):
        result[first_carry + c] = outs[n_mit_all + n_nit_all + op.n_carry + pos]
    return result
