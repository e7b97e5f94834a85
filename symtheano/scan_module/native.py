"""Scan in the C back end: the program runner (codegen/c/vm/st_vm.c) runs the
whole loop natively. The inner graph is rewritten by the pipeline and compiled
to its own program; an `st_vm.Loop` describes the layout (how many sequences,
the taps of each recurrent output, ...), and the Scan node's instruction runs
that program once per step in C: rows of the sequences and earlier values of
the outputs are handed to it as array views, and what it returns is copied into
the output buffers, with no Python call per step. A call the loop declines (a
negative n_steps, a short sequence, an output whose shape changes) runs the
op's reference `perform`, which raises the precise error.
"""

from __future__ import annotations


def build_loop(op):
    """The st_vm.Loop running `op`'s inner graph."""
    from symtheano.codegen.c import vm
    from symtheano.codegen.c.program import NativeProgram

    body = NativeProgram(op.rewritten_inner("c"))
    op._compiled["native_program"] = body  # for inspection (tests, debugging)
    return vm.module().Loop(body._run, op.n_seqs, op.mit_taps, op.n_nit, op.n_carry,
                            op.n_nonseq)
