"""PaddedSum: a sum of elementwise terms, each written into a box of an array of
zeros, as one op.

Reverse mode writes the gradient of a slice into zeros: the gradient of
`x[1:]` is `inc_subtensor(zeros_like(x)[1:], g)`, and a cost that reads
`x[1:]`, `x[:-1]` and `x` (a chain, a finite difference, an autoregression)
gets the sum of such padded terms. Evaluated as written, every term allocates
and fills a full array of zeros before the sum reads them all. PaddedSum
computes the same sum in one pass over the output:

    out = zeros(shape)
    T_k = zeros(shape); T_k[box_k] += value_k      ("inc" term)
    T_k = zeros(shape); T_k[box_k]  = value_k      ("set" term)
    T_k = value_k                                   ("full" term: no box)
    out = T_1 + T_2 + ... + T_K                     (the elementwise add, in order)

A box is a slice with step 1 along each of the leading axes (`[1:]`, `[:-1, 2:5]`);
its bounds are constants, counted from the end when negative. Each value_k is
a Composite of the term's inputs (or one input itself), broadcast as Elemwise
broadcasts (only declared-broadcastable dimensions), and must have the box's
shape. The rewrite that builds PaddedSum (rewrite/padded_sum.py) moves the
elementwise producers of each value into its term, so that in a compiled back
end no term is ever materialised.

Inputs: the output's shape as `ndim` int64 scalars, then every term's inputs in
term order (a variable read by two terms appears twice). The reference `perform`
evaluates the definition above literally, so results are bit-identical to the
unrewritten graph: a compiled back end keeps that by adding in the same order,
including the `0 + value` of an "inc" term (which turns -0.0 into +0.0).
"""

from __future__ import annotations

import dataclasses
import functools
import types

import numpy as np

import symtheano.tensor.basic  # noqa: F401  (registers the scalar ops)
from symtheano.graph.basic import Apply, Op, toposort
from symtheano.tensor.composite import Composite, check_broadcast, expanded_grads
from symtheano.tensor.elemwise import SCALAR_OPS, Elemwise, elemwise_value
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import as_tensor_variable, constant

__all__ = []

KINDS = ("inc", "set", "full")


@dataclasses.dataclass(frozen=True)
class Term:
    """One term of a PaddedSum.

    kind: "inc", "set" or "full"; box: ((start, stop), ...) for the leading axes
    (ints or None, step 1), () for a full term; composite: the Composite computing
    the value from the term's `n_inputs` inputs, or None when the value is its
    single input."""

    kind: str
    box: tuple
    composite: Composite | None
    n_inputs: int

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"PaddedSum term kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "full") != (self.box == ()):
            raise ValueError("PaddedSum: a full term has no box; other terms need one")
        if self.composite is None and self.n_inputs != 1:
            raise ValueError("PaddedSum: a term without a Composite has exactly one input")
        if self.composite is not None and self.composite.nin != self.n_inputs:
            raise ValueError("PaddedSum: a term's input count differs from its Composite's")

    def slices(self):
        """The box as a tuple of Python slices."""
        return tuple(slice(a, b) for a, b in self.box)

    def label(self):
        value = "i" if self.composite is None else self.composite.label()
        if self.kind == "full":
            return value
        box = ", ".join(f"{'' if a is None else a}:{'' if b is None else b}" for a, b in self.box)
        return f"{self.kind}([{box}], {value})"


