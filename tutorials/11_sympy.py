"""Gradients, checked and simplified with SymPy.

Run it with `python tutorials/11_sympy.py`.

symtheano builds derivatives as graphs; SymPy manipulates formulas.
`symtheano.sympy_bridge` moves an expression from one to the other: `to_sympy`
turns a graph into a SymPy expression, `from_sympy` turns a SymPy expression
back into a graph that `function` compiles. Here we derive a gradient with
`T.grad`, check it against SymPy's `diff`, let SymPy simplify it, and compile
the simpler form.
"""

import numpy as np
import sympy

import symtheano as theano
import symtheano.tensor as T
from symtheano.sympy_bridge import from_sympy, to_sympy

# ## 1. A gradient as a formula
#
# `T.grad` differentiates the graph mechanically (the chain rule, node by node),
# so the result is correct but not tidy. `to_sympy` shows it as a formula in
# the SymPy Symbol named like the variable. (In Jupyter, a variable displays
# itself this way: `_repr_latex_` typesets the same formula.)

x = T.dscalar("x")
cost = T.log(T.exp(x) + T.exp(-x))  # log(2 cosh x): its derivative is tanh(x)
gx = T.grad(cost, x)

X = sympy.Symbol("x")
ours = to_sympy(gx)
print("T.grad, as SymPy sees it:", ours)

# ## 2. The same derivative, by SymPy
#
# Converting the cost itself and asking SymPy for the derivative gives an
# independent result. Their difference simplifies to zero: the two agree as
# formulas, not only at a few points.

theirs = sympy.diff(to_sympy(cost), X)
print("sympy.diff:              ", theirs)
assert sympy.simplify(ours - theirs) == 0

# ## 3. Simplified by SymPy, compiled by symtheano
#
# SymPy's `simplify` recognises the quotient as tanh(x): one op instead of
# four exponentials and a division. `from_sympy` maps each SymPy symbol to the
# symtheano variable it stands for and builds the graph; `function` compiles
# it like any other.

simpler = sympy.simplify(ours)
print("simplified:              ", simpler)
assert simpler == sympy.tanh(X)
g_simpler = from_sympy(simpler, {X: x})
print("as a graph:              ", theano.pp(g_simpler))
both = theano.function([x], [gx, g_simpler])
for value in (-3.0, 0.3, 2.0):
    a, b = both(value)
    print(f"x = {value:5}: T.grad {a:.15f}   simplified {b:.15f}")
    assert np.isclose(a, b, rtol=1e-12)

# ## 4. Arrays: sums over indices
#
# An array variable becomes an IndexedBase, and an expression stands for one
# element of the result. A sum is a SymPy `Sum` over an index running to the
# size of the dimension, so SymPy can differentiate a cost with respect to one
# element. For least squares, the gradient with respect to the weight w is
# sum_j 2 (w v_j - y_j) v_j.

v, y = T.dvector("v"), T.dvector("y")
w = T.dscalar("w")
loss = T.sum((w * v - y) ** 2)
print("loss:", to_sympy(loss))
W = sympy.Symbol("w")
assert sympy.simplify(sympy.diff(to_sympy(loss), W) - to_sympy(T.grad(loss, w))) == 0

# The gradient with respect to v is an array again: its element i0.
gv = T.grad(loss, v)
print("d loss / d v[i0]:", sympy.factor(to_sympy(gv)))
V, Y = sympy.IndexedBase("v"), sympy.IndexedBase("y")
g_back = from_sympy(sympy.factor(to_sympy(gv)), {V: v, Y: y, W: w})
check = theano.function([v, y, w], [gv, g_back])
a, b = check(np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0]), 1.5)
print("T.grad:", a, " via SymPy:", b)
assert np.allclose(a, b, rtol=1e-13)
