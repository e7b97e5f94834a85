"""The basics, following the Theano 1.0 tutorial step by step.

Run it with `python tutorials/02_theano_basics.py`.

Every snippet here is the Theano tutorial's own code; only the imports differ.
Each claim the tutorial makes in prose is checked with an `assert`.
"""

import numpy as np

import symtheano as theano
import symtheano.tensor as T
from symtheano import In, function, pp, shared

# ## Baby steps: adding two scalars
#
# Three steps: declare symbolic inputs, build an expression from them, and
# compile a function from inputs to the expression.

x = T.dscalar("x")
y = T.dscalar("y")
z = x + y
f = function([x, y], z)

print("f(2, 3) =", f(2, 3))
assert f(2, 3) == 5.0
assert np.allclose(f(16.3, 12.1), 28.4)

# A variable's `type` says what values it stands for; `z` is an ordinary
# variable too, computed by an `add` node whose inputs are `x` and `y`.
print("x.type:", x.type)
assert x.type.dtype == "float64" and x.type.ndim == 0
assert z.owner.inputs == [x, y]

# For a quick check there is no need to compile by hand: `eval` does it.
assert np.allclose(z.eval({x: 16.3, y: 12.1}), 28.4)

# ## Adding two matrices
#
# The only change is the type of the inputs.

x = T.dmatrix("x")
y = T.dmatrix("y")
z = x + y
f = function([x, y], z)
out = f([[1, 2], [3, 4]], [[10, 20], [30, 40]])
print("matrix sum:\n", out)
assert np.array_equal(out, np.array([[11.0, 22.0], [33.0, 44.0]]))

# The tutorial's exercise: a vector expression with a power.
a = T.vector()
out = a + a**10
f = function([a], out)
assert np.allclose(f([0, 1, 2]), [0.0, 2.0, 1026.0])

# ## The logistic function
#
# s(x) = 1 / (1 + exp(-x)) applied elementwise to a matrix. Elementwise
# operations broadcast over the whole matrix, like NumPy.

x = T.dmatrix("x")
s = 1 / (1 + T.exp(-x))
logistic = function([x], s)
m = [[0, 1], [-1, -2]]
print("logistic:\n", logistic(m))
assert np.allclose(logistic(m), 1 / (1 + np.exp(-np.array(m))))

# The same function written with tanh: s(x) = (1 + tanh(x / 2)) / 2.
s2 = (1 + T.tanh(x / 2)) / 2
logistic2 = function([x], s2)
assert np.allclose(logistic2(m), logistic(m))

# ## Computing more than one thing at the same time

a, b = T.dmatrices("a", "b")
diff = a - b
abs_diff = abs(diff)
diff_squared = diff**2
f = function([a, b], [diff, abs_diff, diff_squared])
d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
assert np.array_equal(d, [[1.0, 0.0], [-1.0, -2.0]])
assert np.array_equal(ad, [[1.0, 0.0], [1.0, 2.0]])
assert np.array_equal(d2, [[1.0, 0.0], [1.0, 4.0]])

# ## Default values for arguments
#
# `In(y, value=1)` gives `y` a default. Inputs with defaults come after those
# without, as in Python.

x, y = T.dscalars("x", "y")
z = x + y
f = function([x, In(y, value=1)], z)
assert f(33) == 34.0
assert f(33, 2) == 35.0

# Inputs can also be passed by keyword. The keyword is the variable's name,
# unless `In(..., name=...)` gives another one.

x, y, w = T.dscalars("x", "y", "w")
z = (x + y) * w
f = function([x, In(y, value=1), In(w, value=2, name="w_by_name")], z)
print("f(33) =", f(33), " f(33, w_by_name=1, y=0) =", f(33, w_by_name=1, y=0))
assert f(33) == 68.0
assert f(33, 2) == 70.0
assert f(33, 0, 1) == 33.0
assert f(33, w_by_name=1) == 34.0
assert f(33, w_by_name=1, y=0) == 33.0

# ## Using shared variables
#
# A shared variable is both symbolic (usable in expressions) and concrete (it
# holds a value, read with `get_value` and written with `set_value`). Each
# function that lists it in `updates` changes it after every call.

state = shared(0)
inc = T.iscalar("inc")
accumulator = function([inc], state, updates=[(state, state + inc)])

assert state.get_value() == 0
assert accumulator(1) == 0  # the value before the update is returned
assert state.get_value() == 1
assert accumulator(300) == 1
assert state.get_value() == 301

state.set_value(-1)
assert accumulator(3) == -1
assert state.get_value() == 2

# Several functions can share the same state.
decrementor = function([inc], state, updates=[(state, state - inc)])
assert decrementor(2) == 2
assert state.get_value() == 0
print("accumulator and decrementor agree; state =", state.get_value())

# ## givens: computing with a stand-in for a shared variable
#
# `givens` replaces a node of the graph for this function only. Here the
# shared `state` is replaced by an ordinary input `foo`; `state` is untouched.

fn_of_state = state * 2 + inc
foo = T.scalar(dtype=state.dtype)  # the type of the value replacing `state`
skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
assert skip_shared(1, 3) == 7
assert state.get_value() == 0

# ## Derivatives
#
# `T.grad(cost, wrt)` builds the symbolic derivative of a scalar `cost`.

x = T.dscalar("x")
y = x**2
gy = T.grad(y, x)
print("pp(gy):", pp(gy))  # the chain rule, before any simplification
f = function([x], gy)
assert f(4) == 8.0
assert np.allclose(f(94.2), 188.4)

# The derivative of a sum of logistic functions, with respect to a matrix:
# ds/dx = s(x) * (1 - s(x)) elementwise.

x = T.dmatrix("x")
s = T.sum(1 / (1 + T.exp(-x)))
gs = T.grad(s, x)
dlogistic = function([x], gs)
sig = 1 / (1 + np.exp(-np.array(m, dtype=float)))
print("dlogistic:\n", dlogistic(m))
assert np.allclose(dlogistic(m), sig * (1 - sig))

# The gradient of a vector expression: d/dv sum(v ** 3) = 3 v ** 2.
v = T.dvector("v")
gv = function([v], T.grad(T.sum(v**3), v))
assert np.allclose(gv([1.0, -2.0, 0.5]), [3.0, 12.0, 0.75])

# `theano.grad` is the same function as `T.grad`.
assert np.allclose(function([x], theano.grad(s, x))(m), dlogistic(m))

print("basics: all claims hold")
