"""Between symtheano graphs and SymPy expressions (imported only when used).

    from symtheano.sympy_bridge import to_sympy, from_sympy

    x = T.dscalar("x")
    expr = to_sympy(T.grad(T.exp(x) * x ** 2, x))   # a SymPy expression in Symbol("x")
    simpler = sympy.simplify(expr)
    g = from_sympy(simpler, {sympy.Symbol("x"): x})  # a symtheano graph again

What is covered: elementwise arithmetic and functions (the scalar ops with a
SymPy counterpart, comparisons and `switch`), casts, broadcasting (DimShuffle,
`fill`/`second`, Alloc), sums and products over axes, and shape sizes.

How arrays read in SymPy: a 0-d variable is a Symbol of its name; an n-d
variable is an IndexedBase, and an expression stands for one element of the
result, at indices i0, i1, ... (one per dimension of the result). A sum over an
axis is a `Sum` over a fresh index from 0 to the size of that dimension minus
one, the size being the Symbol `x.shape[d]` of the input it comes from (or the
static size when known). So `T.sum(T.exp(v))` for a vector v is
`Sum(exp(v[j0]), (j0, 0, v.shape[0] - 1))`, which SymPy can differentiate with
respect to `v[k]`.

`from_sympy(expr, {symbol or IndexedBase: variable})` reads the same notation
back: free indices become the result's axes in name order (i0, i1, ...), a
`Sum`/`Product` over an index becomes a sum/product over its axis, and a size
Symbol `x.shape[d]` becomes `x.shape[d]` of the variable mapped to `x`.
"""

from __future__ import annotations

import numpy as np
import sympy

from symtheano.graph.basic import Constant, toposort

# scalar op name -> function of SymPy arguments
_TO_SYMPY = {
    "add": lambda *a: sympy.Add(*a), "mul": lambda *a: sympy.Mul(*a),
    "sub": lambda a, b: a - b, "true_div": lambda a, b: a / b, "neg": lambda a: -a,
    "pow": lambda a, b: a ** b, "sqr": lambda a: a ** 2, "reciprocal": lambda a: 1 / a,
    "sqrt": sympy.sqrt, "exp": sympy.exp, "exp2": lambda a: 2 ** a,
    "expm1": lambda a: sympy.exp(a) - 1, "log": sympy.log, "log1p": lambda a: sympy.log(1 + a),
    "log2": lambda a: sympy.log(a, 2), "log10": lambda a: sympy.log(a, 10),
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "arcsin": sympy.asin,
    "arccos": sympy.acos, "arctan": sympy.atan, "arctan2": sympy.atan2,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "arcsinh": sympy.asinh,
    "arccosh": sympy.acosh, "arctanh": sympy.atanh, "abs": sympy.Abs, "sgn": sympy.sign,
    "hypot": lambda a, b: sympy.sqrt(a ** 2 + b ** 2), "maximum": sympy.Max,
    "minimum": sympy.Min, "floor": sympy.floor, "ceil": sympy.ceiling,
    "erf": sympy.erf, "erfc": sympy.erfc, "erfinv": sympy.erfinv, "erfcinv": sympy.erfcinv,
    "gamma": sympy.gamma, "gammaln": sympy.loggamma, "psi": sympy.digamma,
    "tri_gamma": lambda a: sympy.polygamma(1, a),
    "polygamma": sympy.polygamma,
    "sigmoid": lambda a: 1 / (1 + sympy.exp(-a)), "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "xlogx": lambda a: a * sympy.log(a), "log1mexp": lambda a: sympy.log(1 - sympy.exp(a)),
    "erfcx": lambda a: sympy.exp(a ** 2) * sympy.erfc(a),
    "log_erfc": lambda a: sympy.log(sympy.erfc(a)),
    "lt": sympy.Lt, "gt": sympy.Gt, "le": sympy.Le, "ge": sympy.Ge,
    "eq": sympy.Eq, "neq": sympy.Ne,
    "switch": lambda c, a, b: sympy.Piecewise((a, c), (b, True)),
    "second": lambda a, b: b, "identity": lambda a: a,
    "deg2rad": lambda a: a * sympy.pi / 180, "rad2deg": lambda a: a * 180 / sympy.pi,
}