class PaddedSum(Op):
    """See the module docstring. `static_shape` is the output's static shape."""

    __props__ = ("terms", "dtype", "static_shape")

    def __init__(self, terms, dtype, static_shape):
        self.terms = tuple(terms)
        self.dtype = str(dtype)
        self.static_shape = tuple(None if s is None else int(s) for s in static_shape)
        self.ndim = len(self.static_shape)
        if not self.terms:
            raise ValueError("PaddedSum needs at least one term")
        for t in self.terms:
            if len(t.box) > self.ndim:
                raise ValueError(f"PaddedSum: box {t.box} has more axes than the output "
                                 f"({self.ndim})")
            if t.composite is not None and t.composite.ndim > self.ndim:
                raise ValueError("PaddedSum: a term has more dimensions than the output")
        self._hash = None

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((type(self), self._props()))
        return self._hash

    def term_inputs(self, inputs):
        """The inputs of each term: a list per term (`inputs` without the shape)."""
        out, k = [], self.ndim
        for t in self.terms:
            out.append(inputs[k:k + t.n_inputs])
            k += t.n_inputs
        return out

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        n_terms = sum(t.n_inputs for t in self.terms)
        if len(inputs) != self.ndim + n_terms:
            raise TypeError(f"{self} takes {self.ndim} sizes and {n_terms} term inputs, got "
                            f"{len(inputs)} inputs")
        for d, s in enumerate(inputs[:self.ndim]):
            if s.ndim != 0 or s.dtype != "int64":
                raise TypeError(f"{self}: size {d} must be an int64 scalar, got {s.type}")
        for k, (t, ins) in enumerate(zip(self.terms, self.term_inputs(inputs))):
            dtype, ndim = self._value_type(t, ins)
            if dtype != self.dtype or ndim > self.ndim or (t.kind != "full" and ndim != self.ndim):
                raise TypeError(f"{self}: term {k} has a {ndim}-d {dtype} value; the output is "
                                f"{self.ndim}-d {self.dtype}")
            if t.composite is not None:
                t.composite.make_node(*ins)  # checks the inputs' types
        return Apply(self, inputs, [TensorType(self.dtype, self.static_shape).make_variable()])

    @staticmethod
    def _value_type(term, ins):
        if term.composite is None:
            return ins[0].dtype, ins[0].ndim
        return term.composite.dtype, term.composite.ndim

    def value_types(self, node):
        """The static type of each term's value (broadcast pattern included)."""
        out = []
        for t, ins in zip(self.terms, self.term_inputs(node.inputs)):
            if t.composite is None:
                out.append(ins[0].type)
            else:
                shape = t.composite.static_shape([x.type.shape for x in ins])
                out.append(TensorType(t.composite.dtype, shape))
        return out

    def perform(self, node, inputs, output_storage):
        shape = tuple(int(s) for s in inputs[:self.ndim])
        if any(s < 0 for s in shape):
            raise ValueError(f"{self}: negative output shape {shape}")
        parts = []
        term_vars = self.term_inputs(node.inputs)
        for k, (t, ins, vtype) in enumerate(zip(self.terms, self.term_inputs(inputs),
                                                self.value_types(node))):
            if t.composite is None:
                value = ins[0]
            else:
                view = types.SimpleNamespace(inputs=term_vars[k], outputs=None)
                check_broadcast(t.composite, view, ins)
                value = t.composite.evaluate(ins)
            if t.kind == "full":
                parts.append(value)
                continue
            part = np.zeros(shape, dtype=self.dtype)
            target = part[t.slices()]
            _check_fits(self, k, t, vtype, value, target.shape)
            if t.kind == "set":
                target[...] = value
            else:
                target += value
            parts.append(part)
        result = parts[0] if len(parts) == 1 else elemwise_value(_ADD, parts, self.dtype)
        if result.shape != shape:
            raise ValueError(f"{self}: the terms give shape {result.shape}, the output "
                             f"has shape {shape}")
        output_storage[0][0] = result

    def infer_shape(self, node, input_shapes):
        return [tuple(node.inputs[:self.ndim])]

    def expand(self, inputs):
        """The unfused graph: zeros, inc/set_subtensor of each term's value, the sum."""
        from symtheano.tensor.shape import alloc
        from symtheano.tensor.subtensor import inc_subtensor, set_subtensor

        inputs = [as_tensor_variable(x) for x in inputs]
        zero = constant(np.zeros((), dtype=self.dtype))
        parts = []
        for t, ins in zip(self.terms, self.term_inputs(inputs)):
            value = ins[0] if t.composite is None else t.composite.expand(ins)
            if t.kind == "full":
                parts.append(value)
                continue
            zeros = alloc(zero, *inputs[:self.ndim])
            fn = set_subtensor if t.kind == "set" else inc_subtensor
            parts.append(fn(zeros[t.slices()], value))
        return parts[0] if len(parts) == 1 else Elemwise(_ADD)(*parts)

    def L_op(self, inputs, outputs, output_grads):
        result = expanded_grads(inputs, self.expand, output_grads[0])
        return [None] * self.ndim + result[self.ndim:]

    def R_op(self, inputs, eval_points):
        from symtheano.tensor.composite import expanded_tangent

        return expanded_tangent(inputs, self.expand(inputs), eval_points)

    def kernels(self, term_input_types, aliases=None):
        """The elementwise computations a compiled back end runs:

            (fused, [acc_1, ..., acc_K])

        fused: (Composite, sources) evaluating out = T_1 + ... + T_K where every box
        covers the position; acc_k: (Composite, sources) evaluating out + T_k's
        contribution where only some boxes do (`out` accumulates, starting from
        zeros). sources: per Composite input, the index of the term input it reads
        (counted from the first term input), or -1 for `out` itself.

        term_input_types: the type of every term input, in order; aliases: per term
        input, the term input it reads the same elements as wherever every box
        covers the position (`interior_aliases`), so that the fused kernel loads
        each once (None: every input its own)."""
        n = len(term_input_types)
        aliases = tuple(range(n)) if aliases is None else tuple(aliases)
        return _kernels(self, tuple(term_input_types), aliases)

    def interior_aliases(self, node):
        """Per term input of `node`, the first term input that holds the same value
        at every output position all boxes cover.

        Terms read shifted slices of one array: the gradient of a cost reading
        `x[1:]` and `x[:-1]` has terms on boxes `[:-1]` and `[1:]` reading `x[:-1]`
        and `x[1:]`, and at output position i both read x[i]. A term input `v` on a
        box starting at `lo` reads, at output position i, element i - lo + start of
        the array `v` slices (a basic slice with constant start >= 0 and step 1,
        through shape checks), or element i - lo of `v` itself; two inputs reading the
        same element of the same array everywhere are aliases. Boxes counted from
        the end and broadcast inputs are left alone (their offsets depend on sizes)."""
        keys = [None] * (len(node.inputs) - self.ndim)
        first = 0
        for t, ins in zip(self.terms, self.term_inputs(node.inputs)):
            lows = [0] * self.ndim
            for d, (start, _) in enumerate(t.box):
                lows[d] = None if start is not None and start < 0 else (start or 0)
            for j, v in enumerate(ins, first):
                if None not in lows and v.ndim == self.ndim and 1 not in v.type.shape:
                    base, starts = _slice_origin(v)
                    keys[j] = (id(base), tuple(s - lo for s, lo in zip(starts, lows)))
            first += t.n_inputs
        seen = {}
        return tuple(j if k is None else seen.setdefault(k, j) for j, k in enumerate(keys))

    def label(self):
        return " + ".join(t.label() for t in self.terms)

    def __str__(self):
        return f"PaddedSum{{{self.label()}}}"

    __repr__ = __str__

    def pretty(self, input_strs):
        return f"{self}({', '.join(input_strs[self.ndim:])})"


