"""In and Out: how a compiled function's inputs and outputs are declared."""

from __future__ import annotations

from symtheano.graph.basic import Variable


class In:
    """An input of a compiled function, with an optional default `value` and `name`.

    mutable: the function may write into the given array (never done today;
    accepted for Theano compatibility). borrow: accepted for compatibility.
    """

    def __init__(self, variable, name=None, value=None, update=None, mutable=False,
                 strict=False, allow_downcast=None, autoname=True, implicit=None,
                 borrow=False, shared=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"In() wraps a symbolic variable, got {type(variable).__name__}")
        if update is not None:
            raise NotImplementedError("In(update=...) is not supported; use function(..., "
                                      "updates=[(shared_variable, new_value)])")
        self.variable = variable
        self.name = name if name is not None else (variable.name if autoname else None)
        self.value = value
        self.has_default = value is not None
        self.mutable = mutable
        self.strict = strict
        self.allow_downcast = allow_downcast
        self.borrow = borrow

    def __repr__(self):
        return f"In({self.variable}, name={self.name!r}, value={self.value!r})"


class Out:
    """An output of a compiled function; `borrow=True` may return internal storage."""

    def __init__(self, variable, borrow=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"Out() wraps a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = borrow