class _ToSympy:
    """The element of a variable at given indices, as a SymPy expression."""

    def __init__(self):
        self.memo = {}
        self.count = 0

    def fresh(self):
        self.count += 1
        return sympy.Symbol(f"j{self.count - 1}", integer=True)

    def size(self, var, dim):
        """The size of dimension `dim` of `var`: static, or the Symbol `x.shape[d]` of
        the root variable it comes from."""
        static = var.type.shape[dim]
        if static is not None:
            return sympy.Integer(static)
        node = var.owner
        if node is None:
            return sympy.Symbol(f"{_name(var)}.shape[{dim}]", integer=True, positive=True)
        op_name = type(node.op).__name__
        if op_name == "Elemwise":
            for inp in node.inputs:
                if inp.type.shape[dim] != 1:
                    return self.size(inp, dim)
        elif op_name == "DimShuffle":
            source = node.op.new_order[dim]
            if source != "x":
                return self.size(node.inputs[0], source)
        elif op_name == "Alloc":
            return self.element(node.inputs[1 + dim], ())
        elif op_name in ("Sum", "Prod"):
            kept = [d for d in range(node.inputs[0].ndim) if d not in node.op.axis]
            return self.size(node.inputs[0], kept[dim])
        raise NotImplementedError(f"to_sympy: cannot tell the size of dimension {dim} of "
                                  f"{var} (computed by {node.op})")

    def element(self, var, idx):
        key = (id(var), idx)
        if key not in self.memo:
            self.memo[key] = self._element(var, idx)
        return self.memo[key]

    def _element(self, var, idx):
        if isinstance(var, Constant):
            flat = np.unique(np.asarray(var.data).ravel())
            if flat.size != 1:
                raise NotImplementedError(f"to_sympy: constant {var} holds several values")
            value = flat[0].item()
            if isinstance(value, bool | int) or float(value).is_integer():
                return sympy.Integer(int(value))
            return sympy.Float(value)
        idx = tuple(0 if n == 1 else i for n, i in zip(var.type.shape, idx))
        node = var.owner
        if node is None:
            if var.ndim == 0:
                return sympy.Symbol(_name(var))
            return sympy.IndexedBase(_name(var))[idx]
        op, kind = node.op, type(node.op).__name__
        if kind == "Elemwise":
            name = op.scalar_op.name
            if name.startswith("cast_"):
                return self.element(node.inputs[0], idx)
            fn = _TO_SYMPY.get(name)
            if fn is None:
                raise NotImplementedError(f"to_sympy: no SymPy counterpart of {name}")
            return fn(*[self.element(i, idx) for i in node.inputs])
        if kind == "DimShuffle":
            inner = [0] * node.inputs[0].ndim
            for out_dim, source in enumerate(op.new_order):
                if source != "x":
                    inner[source] = idx[out_dim]
            return self.element(node.inputs[0], tuple(inner))
        if kind == "Alloc":
            value = node.inputs[0]
            return self.element(value, idx[len(idx) - value.ndim:])
        if kind in ("Sum", "Prod"):
            source = node.inputs[0]
            kept = iter(idx)
            inner, limits = [], []
            for d in range(source.ndim):
                if d in op.axis:
                    j = self.fresh()
                    inner.append(j)
                    limits.append((j, 0, self.size(source, d) - 1))
                else:
                    inner.append(next(kept))
            body = self.element(source, tuple(inner))
            return (sympy.Sum if kind == "Sum" else sympy.Product)(body, *limits)
        if kind == "ShapeI":
            return self.size(node.inputs[0], op.i)
        raise NotImplementedError(f"to_sympy: {op} is outside the elementwise and reduction "
                                  "subset")


