"""The bridge to scipy.optimize: from a symbolic cost, the callables SciPy takes.

    import symtheano.optimize as so
    x = T.dvector("x")
    result = so.minimize(rosen(x), x, x0, method="trust-constr", hess="sparse")
    result.x                      # the flat solution, as SciPy returns it
    result.solution               # the same, one array per variable, in shape

A `Problem` packs the variables the cost is minimised over (any number, any
shapes) into one flat float64 vector `theta`, rebuilds the cost and every
constraint as functions of theta, and compiles what SciPy calls:

- `fun` and `jac` come from one compiled function returning the value and the
  gradient, called once per new point: SciPy asks for both at every iterate,
  and the second request is answered from the cache (the last point, compared
  by value);
- `hess`: the dense Hessian, or a scipy.sparse one (pattern read from the graph,
  one Hessian-vector product per colour); `hessp`: one Hessian-vector product,
  forward over reverse;
- constraints (`Equality`, `Inequality`) become `NonlinearConstraint`s with
  their Jacobians (and, for trust-constr with `hess`, the Hessian of
  v . constraints), or SLSQP/COBYLA dictionaries;
- `least_squares` hands residuals and their (dense or sparse) Jacobian to
  scipy.optimize.least_squares.

Other inputs of the cost (data) are fixed per Problem with `givens` or passed
as `args` values, like SciPy's `args`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from symtheano.graph.basic import Constant, Variable, clone_replace, graph_inputs
from symtheano.tensor.var import as_tensor_variable

__all__ = ["Problem", "Equality", "Inequality", "minimize", "least_squares"]

HESS_KINDS = (None, "dense", "sparse", "hessp")


@dataclasses.dataclass
class Equality:
    """The constraint expression == 0 (elementwise; any shape)."""

    expression: object


@dataclasses.dataclass
class Inequality:
    """lower <= expression <= upper (elementwise; scalars or arrays broadcast)."""

    expression: object
    lower: object = 0.0
    upper: object = np.inf


class _PointCache:
    """The outputs of one compiled function at the last point it was called at."""

    def __init__(self, fn):
        self.fn = fn
        self.point = None
        self.args = ()
        self.outputs = None
        self.calls = 0

    def __call__(self, theta, *args):
        theta = np.asarray(theta, dtype=np.float64)
        same_args = len(args) == len(self.args) and all(a is b for a, b in zip(args, self.args))
        if self.point is None or not same_args or not np.array_equal(theta, self.point):
            self.outputs = self.fn(theta, *args)
            self.point = theta.copy()
            self.args = args
            self.calls += 1
        return self.outputs


class Problem:
    """A cost (and constraints) over `wrt`, ready for scipy.optimize.

    wrt: a variable or a list of variables (inputs of the cost, float).
    example: their values (a value or a list, or a dict {variable: value}): the
        shapes to pack. x0 of `minimize` serves when given there.
    constraints: Equality / Inequality objects over the same variables.
    args: other inputs of the cost, in the order their values will be passed.
    mode: the compilation mode (default: the configured one).
    """

    def __init__(self, cost, wrt, example, constraints=(), args=(), mode=None):
        import symtheano.tensor as T

        self.single = not isinstance(wrt, list | tuple)
        self.wrt = [wrt] if self.single else list(wrt)
        for i, w in enumerate(self.wrt):
            if not isinstance(w, Variable) or w.owner is not None:
                raise TypeError(f"Problem: wrt[{i}] must be an input variable, got {w}")
            if np.dtype(w.dtype).kind != "f":
                raise TypeError(f"Problem: wrt[{i}] ({w}) has dtype {w.dtype}; only float "
                                "variables can be optimised")
        values = self._values(example, "example")
        self.shapes = [v.shape for v in values]
        self.sizes = [int(v.size) for v in values]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n = int(self.offsets[-1])
        self.args = list(args)
        self.mode = mode
        self.theta = T.dvector("theta")
        replace = {}
        for w, shape, a, b in zip(self.wrt, self.shapes, self.offsets[:-1], self.offsets[1:]):
            part = self.theta[int(a):int(b)].reshape(shape) if shape else self.theta[int(a)]
            replace[w] = part if w.dtype == "float64" else T.cast(part, w.dtype)
        self._replace = replace
        cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"Problem: the cost must be a scalar, got {cost} with {cost.ndim} "
                            "dimensions")
        self.cost = self._in_theta(cost, "the cost")
        self.constraints = []
        for i, c in enumerate(constraints):
            if not isinstance(c, Equality | Inequality):
                raise TypeError(f"Problem: constraints[{i}] must be an Equality or an "
                                f"Inequality, got {type(c).__name__}")
            expr = self._in_theta(as_tensor_variable(c.expression), f"constraints[{i}]")
            self.constraints.append((c, T.cast(expr.flatten(), "float64")))
        self._compiled = {}

    # -- packing -------------------------------------------------------------------------------

    def _values(self, given, what):
        if isinstance(given, dict):
            missing = [w for w in self.wrt if w not in given]
            if missing:
                raise ValueError(f"Problem: {what} has no value for {missing[0]}")
            given = [given[w] for w in self.wrt]
        elif self.single:
            given = [given]
        given = list(given)
        if len(given) != len(self.wrt):
            raise ValueError(f"Problem: {what} has {len(given)} values for {len(self.wrt)} "
                             "variables")
        out = []
        for i, (w, v) in enumerate(zip(self.wrt, given)):
            v = np.asarray(v, dtype=np.float64)
            if v.ndim != w.ndim:
                raise ValueError(f"Problem: {what}[{i}] for {w} has {v.ndim} dimensions, "
                                 f"expected {w.ndim}")
            out.append(v)
        return out

    def pack(self, values):
        """One flat float64 vector from a value per variable (a list, a dict, or a
        single value for a single variable)."""
        values = self._values(values, "values")
        for i, (v, shape) in enumerate(zip(values, self.shapes)):
            if v.shape != shape:
                raise ValueError(f"Problem.pack: value {i} has shape {v.shape}, expected "
                                 f"{shape}")
        return np.concatenate([v.ravel() for v in values]) if values else np.zeros(0)

    def unpack(self, theta):
        """The value of each variable (a list; the value itself for a single one)."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape != (self.n,):
            raise ValueError(f"Problem.unpack: expected a vector of {self.n} values, got shape "
                             f"{theta.shape}")
        out = [theta[a:b].reshape(s).astype(w.dtype, copy=True) for w, s, a, b in
               zip(self.wrt, self.shapes, self.offsets[:-1], self.offsets[1:])]
        return out[0] if self.single else out

    def _in_theta(self, expr, what):
        free = [v for v in graph_inputs([expr]) if not isinstance(v, Constant)
                and not hasattr(v, "get_value") and v not in self._replace
                and v not in self.args]
        if free:
            raise ValueError(f"Problem: {what} reads {free[0]}, which is neither optimised "
                             "(wrt) nor given in args")
        (out,) = clone_replace([expr], self._replace)
        return out

    # -- compiled pieces -----------------------------------------------------------------------

    def _function(self, key, build):
        found = self._compiled.get(key)
        if found is None:
            from symtheano.compile.function import function

            inputs, outputs = build()
            found = function(inputs, outputs, mode=self.mode, on_unused_input="ignore")
            self._compiled[key] = found
        return found

    def _value_and_grad(self):
        from symtheano.gradient import grad

        fn = self._compiled.get("value_and_grad")
        if fn is None:
            compiled = self._function("value_and_grad_fn", lambda: (
                [self.theta, *self.args],
                [self.cost, grad(self.cost, self.theta, disconnected_inputs="ignore")]))
            fn = self._compiled["value_and_grad"] = _PointCache(compiled)
        return fn

    def fun(self, theta, *args):
        """The cost at theta (a float)."""
        return float(self._value_and_grad()(theta, *args)[0])

    def jac(self, theta, *args):
        """The gradient at theta (float64, flat)."""
        return np.array(self._value_and_grad()(theta, *args)[1], dtype=np.float64)

    def fun_and_jac(self, theta, *args):
        """(cost, gradient): for `minimize(..., jac=True)`."""
        value, g = self._value_and_grad()(theta, *args)
        return float(value), np.array(g, dtype=np.float64)

    def hess(self, theta, *args, sparse=False):
        """The Hessian at theta: a dense array, or a scipy.sparse CSR matrix."""
        if sparse:
            from symtheano.sparse_derivatives import sparse_hessian

            fn = self._function("hess_sparse", lambda: (
                [self.theta, *self.args], sparse_hessian(self.cost, self.theta)))
        else:
            from symtheano.derivatives import hessian

            fn = self._function("hess_dense", lambda: (
                [self.theta, *self.args], hessian(self.cost, self.theta)))
        return fn(np.asarray(theta, dtype=np.float64), *args)

    def hessp(self, theta, p, *args):
        """The Hessian at theta times the vector p (forward over reverse)."""
        from symtheano.gradient import hessian_vector_product

        def build():
            p_var = self.theta.type.make_variable("p")
            return [self.theta, p_var, *self.args], hessian_vector_product(
                self.cost, self.theta, p_var)

        fn = self._function("hessp", build)
        return fn(np.asarray(theta, dtype=np.float64), np.asarray(p, dtype=np.float64), *args)

    def constraint_functions(self, index, hess=None):
        """(fun, jac, hess or None) of constraint `index` as functions of theta (and
        of the Lagrange multipliers v for hess)."""
        from symtheano.sparse_derivatives import sparse_hessian, sparse_jacobian

        _, expr = self.constraints[index]
        sparse = hess == "sparse"
        value = self._function(("c", index), lambda: ([self.theta, *self.args], expr))
        if sparse:
            jac = self._function(("cj", index), lambda: (
                [self.theta, *self.args], sparse_jacobian(expr, self.theta)))
        else:
            from symtheano.derivatives import jacobian

            jac = self._function(("cj", index), lambda: (
                [self.theta, *self.args], jacobian(expr, self.theta)))
        lag = None
        if hess in ("dense", "sparse"):
            def build():
                v = self.theta.type.make_variable("v")
                weighted = (expr * v).sum()
                if sparse:
                    return [self.theta, v, *self.args], sparse_hessian(weighted, self.theta)
                from symtheano.derivatives import hessian

                return [self.theta, v, *self.args], hessian(weighted, self.theta)

            lag = self._function(("ch", index, hess), build)
        return value, jac, lag

    def scipy_constraints(self, method, hess=None, args=()):
        """The constraints as `scipy.optimize.minimize` wants them for `method`."""
        import scipy.optimize

        out = []
        dict_style = method is not None and method.lower() in ("slsqp", "cobyla")
        for k, (c, _) in enumerate(self.constraints):
            value, jac, lag = self.constraint_functions(k, None if dict_style else hess)

            def fun(theta, value=value):
                return np.asarray(value(np.asarray(theta, dtype=np.float64), *args))

            def jacobian(theta, jac=jac):
                return jac(np.asarray(theta, dtype=np.float64), *args)

            if dict_style:
                if isinstance(c, Equality):
                    out.append({"type": "eq", "fun": fun, "jac": lambda t, j=jacobian: _dense(
                        j(t))})
                    continue
                lower, upper = np.broadcast_arrays(np.asarray(c.lower, dtype=float),
                                                   np.asarray(c.upper, dtype=float))
                lo, hi = lower.ravel(), upper.ravel()
                if np.any(np.isfinite(lo)):
                    out.append({"type": "ineq",
                                "fun": lambda t, f=fun, lo=lo: _finite(f(t) - lo, lo),
                                "jac": lambda t, j=jacobian, lo=lo: _finite_rows(
                                    _dense(j(t)), lo)})
                if np.any(np.isfinite(hi)):
                    out.append({"type": "ineq",
                                "fun": lambda t, f=fun, hi=hi: _finite(hi - f(t), hi),
                                "jac": lambda t, j=jacobian, hi=hi: -_finite_rows(
                                    _dense(j(t)), hi)})
                continue
            lower, upper = (0.0, 0.0) if isinstance(c, Equality) else (c.lower, c.upper)
            kwargs = {}
            if lag is not None:
                kwargs["hess"] = lambda theta, v, lag=lag: lag(
                    np.asarray(theta, dtype=np.float64), np.asarray(v, dtype=np.float64), *args)
            out.append(scipy.optimize.NonlinearConstraint(fun, lower, upper, jac=jacobian,
                                                          **kwargs))
        return out


