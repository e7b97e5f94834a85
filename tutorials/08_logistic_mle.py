"""Maximum-likelihood logistic regression, with standard errors from the Hessian.

Run it with `python tutorials/08_logistic_mle.py`.

The negative log-likelihood of a logistic model is a sum over observations of
softplus terms. Its minimiser is the maximum-likelihood estimate; the inverse
of its Hessian there estimates the covariance of the estimate, and the square
roots of its diagonal are the standard errors a statistics package reports.
"""

import numpy as np

import symtheano.optimize as so
import symtheano.tensor as T

rng = np.random.default_rng(3)
n_obs, k = 2000, 3
X = np.column_stack([np.ones(n_obs), rng.normal(size=(n_obs, k - 1))])
true_beta = np.array([-0.5, 1.0, 2.0])
y = (rng.uniform(size=n_obs) < 1 / (1 + np.exp(-X @ true_beta))).astype(float)

# ## The model: data as inputs, coefficients optimised
#
# X and y are inputs of the cost, passed as `args` with their values, so the
# same compiled functions serve any data set of these shapes.

beta = T.dvector("beta")
Xs, ys = T.dmatrix("X"), T.dvector("y")
eta = T.dot(Xs, beta)
nll = T.sum(T.softplus(eta) - ys * eta)  # -log likelihood, stable for large |eta|

result = so.minimize(nll, beta, np.zeros(k), method="trust-exact", hess="dense",
                     args=[Xs, ys], arg_values=[X, y], options={"gtol": 1e-10})
estimate = result.solution
print("estimate:", np.round(estimate, 4), " true:", true_beta)

# ## Standard errors
#
# At the estimate, the Hessian of the negative log-likelihood is X' W X with
# W = diag(p (1 - p)): the observed information matrix.

H = result.problem.hess(result.x, X, y)
p = 1 / (1 + np.exp(-X @ estimate))
assert np.allclose(H, X.T @ (X * (p * (1 - p))[:, None]), rtol=1e-10)
stderr = np.sqrt(np.diag(np.linalg.inv(H)))
print("standard errors:", np.round(stderr, 4))

# The gradient vanishes at the estimate (the score equations X'(y - p) = 0),
# and every true coefficient lies within 4 standard errors of its estimate.
assert np.abs(X.T @ (y - p)).max() < 1e-6
assert np.all(np.abs(estimate - true_beta) < 4 * stderr)

print("logistic regression: all claims hold")
