"""Monte Carlo: estimating integrals with random streams, reproducibly.

Run it with `python tutorials/10_monte_carlo.py`.

A random stream makes symbolic random variables. Each draw keeps its
generator state in a shared variable that every call of a compiled function
moves on, so calling the function again gives fresh numbers, while the same
seed gives the same numbers again. This is Theano's RandomStreams, imported
from Theano's old path.
"""

import math

import numpy as np

import symtheano as theano
import symtheano.tensor as T
from symtheano.tensor import slinalg
from symtheano.tensor.shared_randomstreams import RandomStreams

# ## 1. An integral as an average
#
# The integral of exp(-x^2) over [0, 1] is the mean of exp(-u^2) for u uniform
# on [0, 1]. One call averages n draws and reports the standard error too.

srng = RandomStreams(seed=2024)
n = 100_000
u = srng.uniform(size=(n,))
values = T.exp(-u ** 2)
estimate = theano.function([], [T.mean(values), T.std(values) / math.sqrt(n)])

exact = math.sqrt(math.pi) / 2 * math.erf(1.0)
mean, stderr = (float(v) for v in estimate())
print(f"integral of exp(-x^2) on [0, 1]: {mean:.5f} +- {stderr:.5f} (exact {exact:.5f})")
assert abs(mean - exact) < 4 * stderr

# Every call draws new numbers: averaging k calls is an estimate from k * n draws,
# and its error shrinks like 1 / sqrt(k).
calls = [float(estimate()[0]) for _ in range(20)]
assert len(set(calls)) == 20
pooled = float(np.mean(calls))
assert abs(pooled - exact) < 4 * stderr / math.sqrt(20)
print(f"20 calls pooled: {pooled:.5f}")

# ## 2. Reproducible by construction
#
# The numbers depend only on the seed and on the order in which the stream's
# variables were created. `seed` puts every state back; a function compiled with
# no_default_updates=True reads the state without moving it.

srng.seed(2024)
again = float(estimate()[0])
assert again == mean, "the same seed gives the same estimate"

twin = RandomStreams(seed=2024)
twin_estimate = theano.function([], T.mean(T.exp(-twin.uniform(size=(n,)) ** 2)))
assert twin_estimate() == mean, "a new stream with the same seed agrees"

peek = theano.function([], T.mean(values), no_default_updates=True)
assert peek() == peek(), "without the update, the state stays where it is"
state_before = u.rng.get_value()
estimate()
assert not np.array_equal(u.rng.get_value(), state_before)
print("same seed, same numbers: checked")

# ## 3. A derivative of an expectation
#
# For Z = mu + sigma * z with z standard normal, E[max(Z, 0)] has the closed
# form sigma * pdf(mu / sigma) + mu * cdf(mu / sigma), and its derivative in mu
# is cdf(mu / sigma). A sample of Z is differentiable in mu and sigma along the
# draw (z held fixed), so T.grad of the Monte Carlo average estimates that
# derivative from the same draws.

mu, sigma = T.dscalar("mu"), T.dscalar("sigma")
z = srng.normal(size=(n,), avg=mu, std=sigma)
payoff = T.mean(T.maximum(z, 0))
d_mu = T.grad(payoff, mu)
option = theano.function([mu, sigma], [payoff, d_mu])

m, s = 0.3, 1.5
value, slope = option(m, s)
pdf = math.exp(-((m / s) ** 2) / 2) / math.sqrt(2 * math.pi)
cdf = 0.5 * (1 + math.erf(m / s / math.sqrt(2)))
print(f"E[max(Z, 0)] = {value:.4f} (exact {s * pdf + m * cdf:.4f}), "
      f"d/dmu = {slope:.4f} (exact {cdf:.4f})")
assert abs(value - (s * pdf + m * cdf)) < 0.02
assert abs(slope - cdf) < 0.01

# ## 4. Correlated draws through a Cholesky factor
#
# With L L^T = C, L z has covariance C. The probability that two standard normals
# of correlation rho are both positive is 1/4 + asin(rho) / (2 pi).

rho = T.dscalar("rho")
cov = T.stack([T.stack([1.0, rho]), T.stack([rho, 1.0])])
pairs = T.dot(slinalg.cholesky(cov), srng.normal(size=(2, n)))
both_positive = T.mean(T.cast(T.and_(pairs[0] > 0, pairs[1] > 0), "float64"))
probability = theano.function([rho], both_positive)

for r in (-0.5, 0.0, 0.8):
    p = probability(r)
    want = 0.25 + math.asin(r) / (2 * math.pi)
    print(f"P(X > 0, Y > 0 | rho = {r:+.1f}) = {p:.4f} (exact {want:.4f})")
    assert abs(p - want) < 4 * math.sqrt(want * (1 - want) / n)
