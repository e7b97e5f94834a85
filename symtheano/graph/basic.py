"""The graph's building blocks: Type, Variable, Constant, Apply and Op.

A graph is a bipartite DAG: a `Variable` is produced by at most one `Apply`
node (its `owner`), and an `Apply` node applies an `Op` to input variables.
Ops are immutable and compare equal when their `__props__` are equal, which
is what lets common subexpressions be merged.
"""

from __future__ import annotations

import itertools
import sys

from symtheano.configuration import config

_ids = itertools.count()

# config.compute_test_value != "off", kept here so that building a node costs one
# global read when test values are off (symtheano/graph/test_values.py).
_test_values_on = config.compute_test_value != "off"


def _follow_test_value_setting(value):
    global _test_values_on
    _test_values_on = value != "off"


config.on_change("compute_test_value", _follow_test_value_setting)


def creation_site(skip_prefixes=("symtheano",)):
    """The first stack frame outside this package: where the user built a variable."""
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(skip_prefixes):
            return (frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


class Tag(dict):
    """Free-form notes on a variable: a dict whose keys also read and write as
    attributes, so Theano's `x.tag.test_value = value` works beside `x.tag["key"]`."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"tag has no entry {name!r}") from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"tag has no entry {name!r}") from None


class Type:
    """What a variable can hold. Subclasses implement `filter` and equality."""

    def filter(self, value, strict=False, allow_downcast=None):
        raise NotImplementedError

    def is_valid_value(self, value):
        try:
            self.filter(value, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def make_variable(self, name=None):
        return self.variable_class(self, name=name)

    def __call__(self, name=None):
        return self.make_variable(name)

    variable_class = None  # set by subclasses


class Variable:
    """A value in the graph: an input (no owner) or the output of an Apply."""

    def __init__(self, type, owner=None, index=None, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.auto_name = f"_{next(_ids)}"
        self.tag = Tag()
        self.site = creation_site()

    def clone(self):
        """A new variable of the same type and name, with no owner."""
        cp = type(self)(self.type, name=self.name)
        cp.tag = Tag(self.tag)
        return cp

    def __str__(self):
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = self.owner.op
            if len(self.owner.outputs) == 1:
                return f"{op}.out"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def __repr__(self):
        return str(self)

    def where(self):
        """'file:line' where the user created this variable, or '' if unknown."""
        if self.site is None:
            return ""
        return f"{self.site[0]}:{self.site[1]}"

    def _repr_latex_(self):
        """Jupyter shows a variable as typeset math (through SymPy) where its graph
        is made of the ops the SymPy bridge knows; otherwise its repr."""
        from symtheano.sympy_bridge import latex_or_none

        return latex_or_none(self)


class Constant(Variable):
    """A variable with a fixed value; it has no owner and is never an input."""

    def __init__(self, type, data, name=None):
        super().__init__(type, None, None, name)
        value = type.filter(data, strict=False, allow_downcast=True)
        if value is data:  # never freeze the caller's own array
            value = value.copy()
        # Read-only: no op, and no caller holding a returned view, can change a constant.
        value.setflags(write=False)
        self.data = value

    def clone(self):
        return type(self)(self.type, self.data, name=self.name)

    def signature(self):
        """A hashable key equal for constants that hold equal data of equal type."""
        return (self.type, self.type.value_signature(self.data))

    def __str__(self):
        if self.name is not None:
            return self.name
        return self.type.format_value(self.data)


class Apply:
    """One application of an op to input variables, producing output variables."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            if out.owner is None:
                out.owner, out.index = self, i
            elif out.owner is not self or out.index != i:
                raise ValueError("an output variable already belongs to another node")

    @property
    def out(self):
        if len(self.outputs) != 1:
            raise AttributeError(f"{self.op} has {len(self.outputs)} outputs; use .outputs")
        return self.outputs[0]

    def clone_with_new_inputs(self, inputs, strict=True):
        """The same op applied to `inputs`; re-runs make_node unless types are identical."""
        if all(a.type == b.type for a, b in zip(inputs, self.inputs, strict=True)):
            outputs = [o.type.make_variable(o.name) for o in self.outputs]
            return Apply(self.op, inputs, outputs)
        node = self.op.make_node(*inputs)
        if strict:
            for new, old in zip(node.outputs, self.outputs, strict=True):
                if new.type.ndim != old.type.ndim:
                    raise TypeError(f"replacing inputs of {self.op} changed an output's ndim")
        return node

    def __repr__(self):
        return f"Apply({self.op}, {self.inputs})"


class Props:
    """Value semantics from `__props__`: equal fields make equal, hashable objects."""

    __props__ = ()

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        if self.__props__:
            args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
            return f"{type(self).__name__}{{{args}}}"
        return type(self).__name__

    __repr__ = __str__


class Op(Props):
    """An operation. Subclasses set `__props__` (the fields that define equality)
    and implement `make_node` and `perform`; differentiable ops implement `grad`
    (or `L_op`, which also receives the node's outputs).
    """

    default_output = None

    def make_node(self, *inputs):
        raise NotImplementedError

    def __call__(self, *inputs, **kwargs):
        try:
            node = self.make_node(*inputs, **kwargs)
        except (TypeError, ValueError) as exc:
            _note_input_sites(exc, inputs)
            raise
        if _test_values_on:
            from symtheano.graph.test_values import compute_test_values

            compute_test_values(node)
        if self.default_output is not None:
            return node.outputs[self.default_output]
        if len(node.outputs) == 1:
            return node.outputs[0]
        return node.outputs

    def perform(self, node, inputs, output_storage):
        """Compute outputs with NumPy: `output_storage[i][0] = value`."""
        raise NotImplementedError(f"{self} has no reference implementation")

    def infer_shape(self, node, input_shapes):
        """Symbolic output shapes (tuples of scalar variables) from input shapes."""
        raise NotImplementedError(f"{self} cannot infer its output shape")

    def grad(self, inputs, output_grads):
        raise NotImplementedError(f"{self} has no gradient")

    def L_op(self, inputs, outputs, output_grads):
        """Pullback: input gradients from output gradients (None: zero gradient)."""
        return self.grad(inputs, output_grads)

    def connection_pattern(self, node):
        """[input][output] -> bool: does the output depend on the input differentiably?"""
        return [[True] * len(node.outputs) for _ in node.inputs]

    def pretty(self, input_strs):
        """Infix or call notation used by `pp`; None means the default call form."""
        return None


def _note_input_sites(exc, inputs):
    """Add to an error raised while building a node where the user created each of
    its symbolic inputs (once: an op built inside another op's make_node notes it
    first)."""
    if getattr(exc, "_symtheano_sites", False):
        return
    described = []
    for i, v in enumerate(inputs):
        if isinstance(v, Variable) and v.site is not None:
            label = v.name if v.name is not None else f"input {i}"
            described.append(f"{label} <{v.type}> created at {v.where()}")
    if described:
        exc.add_note("symbolic inputs: " + "; ".join(described))
    try:
        exc._symtheano_sites = True
    except AttributeError:  # an exception type with slots: the note is enough
        pass


def format_stack_hint(var):
    """A one-line pointer to where `var` was created, for error messages."""
    site = getattr(var, "site", None)
    if not site:
        return ""
    return f" (created at {site[0]}:{site[1]})"


def toposort(outputs):
    """Apply nodes needed to compute `outputs`, each after the nodes it depends on.

    Iterative so that very deep graphs (10,000-op chains) need no recursion.
    """
    order = []
    seen = set()
    stack = [(v, False) for v in reversed(list(outputs))]
    while stack:
        var, expanded = stack.pop()
        node = var.owner if isinstance(var, Variable) else var
        if node is None:
            continue
        if expanded:
            if id(node) not in seen:
                seen.add(id(node))
                order.append(node)
            continue
        if id(node) in seen:
            continue
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if inp.owner is not None and id(inp.owner) not in seen:
                stack.append((inp, False))
    return order


def ancestors(outputs, blockers=()):
    """Every variable that `outputs` depend on (including themselves)."""
    blockers = set(map(id, blockers))
    seen, result = set(), []
    stack = list(outputs)
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        result.append(v)
        if v.owner is not None and id(v) not in blockers:
            stack.extend(v.owner.inputs)
    return result


def graph_inputs(outputs, blockers=()):
    """The variables without owner (inputs and constants) that `outputs` depend on."""
    blocker_ids = set(map(id, blockers))
    return [v for v in ancestors(outputs, blockers) if v.owner is None or id(v) in blocker_ids]


def clone_replace(outputs, replace=None, copy_inputs=False):
    """Rebuild the graph of `outputs` with variables substituted per `replace`.

    Returns the new outputs. The original graph is not modified.
    """
    memo = {}
    for old, new in (replace or {}).items():
        memo[id(old)] = new
    for node in toposort(outputs):
        if id(node.outputs[0]) in memo and all(id(o) in memo for o in node.outputs):
            continue
        new_inputs = []
        for inp in node.inputs:
            if id(inp) not in memo:
                memo[id(inp)] = inp.clone() if (copy_inputs and inp.owner is None and
                                                not isinstance(inp, Constant)) else inp
            new_inputs.append(memo[id(inp)])
        if all(a is b for a, b in zip(new_inputs, node.inputs)):
            for o in node.outputs:
                memo.setdefault(id(o), o)
            continue
        new_node = node.clone_with_new_inputs(new_inputs, strict=False)
        for old_out, new_out in zip(node.outputs, new_node.outputs):
            memo.setdefault(id(old_out), new_out)
            if new_out.name is None:
                new_out.name = old_out.name
    result = []
    for o in outputs:
        if id(o) not in memo:
            memo[id(o)] = o.clone() if (copy_inputs and o.owner is None and
                                        not isinstance(o, Constant)) else o
        result.append(memo[id(o)])
    return result



def clone_graph(outputs, replace=None):
    """A private copy of every node computing `outputs`, with `replace`
    ({old variable: new variable}) substituted. Root variables that are not
    replaced (inputs, shared variables, constants) are kept, not copied.

    Returns (new outputs, {id(old variable): new variable}).
    """
    memo = {id(old): new for old, new in (replace or {}).items()}
    for node in toposort(outputs):
        if all(id(o) in memo for o in node.outputs):
            continue
        inputs = [memo.get(id(i), i) for i in node.inputs]
        outs = [o.type.make_variable(o.name) for o in node.outputs]
        for old, new in zip(node.outputs, outs):
            new.tag = Tag(old.tag)
            new.site = old.site
            memo[id(old)] = new
        Apply(node.op, inputs, outs)
    return [memo.get(id(o), o) for o in outputs], memo
