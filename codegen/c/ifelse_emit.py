"""The C linker's emitter for IfElse (symtheano/ifelse.py): the chosen branch runs
as a compiled function of its own (mode "C"), compiled the first time it is
taken; the reference `perform` runs it on the reference back end."""

from __future__ import annotations

from symtheano.codegen.c.linker import emitter


@emitter
def ifelse_branches(node):
    from symtheano.ifelse import IfElse

    if isinstance(node.op, IfElse):
        return node.op.compiled_perform("C")
    return None