def _dense(m):
    return m.toarray() if hasattr(m, "toarray") else np.asarray(m)


def _finite(values, bounds):
    bounds = np.broadcast_to(bounds, values.shape)
    return values[np.isfinite(bounds)]


def _finite_rows(jac, bounds):
    bounds = np.broadcast_to(bounds, (jac.shape[0],))
    return jac[np.isfinite(bounds)]


def minimize(cost, wrt, x0, method=None, hess=None, constraints=(), args=(), arg_values=(),
             mode=None, **kwargs):
    """scipy.optimize.minimize of the symbolic `cost` over `wrt` from `x0`.

    hess: None (SciPy approximates, or the method needs none), "dense", "sparse"
    (scipy.sparse, pattern from the graph) or "hessp" (Hessian-vector products).
    args / arg_values: other inputs of the cost and their values (fixed during the
    minimisation). Other keyword arguments go to scipy.optimize.minimize (bounds,
    tol, options, callback, ...). Returns SciPy's OptimizeResult with `solution`:
    one array per variable, in shape (the array itself for a single variable)."""
    import scipy.optimize

    if hess not in HESS_KINDS:
        raise ValueError(f"minimize: hess must be one of {HESS_KINDS}, got {hess!r}")
    problem = Problem(cost, wrt, x0, constraints=constraints, args=args, mode=mode)
    extra = tuple(np.asarray(v) for v in arg_values)
    if len(extra) != len(problem.args):
        raise ValueError(f"minimize: {len(problem.args)} args but {len(extra)} arg_values")
    options = dict(kwargs)
    if hess == "dense":
        options["hess"] = lambda t, *a: problem.hess(t, *a)
    elif hess == "sparse":
        options["hess"] = lambda t, *a: problem.hess(t, *a, sparse=True)
    elif hess == "hessp":
        options["hessp"] = lambda t, p, *a: problem.hessp(t, p, *a)
    if problem.constraints:
        options["constraints"] = problem.scipy_constraints(method, hess, extra)
    result = scipy.optimize.minimize(problem.fun_and_jac, problem.pack(x0), args=extra,
                                     jac=True, method=method, **options)
    result.solution = problem.unpack(result.x)
    result.problem = problem
    return result


