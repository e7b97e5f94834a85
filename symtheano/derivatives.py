"""Jacobians and Hessians, each built as one vectorised graph.

The Jacobian of y (any shape, m elements) with respect to x is the stack of the
m vector-Jacobian products e_i^T J, one per row of the identity. Rather than m
gradient graphs (Theano's scan, or a Python loop), it builds one: the reverse
sweep `grad(None, x, known_grads={y: u})` with a symbolic output gradient u, then
`vectorize_graph` batches that sweep over the m rows of the identity (reshaped
to y's shape) put in place of u. The result has shape y.shape + x.shape, like
Theano's `T.jacobian`, and its graph does not grow with m: the work that does not
depend on u (the forward values) is shared by all rows, the rest is computed for
all rows at once by batched ops.

`hessian(cost, wrt)` is the Jacobian of the gradient, as in Theano (one block per
wrt: d2 cost / d wrt_i^2). Both return a list when `wrt` is a list or tuple.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Variable
from symtheano.tensor import basic as tb
from symtheano.tensor.constructors import eye
from symtheano.tensor.shape import reshape, shape_tuple
from symtheano.tensor.type import FLOAT_DTYPES
from symtheano.tensor.var import as_tensor_variable
from symtheano.vectorize import vectorize_graph

__all__ = ["jacobian", "hessian"]


def _wrt_list(wrt, what):
    single = not isinstance(wrt, list | tuple)
    wrt_list = [wrt] if single else list(wrt)
    for i, w in enumerate(wrt_list):
        if not isinstance(w, Variable):
            raise TypeError(f"{what}: wrt[{i}] must be a symbolic variable, got "
                            f"{type(w).__name__}")
    return wrt_list, single


def identity_rows(y):
    """The m rows of the m x m identity (m = y's size), each reshaped to y's shape:
    a (m,) + y.shape batch of one-hot output gradients."""
    shape = shape_tuple(y)
    if None not in y.type.shape:
        m = int(np.prod(y.type.shape, dtype="int64"))
    else:
        m = tb.constant(np.int64(1))
        for s in shape:
            m = m * s
    rows = eye(m, dtype=y.dtype)
    return rows if y.ndim == 1 else reshape(rows, (m, *shape))


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise",
             sparse=False, format="csr"):
    """d expression / d wrt, of shape expression.shape + wrt.shape (Theano's
    T.jacobian, for an expression of any number of dimensions; a scalar gives the
    gradient). `wrt`: a variable or a list (then a list is returned).

    sparse=True: a SparseVariable instead (symtheano/sparse_derivatives.py), the
    flattened Jacobian (one row per element of the expression, one column per
    element of the single input variable wrt) that `function` returns as a
    scipy.sparse matrix of `format` ('csr' or 'csc').

    consider_constant: variables whose gradient is not propagated further.
    disconnected_inputs: 'raise', 'warn' or 'ignore' (a zero Jacobian) where the
    expression does not depend on a wrt.
    """
    if sparse:
        from symtheano.sparse_derivatives import sparse_jacobian

        if consider_constant:
            raise NotImplementedError("jacobian(sparse=True) does not take consider_constant")
        return sparse_jacobian(expression, wrt, format=format)
    from symtheano.gradient import grad

    wrt_list, single = _wrt_list(wrt, "jacobian")
    y = as_tensor_variable(expression)
    if y.dtype not in FLOAT_DTYPES:
        raise TypeError(f"jacobian: the expression {y} has dtype {y.dtype}; only float "
                        "expressions can be differentiated")
    if y.ndim == 0:
        grads = grad(y, wrt_list, consider_constant=consider_constant,
                     disconnected_inputs=disconnected_inputs)
        return grads[0] if single else grads
    if not consider_constant and all(w.owner is None for w in wrt_list):
        # As grad does for a cost: differentiate the numerically stable form.
        from symtheano.rewrite.pipeline import stabilized

        (y,) = stabilized([y])
    u = y.type.make_variable("output_gradient")
    grads = grad(None, wrt_list, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs, known_grads={y: u})
    rows = vectorize_graph(grads, {u: identity_rows(y)})
    results = []
    for w, j in zip(wrt_list, rows):
        if y.ndim != 1:
            j = reshape(j, shape_tuple(y) + shape_tuple(j)[1:])
        if y.name and w.name:
            j.name = f"(d{y.name}/d{w.name})"
        results.append(j)
    return results[0] if single else results


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise", sparse=False,
            format="csr"):
    """d2 cost / d wrt2 for the scalar `cost`, of shape wrt.shape + wrt.shape (Theano's
    T.hessian, for a wrt of any number of dimensions): the Jacobian of the gradient.
    With a list of wrt, a list of the diagonal blocks d2 cost / d wrt_i2.

    disconnected_inputs applies to the gradient; a gradient that does not depend on
    its wrt (a cost linear in it) has a zero Hessian.

    sparse=True: a SparseVariable instead (symtheano/sparse_derivatives.py), the
    Hessian with respect to the flattened single input variable wrt, that
    `function` returns as a scipy.sparse matrix of `format` ('csr' or 'csc'):
    pattern from the graph, star colouring, one Hessian-vector product per colour.
    """
    if sparse:
        from symtheano.sparse_derivatives import sparse_hessian

        if consider_constant:
            raise NotImplementedError("hessian(sparse=True) does not take consider_constant")
        return sparse_hessian(cost, wrt, format=format)
    from symtheano.gradient import grad

    wrt_list, single = _wrt_list(wrt, "hessian")
    cost = as_tensor_variable(cost)
    if cost.ndim != 0:
        raise TypeError(f"hessian: the cost must be a scalar (0-d), got {cost} with "
                        f"{cost.ndim} dimensions {cost.type.describe_shape()}")
    results = []
    for w in wrt_list:
        g = grad(cost, w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        results.append(jacobian(g, w, consider_constant=consider_constant,
                                disconnected_inputs="ignore"))
    return results[0] if single else results