def _name(var):
    if var.name is None:
        raise NotImplementedError(f"to_sympy: input {var} has no name (give it one: "
                                  "T.dvector('x'))")
    return var.name


def output_indices(ndim):
    """The index Symbols i0, i1, ... that an n-d expression's element is taken at."""
    return tuple(sympy.Symbol(f"i{d}", integer=True) for d in range(ndim))


def to_sympy(var):
    """`var`'s graph as a SymPy expression: for a 0-d variable its value, for an n-d
    one its element at indices i0, i1, ... (see the module docstring).
    Raises NotImplementedError for ops outside the subset."""
    return _ToSympy().element(var, output_indices(var.ndim))


# -- back: SymPy to a graph -------------------------------------------------------------------

def _functions():
    import symtheano.tensor as T

    return {
        sympy.exp: T.exp, sympy.log: T.log, sympy.sin: T.sin, sympy.cos: T.cos,
        sympy.tan: T.tan, sympy.asin: T.arcsin, sympy.acos: T.arccos, sympy.atan: T.arctan,
        sympy.sinh: T.sinh, sympy.cosh: T.cosh, sympy.tanh: T.tanh, sympy.asinh: T.arcsinh,
        sympy.acosh: T.arccosh, sympy.atanh: T.arctanh, sympy.Abs: T.abs,
        sympy.sign: T.sgn, sympy.floor: T.floor, sympy.ceiling: T.ceil, sympy.erf: T.erf,
        sympy.erfc: T.erfc, sympy.erfinv: T.erfinv, sympy.erfcinv: T.erfcinv,
        sympy.gamma: T.gamma, sympy.loggamma: T.gammaln, sympy.digamma: T.psi,
        sympy.atan2: T.arctan2,
    }


