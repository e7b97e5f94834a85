"""A quadratic program with linear equality constraints, solved with trust-constr
and checked against the closed-form KKT solution.

Run it with `python tutorials/07_quadratic_program.py`.

    minimise    1/2 x'Qx + c'x
    subject to  A x = b

With Q positive definite, the solution and the multipliers solve one linear
system (the KKT conditions):

    [Q  A'] [x     ]   [-c]
    [A  0 ] [lambda] = [ b]
"""

import numpy as np

import symtheano.optimize as so
import symtheano.tensor as T

rng = np.random.default_rng(0)
n, m = 8, 3
root = rng.normal(size=(n, n))
Q = root @ root.T + n * np.eye(n)  # positive definite
c = rng.normal(size=n)
A = rng.normal(size=(m, n))
b = rng.normal(size=m)

# ## The closed form

kkt = np.block([[Q, A.T], [A, np.zeros((m, m))]])
expected = np.linalg.solve(kkt, np.concatenate([-c, b]))[:n]

# ## The same problem, written symbolically
#
# Constraints are symbolic expressions too: `so.Equality(expr)` means expr == 0,
# `so.Inequality(expr, lower, upper)` lower <= expr <= upper. Their Jacobians
# are compiled like the cost's gradient; `hess="dense"` also gives trust-constr
# the exact Hessian of the cost (Q) and of the constraints (zero).

x = T.dvector("x")
cost = 0.5 * T.dot(x, T.dot(T.constant(Q), x)) + T.dot(T.constant(c), x)
equality = so.Equality(T.dot(T.constant(A), x) - T.constant(b))

result = so.minimize(cost, x, np.zeros(n), method="trust-constr", hess="dense",
                     constraints=[equality], options={"gtol": 1e-12, "xtol": 1e-14})
print(f"trust-constr: {result.nit} iterations, constraint violation {result.constr_violation:.1e}")
print("max |x - x_KKT| =", np.abs(result.solution - expected).max())
assert np.allclose(result.solution, expected, atol=1e-7)
assert np.allclose(A @ result.solution, b, atol=1e-9)

# The Hessian trust-constr was given is Q itself.
assert np.allclose(result.problem.hess(result.x), Q)

# ## An inequality: cap the first variable below its unconstrained optimum

cap = expected[0] - 0.5
capped = so.minimize(cost, x, np.zeros(n), method="trust-constr", hess="dense",
                     constraints=[equality, so.Inequality(x[0], upper=cap, lower=-np.inf)],
                     options={"gtol": 1e-12, "xtol": 1e-14})
print(f"with x[0] <= {cap:.3f}: x[0] = {capped.solution[0]:.6f}")
assert capped.solution[0] <= cap + 1e-7
assert capped.fun >= result.fun  # a tighter feasible set cannot do better

print("quadratic program: all claims hold")
