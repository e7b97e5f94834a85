"""Quick start: symbolic expressions, gradients and compiled functions.

Run it with `python tutorials/01_quickstart.py`.

symtheano speaks Theano. Programs written for Theano 1.0 run unchanged once the
two imports below replace `import theano` and `import theano.tensor as T`.
"""

import numpy as np

import symtheano as theano
import symtheano.tensor as T

# ## 1. A gradient, compiled
#
# `T.dscalar('x')` makes a *symbolic* variable: it holds no number, it stands for
# one. Arithmetic on it builds a graph instead of computing a value. `T.grad`
# walks that graph backwards and builds a second graph for the derivative, and
# `theano.function` compiles a graph into an ordinary Python callable.

x = T.dscalar("x")
y = x**2
gy = T.grad(y, x)  # d(x**2)/dx, still symbolic: the graph of 2 * x
f = theano.function([x], gy)

print("d(x**2)/dx at x=4:", f(4))
assert np.isclose(f(4), 8.0)
assert np.isclose(f(94.2), 188.4)

# ## 2. Matrices work the same way
#
# Only the type of the variable changes. `T.dmatrix` is a matrix of float64;
# the compiled function accepts nested lists or NumPy arrays.

a = T.dmatrix("a")
b = T.dmatrix("b")
add = theano.function([a, b], a + b)

total = add([[1, 2], [3, 4]], [[10, 20], [30, 40]])
print("matrix sum:\n", total)
assert np.array_equal(total, [[11, 22], [33, 44]])

# ## 3. Several outputs from one function
#
# Give `theano.function` a list of outputs and the call returns a list. The
# three outputs share the subexpression `a - b`, which is computed once.

diff = a - b
f3 = theano.function([a, b], [diff, abs(diff), diff**2])
d, ad, d2 = f3([[1, 1], [1, 1]], [[0, 1], [2, 3]])
print("diff, |diff|, diff**2:\n", d, "\n", ad, "\n", d2)
assert np.array_equal(d, [[1, 0], [-1, -2]])
assert np.array_equal(ad, [[1, 0], [1, 2]])
assert np.array_equal(d2, [[1, 0], [1, 4]])

# ## 4. State: shared variables and updates
#
# A shared variable holds a value that lives between calls. `updates` lists
# (shared variable, new expression) pairs: after each call, the shared variable
# takes its new value. The function returns the value *before* the update.

state = theano.shared(0, name="state")
inc = T.iscalar("inc")
accumulator = theano.function([inc], state, updates=[(state, state + inc)])

accumulator(1)
accumulator(300)
print("accumulated:", state.get_value())
assert state.get_value() == 301

state.set_value(-1)
assert accumulator(3) == -1  # returns the old value ...
assert state.get_value() == 2  # ... and stores the new one

# ## 5. Looking at a graph
#
# `theano.pp` prints an expression in readable infix form. The gradient of
# `x ** 2` is built mechanically by the chain rule, so before the compiler
# simplifies it, it looks bigger than `2 * x`.

print("pp(gy):", theano.pp(gy))
assert "x" in theano.pp(gy)

print("quick start: all claims hold")
