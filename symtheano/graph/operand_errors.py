"""Errors about operands that do not fit together, able to name the arguments behind them.

An op that finds at run time that its operands' shapes are incompatible (elementwise
broadcasting, the inner sizes of a product) raises `operand_error(*parts)`: a plain
`ValueError` whose message joins text and operands, each operand labelled by its name
or expression (`printing.short_label`). The error keeps the parts (shapes, not arrays:
it holds no data alive), so that the compiled function, which alone knows its
arguments, can word the message again once the call has failed (`name_arguments`): an
operand that is an argument becomes "argument 1 'y'", one computed from arguments
"exp(x) + y (from arguments 0 'x', 1 'y')". A call that succeeds runs none of this.
"""

from __future__ import annotations

_PARTS = "_symtheano_message_parts"


def operand_error(*parts):
    """A ValueError whose message joins `parts`: text (str) and operands (variables),
    each operand labelled by its name or expression as written."""
    exc = ValueError(_join(parts, _short_label))
    setattr(exc, _PARTS, parts)
    return exc


def shapes_parts(operands):
    """The parts of "<a> has shape (3,), <b> has shape (4,)" for (variable, shape) pairs."""
    parts = []
    for var, shape in operands:
        parts += [", " if parts else "", var, f" has shape {tuple(shape)}"]
    return parts


def _join(parts, label):
    return "".join(p if isinstance(p, str) else label(p) for p in parts)


def _short_label(var):
    from symtheano.printing import short_label  # printing imports the tensor package

    return short_label(var)


def name_arguments(exc, inputs, n_arguments):
    """Word an `operand_error` again, saying which function arguments each operand comes
    from; any other exception is left alone.

    `inputs`: the function graph's inputs, the first `n_arguments` of them the
    function's arguments in order, the rest shared variables. When no operand depends
    on any of them (the error came from an inner function of its own), the message
    stays as it was."""
    parts = getattr(exc, _PARTS, None)
    if parts is None or len(exc.args) != 1:
        return
    label = _ArgumentLabels(inputs, n_arguments)
    text = _join(parts, label)
    if label.found:
        exc.args = (text,)


class _ArgumentLabels:
    """label(variable): its name or expression, with the function inputs it comes from."""

    def __init__(self, inputs, n_arguments):
        self.position = {id(v): i for i, v in enumerate(inputs)}
        self.inputs = list(inputs)
        self.n_arguments = n_arguments
        self.found = False

    def __call__(self, var):
        pos = self.position.get(id(var))
        if pos is not None:
            self.found = True
            return self._describe([pos])
        sources = self._sources(var)
        if not sources:
            return _short_label(var)
        self.found = True
        return f"{_short_label(var)} (from {self._describe(sources)})"

    def _sources(self, var):
        """Positions of the inputs `var` is computed from, in order."""
        found, seen, todo = set(), set(), [var]
        while todo:
            v = todo.pop()
            if id(v) in seen:
                continue
            seen.add(id(v))
            pos = self.position.get(id(v))
            if pos is not None:
                found.add(pos)
            elif v.owner is not None:
                todo.extend(v.owner.inputs)
        return sorted(found)

    def _describe(self, positions):
        """"argument 0 'x'", "arguments 0 'x', 1 'y' and shared variable 'w'"."""
        args = [p for p in positions if p < self.n_arguments]
        shared = [p for p in positions if p >= self.n_arguments]
        parts = []
        if args:
            parts.append(("argument " if len(args) == 1 else "arguments ")
                         + ", ".join(f"{p} {self._name(p)}".rstrip() for p in args))
        if shared:
            parts.append(("shared variable " if len(shared) == 1 else "shared variables ")
                         + ", ".join(self._name(p) or str(self.inputs[p]) for p in shared))
        return " and ".join(parts)

    def _name(self, pos):
        name = self.inputs[pos].name
        return f"'{name}'" if name else ""
