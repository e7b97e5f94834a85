"""Exact derivatives for scipy.optimize: `symtheano.optimize`, Hessian-vector
products and a sparse Hessian.

Run it with `python tutorials/06_optimize_bridge.py`.

Tutorial 05 wired a compiled gradient into SciPy by hand. `symtheano.optimize`
does the wiring: give it the symbolic cost and the variables to optimise, and
it compiles the value and gradient as one function (cached by point, since
SciPy asks for both at every iterate), and, on request, the Hessian (dense or
sparse) or Hessian-vector products.
"""

import time

import numpy as np
import scipy.optimize

import symtheano.optimize as so
import symtheano.tensor as T

x = T.dvector("x")
cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

# ## L-BFGS-B: value and gradient only

x0 = np.tile([-1.2, 1.0], 50)
result = so.minimize(cost, x, x0, method="L-BFGS-B",
                     options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-9})
print(f"L-BFGS-B: {result.nit} iterations, f = {result.fun:.2e}")
assert np.allclose(result.solution, 1.0, atol=1e-4)

# ## Newton-CG: Hessian-vector products
#
# `hess="hessp"` compiles H(x) @ p as forward mode over reverse mode: the cost of
# a few gradients, without ever forming H.

result = so.minimize(cost, x, x0, method="Newton-CG", hess="hessp",
                     options={"xtol": 1e-10, "maxiter": 1000})
print(f"Newton-CG: {result.nit} iterations, f = {result.fun:.2e}")
assert np.allclose(result.solution, 1.0, atol=1e-4)
p = np.random.default_rng(0).normal(size=x0.size)
hp = result.problem.hessp(x0, p)
assert np.allclose(hp, scipy.optimize.rosen_hess(x0) @ p, rtol=1e-12)

# ## A sparse Hessian at n = 10,000 with trust-constr
#
# The Hessian of the chained Rosenbrock function is tridiagonal. `hess="sparse"`
# reads that pattern from the graph, colours it (3 colours), and evaluates the
# Hessian with one Hessian-vector product per colour: the result is a
# scipy.sparse matrix, and a dense 10,000 x 10,000 Hessian (800 MB) is never made.

n = 10_000
x0 = np.tile([-1.2, 1.0], n // 2)
problem = so.Problem(cost, x, x0)
start = time.perf_counter()
hess = problem.hess(x0, sparse=True)
print(f"sparse Hessian: {hess.nnz} nonzeros, first call (pattern, colouring, compile) "
      f"{time.perf_counter() - start:.2f} s")
start = time.perf_counter()
hess = problem.hess(x0, sparse=True)
print(f"sparse Hessian: next call {1e3 * (time.perf_counter() - start):.2f} ms")
assert hess.nnz == 3 * n - 2
band = scipy.optimize.rosen_hess(x0[:6])
assert np.allclose(hess[:5, :5].toarray(), band[:5, :5])

# From a start near the solution (from the alternating start the chain needs
# thousands of steps to straighten, whatever the method):
x0 = 1 + 0.2 * np.random.default_rng(1).normal(size=n)
result = so.minimize(cost, x, x0, method="trust-constr", hess="sparse",
                     options={"gtol": 1e-8, "maxiter": 500})
print(f"trust-constr, n = {n}: {result.nit} iterations, f = {result.fun:.2e}")
assert result.fun < 1e-10
assert np.allclose(result.solution, 1.0, atol=1e-4)

print("optimize bridge: all claims hold")
