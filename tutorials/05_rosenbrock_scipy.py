"""Minimizing the Rosenbrock function with SciPy and a compiled gradient.

Run it with `python tutorials/05_rosenbrock_scipy.py`.

SciPy's optimizers want a Python function that returns the value of an
objective and its gradient. Writing gradients by hand is tedious and error
prone; here we write only the objective, symbolically, and let `T.grad` and
`theano.function` produce a function that returns both at once.
"""

import numpy as np
import scipy.optimize

import symtheano as theano
import symtheano.tensor as T

# ## The objective
#
# The chained Rosenbrock function of n variables:
#
#   f(x) = sum_i 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2,  i = 0 .. n-2
#
# Slicing a symbolic vector works as in NumPy: `x[1:]` and `x[:-1]` are the
# vector shifted left and right. The minimum is f = 0 at x = (1, 1, ..., 1).

n = 1000
x = T.dvector("x")
f = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

# ## Value and gradient in one compiled function
#
# Both outputs share the forward computation, which runs once per call.

value_and_grad = theano.function([x], [f, T.grad(f, x)])


def objective(xv):
    fv, gv = value_and_grad(xv)
    return float(fv), gv


# The compiled gradient agrees with SciPy's hand-written one.
rng = np.random.RandomState(0)
point = rng.uniform(-2, 2, size=n)
fv, gv = objective(point)
assert np.isclose(fv, scipy.optimize.rosen(point))
assert np.allclose(gv, scipy.optimize.rosen_der(point))
print("compiled gradient matches scipy.optimize.rosen_der")

# ## Minimize
#
# The classic start alternates -1.2 and 1.0. L-BFGS-B takes a few thousand
# steps through the long curved valley; `jac=True` tells SciPy that
# `objective` returns the gradient along with the value.

x0 = np.tile([-1.2, 1.0], n // 2)
result = scipy.optimize.minimize(
    objective,
    x0,
    jac=True,
    method="L-BFGS-B",
    options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-8},
)
print(f"f(x0) = {objective(x0)[0]:.4g}")
print(f"after {result.nit} iterations ({result.nfev} evaluations): f = {result.fun:.3g}")
print("max |x - 1| =", np.abs(result.x - 1).max())

assert result.fun < 1e-8
assert np.allclose(result.x, 1.0, atol=1e-4)

print("Rosenbrock: all claims hold")
