"""Sparse Jacobians and Hessians: detected pattern, colouring, one sweep per colour.

`sparse_hessian(cost, wrt)` and `sparse_jacobian(expression, wrt)` are
symbolic: the result is a `SparseVariable`, which `symtheano.function` compiles
into a function returning a scipy.sparse matrix (CSR by default, or CSC). They
are what `hessian(..., sparse=True)` and `jacobian(..., sparse=True)` return.

At the first call for given input shapes, the op behind them

1. reads the sparsity pattern from the graph (symtheano/sparsity.py): for a
   Hessian, the pattern of the Jacobian of the gradient, made symmetric;
2. colours it (symtheano/colouring.py): a star colouring for a Hessian, and for
   a Jacobian a colouring of its rows (one reverse sweep per colour) or, where
   that needs fewer colours, of its columns (one forward sweep per colour);
3. compiles one sweep: a Hessian-vector product grad(grad(cost) . s) (reverse
   over reverse), a vector-Jacobian product, or a Jacobian-vector product;

and remembers all three for those shapes. Every call then runs the sweep once
per colour on the seed of that colour and reads the nonzeros out of the
compressed result. For the chained Rosenbrock function the Hessian is
tridiagonal: 3 colours, 3 sweeps, whatever n.

The pattern is a property of the graph at given shapes, not of the values, with
one exception handled conservatively: an operand of a matrix product that is
computed from constants only contributes its own nonzeros.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from symtheano.graph.basic import Apply, Constant, Op, Variable, graph_inputs
from symtheano.tensor.type import TensorType
from symtheano.tensor.var import as_tensor_variable

__all__ = ["SparseVariable", "sparse_hessian", "sparse_jacobian"]

FORMATS = ("csr", "csc")
_ids = itertools.count()


class SparseVariable:
    """A sparse matrix computed by a graph: its symbolic CSR/CSC arrays (data,
    indices, indptr) and shape (an int64 vector of 2), and the format. Pass it to
    `symtheano.function` as an output to get a scipy.sparse matrix back."""

    def __init__(self, data, indices, indptr, shape, format):
        if format not in FORMATS:
            raise ValueError(f"sparse format must be one of {FORMATS}, got {format!r}")
        self.data, self.indices, self.indptr, self.shape = data, indices, indptr, shape
        self.format = format
        self.name = None

    @property
    def parts(self):
        return [self.data, self.indices, self.indptr, self.shape]

    def assemble(self, data, indices, indptr, shape):
        """The scipy.sparse matrix from computed parts."""
        cls = sp.csr_matrix if self.format == "csr" else sp.csc_matrix
        return cls((data, indices, indptr), shape=tuple(int(s) for s in shape))

    def __repr__(self):
        return f"SparseVariable({self.format}, {self.data.owner.op if self.data.owner else ''})"


class SparseDerivative(Op):
    """The sparse Jacobian or Hessian of a graph (see the module docstring).

    Inputs: the variables the graph reads (`inner_inputs`, wrt among them);
    outputs: data, indices, indptr (int32) and shape (int64, 2) of the matrix."""

    __props__ = ("uid",)

    def __init__(self, kind, expression, wrt, inner_inputs, format):
        if kind not in ("hessian", "jacobian"):
            raise ValueError(f"SparseDerivative: unknown kind {kind!r}")
        self.kind, self.expression, self.wrt = kind, expression, wrt
        self.inner_inputs = list(inner_inputs)
        self.format = format
        self.uid = next(_ids)
        self._plans = {}
        self._sweeps = {}
        self._gathers = {}

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(x) for x in inputs]
        if len(inputs) != len(self.inner_inputs):
            raise TypeError(f"{self} takes {len(self.inner_inputs)} inputs, got {len(inputs)}")
        outputs = [TensorType(self.wrt.dtype, (None,)).make_variable(),
                   TensorType("int32", (None,)).make_variable(),
                   TensorType("int32", (None,)).make_variable(),
                   TensorType("int64", (2,)).make_variable()]
        return Apply(self, inputs, outputs)

    # -- planning (once per input shapes) ----------------------------------------------------

    def _plan(self, values):
        from symtheano import colouring, sparsity

        key = tuple(np.shape(v) for v in values)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        env = dict(zip(self.inner_inputs, values))
        if self.kind == "hessian":
            pattern = sparsity.hessian_pattern(self.expression, self.wrt, env)
            colours = colouring.star_colouring(pattern)
            plan = ("hessian", pattern, colours, None)
        else:
            pattern = sparsity.jacobian_pattern([self.expression], self.wrt, env)
            rows = colouring.column_colouring(pattern.T)
            y_shape = np.shape(_value_of(self.expression, self.inner_inputs, values))
            plan = ("reverse", pattern, rows, y_shape)
            cols = colouring.column_colouring(pattern)
            if cols.max(initial=-1) < rows.max(initial=-1):
                plan = ("forward", pattern, cols, y_shape)
        self._plans[key] = plan
        return plan

    def colours(self, *values):
        """How many colours (sweeps) a call with these input values takes."""
        _, _, colours, _ = self._plan([np.asarray(v) for v in values])
        return int(colours.max(initial=-1)) + 1

    def _sweep(self, how):
        fn = self._sweeps.get(how)
        if fn is not None:
            return fn
        from symtheano.compile.function import function
        from symtheano.gradient import grad

        x, y = self.wrt, self.expression
        if how == "hessian":
            seed = x.type.make_variable("seed")
            g = grad(y, x, disconnected_inputs="ignore")
            out = grad((g * seed).sum(), x, disconnected_inputs="ignore")
        elif how == "reverse":
            seed = y.type.make_variable("seed")
            out = grad(None, x, known_grads={y: seed}, disconnected_inputs="ignore")
        else:
            from symtheano.gradient import Rop

            seed = x.type.make_variable("seed")
            out = Rop(y, x, seed)
        fn = function(self.inner_inputs + [seed], out, on_unused_input="ignore")
        self._sweeps[how] = fn
        return fn

    def _recover(self, how, pattern, colours, compressed):
        """The derivative (scipy.sparse, self.format, sorted indices) from its
        compressed form: B = J S (forward, Hessian) or B = J^T S (reverse)."""
        from symtheano import colouring

        if how == "reverse":
            matrix = colouring.recover_columns(pattern.T, colours, compressed).T.tocsr()
        elif how == "hessian":
            matrix = colouring.recover_symmetric(pattern, colours, compressed)
        else:
            matrix = colouring.recover_columns(pattern, colours, compressed)
        matrix = matrix.asformat(self.format)
        matrix.sort_indices()
        return matrix

    def _gather(self, plan, rows, n_colours):
        """(data positions in the flattened compressed matrix, indices, indptr, shape):
        the recovery of `plan` worked out once per plan. Recovery only copies entries
        of B, so recovering B = 1, 2, 3, ... (exact in float64) gives each stored
        entry's position in B; a call then gathers, with no pattern arithmetic."""
        key = (id(plan), rows, n_colours)
        found = self._gathers.get(key)
        if found is None:
            how, pattern, colours, _ = plan
            positions = np.arange(1, rows * n_colours + 1, dtype=np.float64)
            matrix = self._recover(how, pattern, colours, positions.reshape(rows, n_colours))
            found = (matrix.data.astype(np.int64) - 1, np.asarray(matrix.indices, np.int32),
                     np.asarray(matrix.indptr, np.int32), np.asarray(matrix.shape, np.int64))
            self._gathers[key] = found
        return found

    def perform(self, node, inputs, output_storage):
        values = [np.asarray(v) for v in inputs]
        plan = self._plan(values)
        how, pattern, colours, y_shape = plan
        from symtheano import colouring

        x = values[self.inner_inputs.index(self.wrt)]
        sweep = self._sweep(how)
        seeds = colouring.seed_matrix(colours, dtype=self.wrt.dtype)
        seed_shape = y_shape if how == "reverse" else x.shape
        rows = x.size if how == "reverse" else pattern.shape[0]
        columns = [np.asarray(sweep(*values, seeds[:, c].reshape(seed_shape))).ravel()
                   for c in range(seeds.shape[1])]
        compressed = (np.stack(columns, axis=1) if columns
                      else np.zeros((rows, 0), dtype=self.wrt.dtype))
        gather, indices, indptr, shape = self._gather(plan, rows, seeds.shape[1])
        output_storage[0][0] = np.asarray(compressed.ravel()[gather], dtype=self.wrt.dtype)
        output_storage[1][0] = indices.copy()
        output_storage[2][0] = indptr.copy()
        output_storage[3][0] = shape.copy()

    def L_op(self, inputs, outputs, output_grads):
        raise NotImplementedError(f"{self}: a sparse derivative cannot be differentiated; "
                                  "take the sparse derivative of the gradient instead")

    def __str__(self):
        return f"SparseDerivative{{{self.kind}, {self.format}}}"

    __repr__ = __str__