def least_squares(residuals, wrt, x0, jac="dense", args=(), arg_values=(), mode=None,
                  **kwargs):
    """scipy.optimize.least_squares of the symbolic `residuals` (any shape, taken
    flat) over `wrt` from `x0`, with their Jacobian compiled dense or sparse
    (jac="sparse": scipy.sparse, pattern from the graph; SciPy then uses its sparse
    trust-region solver). Returns SciPy's result with `solution` as `minimize`."""
    import scipy.optimize

    import symtheano.tensor as T

    if jac not in ("dense", "sparse"):
        raise ValueError(f"least_squares: jac must be 'dense' or 'sparse', got {jac!r}")
    residuals = as_tensor_variable(residuals)
    problem = Problem(T.sum(residuals ** 2), wrt, x0, args=args, mode=mode)
    flat = T.cast(problem._in_theta(residuals, "the residuals").flatten(), "float64")
    extra = tuple(np.asarray(v) for v in arg_values)
    value = problem._function("residuals", lambda: ([problem.theta, *problem.args], flat))
    if jac == "sparse":
        from symtheano.sparse_derivatives import sparse_jacobian

        jacobian = problem._function("residuals_jac", lambda: (
            [problem.theta, *problem.args], sparse_jacobian(flat, problem.theta)))
    else:
        from symtheano.derivatives import jacobian as dense_jacobian

        jacobian = problem._function("residuals_jac", lambda: (
            [problem.theta, *problem.args], dense_jacobian(flat, problem.theta)))
    result = scipy.optimize.least_squares(
        lambda t, *a: np.asarray(value(t, *a)), problem.pack(x0),
        jac=lambda t, *a: jacobian(t, *a), args=extra, **kwargs)
    result.solution = problem.unpack(result.x)
    result.problem = problem
    return result