_ADD = SCALAR_OPS["add"]


def _check_fits(op, k, term, vtype, value, target):
    """Raise unless `value` broadcasts to the box shape `target` as Elemwise would."""
    ok = value.ndim == len(target) and all(
        v == t or (v == 1 and vtype.shape[d] == 1) for d, (v, t) in enumerate(zip(value.shape,
                                                                               target)))
    if not ok:
        raise ValueError(f"{op}: term {k} ({term.label()}) has a value of shape {value.shape}; "
                         f"its box of the output has shape {target}")


def _slice_origin(v):
    """(the array `v` is a basic step-1 slice of, per axis the constant start) through
    shape checks; (v, zeros) when `v` is not such a slice."""
    from symtheano.tensor.shape import CheckShape, SpecifyShape
    from symtheano.tensor.subtensor import Slice, Subtensor

    while v.owner is not None and isinstance(v.owner.op, (CheckShape, SpecifyShape)):
        v = v.owner.inputs[0]
    node = v.owner
    if node is not None and type(node.op) is Subtensor and len(node.inputs) == 1:
        base, idx = node.inputs[0], node.op.idx_list
        if base.ndim == v.ndim and all(
                isinstance(e, Slice) and e.step in (None, 1)
                and (e.start is None or (isinstance(e.start, int) and e.start >= 0))
                for e in idx):
            starts = [e.start or 0 for e in idx] + [0] * (v.ndim - len(idx))
            return base, starts
    return v, [0] * v.ndim


def _values(op, ins_of):
    """Per term, the value computed from the term's inputs (ins_of(k0, n): fresh
    variables)."""
    values, k0 = [], 0
    for t in op.terms:
        ins = ins_of(k0, t.n_inputs)
        k0 += t.n_inputs
        values.append(ins[0] if t.composite is None else t.composite.expand(ins))
    return values


@functools.lru_cache(maxsize=256)
def _kernels(op, types_, aliases):
    fresh = [TensorType(t.dtype, (None,) * t.ndim).make_variable() for t in types_]
    index = {id(v): k for k, v in enumerate(fresh)}
    zero = constant(np.zeros((), dtype=op.dtype))
    values = _values(op, lambda a, n: fresh[a:a + n])
    contributions = [Elemwise(_ADD)(zero, value) if t.kind == "inc" else value
                     for t, value in zip(op.terms, values)]
    # The fused sum reads aliased inputs once. Its `0 + value` of an "inc" term only
    # turns -0.0 into +0.0, which changes a sum only when everything added before is
    # -0.0 too: after the first "inc" term the running sum is never -0.0, so later
    # "inc" terms add their value directly (the same bits, one add fewer).
    shared = values if aliases == tuple(range(len(fresh))) else _values(
        op, lambda a, n: [fresh[aliases[j]] for j in range(a, a + n)])
    fused_parts, never_negative_zero = [], False
    for t, value in zip(op.terms, shared):
        if t.kind == "inc" and not never_negative_zero:
            value = Elemwise(_ADD)(zero, value)
            never_negative_zero = True
        fused_parts.append(value)

    def composite_of(total, acc=None):
        comp, outer = Composite.from_nodes(toposort([total]))
        sources = tuple(-1 if v is acc else index[id(v)] for v in outer)
        return comp, sources

    fused_total = (fused_parts[0] if len(fused_parts) == 1
                   else Elemwise(_ADD)(*fused_parts))
    if fused_total.owner is None:  # a single full term read as it is: out = i0
        fused_total = Elemwise(SCALAR_OPS["identity"])(fused_total)
    fused = composite_of(fused_total)
    accs = []
    for c in contributions:
        acc = TensorType(op.dtype, (None,) * op.ndim).make_variable()
        accs.append(composite_of(Elemwise(_ADD)(acc, c), acc))
    return fused, accs