def _value_of(var, inputs, values):
    from symtheano.sparsity import evaluate

    return evaluate([var], dict(zip(inputs, values)))[var]


def _free_inputs(expression, wrt):
    found = [v for v in graph_inputs([expression])
             if not isinstance(v, Constant) and not hasattr(v, "get_value")]
    if not any(v is wrt for v in found):
        found.append(wrt)
    return found


def _check(fn, expression, wrt, format):
    if not isinstance(wrt, Variable) or wrt.owner is not None:
        raise TypeError(f"{fn}: wrt must be an input variable (no owner), got {wrt}")
    if np.dtype(wrt.dtype).kind != "f":
        raise TypeError(f"{fn}: wrt {wrt} has dtype {wrt.dtype}; only float variables "
                        "can be differentiated")
    if format not in FORMATS:
        raise ValueError(f"{fn}: format must be one of {FORMATS}, got {format!r}")


def _result(op, inputs):
    data, indices, indptr, shape = op(*inputs)
    return SparseVariable(data, indices, indptr, shape, op.format)


def sparse_hessian(cost, wrt, format="csr"):
    """The Hessian of scalar `cost` with respect to the input variable `wrt` (any
    shape, flattened in C order) as a SparseVariable."""
    cost = as_tensor_variable(cost)
    _check("sparse_hessian", cost, wrt, format)
    if cost.ndim != 0:
        raise TypeError(f"sparse_hessian: the cost must be a scalar, got {cost} with "
                        f"{cost.ndim} dimensions")
    inputs = _free_inputs(cost, wrt)
    return _result(SparseDerivative("hessian", cost, wrt, inputs, format), inputs)


def sparse_jacobian(expression, wrt, format="csr"):
    """The Jacobian of `expression` (flattened in C order: one row per element)
    with respect to the input variable `wrt` (flattened: one column per element)
    as a SparseVariable."""
    expression = as_tensor_variable(expression)
    _check("sparse_jacobian", expression, wrt, format)
    inputs = _free_inputs(expression, wrt)
    return _result(SparseDerivative("jacobian", expression, wrt, inputs, format), inputs)