class _FromSympy:
    """SymPy -> (tensor, axes): `axes` names, per dimension of the tensor, the index
    Symbol it runs over."""

    def __init__(self, mapping):
        import symtheano.tensor as T

        self.T = T
        self.mapping = dict(mapping)
        self.by_name = {str(k): v for k, v in self.mapping.items()}
        self.functions = _functions()
        self.memo = {}

    def convert(self, expr):
        if expr not in self.memo:
            self.memo[expr] = self._convert(expr)
        return self.memo[expr]

    def align(self, parts):
        """Broadcast (tensor, axes) pairs to one list of axes (first seen first)."""
        axes = []
        for _, a in parts:
            axes.extend(s for s in a if s not in axes)
        out = []
        for t, a in parts:
            if tuple(a) != tuple(axes):
                pattern = [a.index(s) if s in a else "x" for s in axes]
                t = t.dimshuffle(*pattern)
            out.append(t)
        return out, tuple(axes)

    def _convert(self, e):
        T = self.T
        if e in self.mapping:
            v = self.mapping[e]
            return T.as_tensor_variable(v), ()
        if isinstance(e, sympy.Indexed):
            base = self.mapping.get(e.base, self.mapping.get(e.base.label))
            if base is None:
                raise KeyError(f"from_sympy: no variable given for {e.base}")
            if len(e.indices) != base.ndim:
                raise ValueError(f"from_sympy: {e} has {len(e.indices)} indices, {base} has "
                                 f"{base.ndim} dimensions")
            if len(set(e.indices)) != len(e.indices) or not all(
                    isinstance(i, sympy.Symbol) for i in e.indices):
                raise NotImplementedError(f"from_sympy: only distinct plain indices are read "
                                          f"back, got {e}")
            return base, tuple(e.indices)
        if isinstance(e, sympy.Symbol):
            name = e.name
            if ".shape[" in name:  # a size: x.shape[d]
                base, _, rest = name.partition(".shape[")
                if base in self.by_name:
                    return self.by_name[base].shape[int(rest.rstrip("]"))], ()
            raise KeyError(f"from_sympy: no variable given for symbol {e}")
        if e.is_Number or e in (sympy.pi, sympy.E):
            if e.is_Integer:
                return T.as_tensor_variable(int(e)), ()
            return T.as_tensor_variable(float(e)), ()
        if isinstance(e, sympy.Add | sympy.Mul):
            parts, axes = self.align([self.convert(a) for a in e.args])
            total = parts[0]
            for p in parts[1:]:
                total = total + p if isinstance(e, sympy.Add) else total * p
            return total, axes
        if isinstance(e, sympy.Pow):
            base, exponent = e.args
            if exponent == sympy.Rational(1, 2):
                t, axes = self.convert(base)
                return T.sqrt(t), axes
            if exponent == -1:
                t, axes = self.convert(base)
                return 1.0 / t, axes
            (b, x), axes = self.align([self.convert(base), self.convert(exponent)])
            return b ** x, axes
        if isinstance(e, sympy.Sum | sympy.Product):
            t, axes = self.convert(e.function)
            for index, low, _high in reversed(e.limits):
                if low != 0:
                    raise NotImplementedError(f"from_sympy: a {type(e).__name__} must start "
                                              f"at 0, got {low}")
                if index not in axes:  # the body does not depend on the index
                    raise NotImplementedError(f"from_sympy: {e} repeats a term; simplify it "
                                              "first")
                k = axes.index(index)
                t = T.sum(t, axis=k) if isinstance(e, sympy.Sum) else T.prod(t, axis=k)
                axes = axes[:k] + axes[k + 1:]
            return t, axes
        if isinstance(e, sympy.Piecewise):
            return self._piecewise(e.args)
        if isinstance(e, sympy.core.relational.Relational):
            ops = {sympy.Lt: T.lt, sympy.Gt: T.gt, sympy.Le: T.le, sympy.Ge: T.ge,
                   sympy.Eq: T.eq, sympy.Ne: T.neq}
            (a, b), axes = self.align([self.convert(e.lhs), self.convert(e.rhs)])
            return ops[type(e)](a, b), axes
        if isinstance(e, sympy.Max | sympy.Min):
            parts, axes = self.align([self.convert(a) for a in e.args])
            fn = T.maximum if isinstance(e, sympy.Max) else T.minimum
            total = parts[0]
            for p in parts[1:]:
                total = fn(total, p)
            return total, axes
        fn = self.functions.get(e.func)
        if fn is not None:
            parts, axes = self.align([self.convert(a) for a in e.args])
            return fn(*parts), axes
        raise NotImplementedError(f"from_sympy: no symtheano op for {e.func.__name__}")

    def _piecewise(self, pieces):
        (value, cond), rest = pieces[0], pieces[1:]
        if cond is sympy.true or not rest:
            return self.convert(value)
        other = self._piecewise(rest)
        (c, a, b), axes = self.align([self.convert(cond), self.convert(value), other])
        return self.T.switch(c, a, b), axes


def from_sympy(expr, mapping):
    """A symtheano graph computing `expr`; `mapping` gives, for each SymPy Symbol or
    IndexedBase in it, the symtheano variable it stands for."""
    result, axes = _FromSympy(mapping).convert(sympy.sympify(expr))
    order = sorted(range(len(axes)), key=lambda k: str(axes[k]))
    if order != list(range(len(axes))):
        result = result.dimshuffle(*order)
    return result


def latex_or_none(var, max_nodes=300):
    """LaTeX of `var` through SymPy for Jupyter (`Variable._repr_latex_`), or None
    when its graph is too large or outside the subset (Jupyter then shows the repr)."""
    try:
        if len(toposort([var])) > max_nodes:
            return None
        return f"$\\displaystyle {sympy.latex(to_sympy(var))}$"
    except (NotImplementedError, KeyError, ValueError, TypeError, AttributeError):
        return None
