"""Loops with `scan`: Theano's loop tutorial.

Run it with `python tutorials/09_loops.py`.

`theano.scan(fn, sequences, outputs_info, non_sequences, n_steps)` calls the
step function `fn` once, on symbolic placeholders, and turns the graph it
builds into one loop node. fn receives a row of each sequence, the previous
value of each output listed in `outputs_info`, then the non-sequences; it
returns the new values. scan returns the outputs stacked over the steps, and
a dictionary of updates for any shared variable fn changed.

The loop is part of the graph like any other op: `T.grad` differentiates it
(backpropagation through time), the rewrites move what does not change from
step to step out of it, and in the default mode ("C") the whole loop runs in
compiled code, with no Python call per step.
"""

import time

import numpy as np

import symtheano as theano
import symtheano.tensor as T

# ## A**k: a recurrence with n_steps
#
# `outputs_info` gives the initial value of an output fed back to fn: at each
# step, `prior_result` is what fn returned the step before. There is no
# sequence, so `n_steps` says how many steps to run.

k = T.iscalar("k")
A = T.dvector("A")

result, updates = theano.scan(fn=lambda prior_result, A: prior_result * A,
                              outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
# `result` holds A**1, ..., A**k, one row per step; we want the last.
final_result = result[-1]
power = theano.function(inputs=[A, k], outputs=final_result, updates=updates)

a = np.arange(10, dtype="float64")
print("A**2 =", power(a, 2))
assert np.allclose(power(a, 2), a ** 2)
assert np.allclose(power(a, 5), a ** 5)

# ## A polynomial: iterating over two sequences
#
# Each step reads one coefficient and one power; scan stops at the end of the
# shorter sequence, so a long `arange` serves every degree. `outputs_info=None`
# marks an output that is not fed back (a "map").

coefficients = T.dvector("coefficients")
x = T.dscalar("x")
max_coefficients_supported = 10000

components, updates = theano.scan(
    fn=lambda coefficient, power, free_variable: coefficient * (free_variable ** power),
    outputs_info=None,
    sequences=[coefficients, T.arange(max_coefficients_supported)],
    non_sequences=x)
polynomial = components.sum()
calculate_polynomial = theano.function(inputs=[coefficients, x], outputs=polynomial)

test_coefficients = np.asarray([1, 0, 2], dtype="float64")
print("1 + 2 * 3**2 =", calculate_polynomial(test_coefficients, 3))
assert calculate_polynomial(test_coefficients, 3) == 19.0

# The same polynomial by Horner's rule: a recurrence over the coefficients, last
# first (go_backwards), with the running value as the fed-back output.
horner, _ = theano.scan(lambda c, acc, x: acc * x + c, sequences=coefficients,
                        outputs_info=T.constant(0.0), non_sequences=x, go_backwards=True)
assert theano.function([coefficients, x], horner[-1])(test_coefficients, 3) == 19.0

# ## A Jacobian with scan
#
# Non-sequences reach fn as the very variables passed, so fn may differentiate
# with respect to them: row i of the Jacobian is the gradient of y[i].

x = T.dvector("x")
y = x ** 2
J, updates = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                         non_sequences=[y, x])
jacobian = theano.function([x], J, updates=updates)
print("J(x**2) at [4, 4] =\n", jacobian([4, 4]))
assert np.allclose(jacobian([4, 4]), [[8, 0], [0, 8]])

# The Hessian the same way: the Jacobian of the gradient.
cost = T.sum(x ** 3)
gy = T.grad(cost, x)
H, updates = theano.scan(lambda i, gy, x: T.grad(gy[i], x), sequences=T.arange(gy.shape[0]),
                         non_sequences=[gy, x])
hessian = theano.function([x], H, updates=updates)
assert np.allclose(hessian([1.0, 2.0]), np.diag([6.0, 12.0]))

# ## Updates: shared variables changed by the loop
#
# fn may return a dictionary {shared variable: new value}; each step sees the
# value the previous step left, and scan returns the final values as updates
# for `function`.

counter = theano.shared(np.int64(0), name="counter")
steps, updates = theano.scan(lambda: (counter * 10, {counter: counter + 1}), n_steps=4)
count = theano.function([], steps, updates=updates)
print("counter readings:", count(), "then", count())
assert counter.get_value() == 8

# ## A recurrent network trained on a toy sequence task
#
# The task: read a sequence of +-1 values and, at each step, output the value
# read two steps earlier. That needs memory, which the hidden state provides:
#     h_t = tanh(W_in x_t + W_rec h_{t-1} + b),   y_t = w_out . h_t
# The loop runs over time on a whole batch of sequences at once (x_t holds one
# row per sequence). `T.grad` of the loss backpropagates through time: another
# loop, running backwards over the stored hidden states.

rng = np.random.RandomState(0)
n_hidden, n_steps_data, n_sequences, delay = 10, 20, 64, 2


def make_data(n):
    xs = rng.choice([-1.0, 1.0], size=(n_steps_data, n, 1))
    ys = np.zeros((n_steps_data, n))
    ys[delay:] = xs[:-delay, :, 0]
    return xs, ys


W_in = theano.shared(rng.randn(1, n_hidden) * 0.5, name="W_in")
W_rec = theano.shared(rng.randn(n_hidden, n_hidden) * 0.3, name="W_rec")
b = theano.shared(np.zeros(n_hidden), name="b")
w_out = theano.shared(rng.randn(n_hidden) * 0.1, name="w_out")
params = [W_in, W_rec, b, w_out]

X = T.tensor3("X")  # (time, sequence, 1)
Y = T.dmatrix("Y")  # (time, sequence)
h0 = T.zeros((X.shape[1], n_hidden))


def step(x_t, h_prev, W_in, W_rec, b):
    return T.tanh(T.dot(x_t, W_in) + T.dot(h_prev, W_rec) + b)


hidden, _ = theano.scan(step, sequences=X, outputs_info=h0, non_sequences=[W_in, W_rec, b])
prediction = T.dot(hidden, w_out)
loss = T.mean((prediction - Y) ** 2)

# Plain gradient descent with momentum; the velocities are shared variables too.
learning_rate, momentum = 0.1, 0.9
velocities = [theano.shared(np.zeros_like(p.get_value())) for p in params]
grads = T.grad(loss, params)
updates = []
for p, v, g in zip(params, velocities, grads):
    new_v = momentum * v - learning_rate * g
    updates += [(v, new_v), (p, p + new_v)]
train = theano.function([X, Y], loss, updates=updates)
evaluate = theano.function([X, Y], loss)

x_train, y_train = make_data(n_sequences)
x_test, y_test = make_data(256)
start_loss = float(evaluate(x_test, y_test))
start = time.perf_counter()
for epoch in range(300):
    value = train(x_train, y_train)
    if epoch % 100 == 0:
        print(f"epoch {epoch:3d}: training loss {float(value):.4f}")
print(f"trained in {time.perf_counter() - start:.2f} s")
test_loss = float(evaluate(x_test, y_test))
print(f"test loss: {test_loss:.4f} (untrained: {start_loss:.4f})")
assert test_loss < 0.1 * start_loss, (test_loss, start_loss)

# The gradient the loop computes is the gradient of the unrolled network: check
# it against central differences of the loss on a few sequences.
f_loss = theano.function([X, Y], loss)
f_grad = theano.function([X, Y], T.grad(loss, W_rec))
xs, ys = make_data(3)
eps, W = 1e-6, W_rec.get_value()
numeric = np.zeros((2, 2))
for i in range(2):
    for j in range(2):
        step_ij = np.zeros_like(W)
        step_ij[i, j] = eps
        W_rec.set_value(W + step_ij)
        plus = float(f_loss(xs, ys))
        W_rec.set_value(W - step_ij)
        numeric[i, j] = (plus - float(f_loss(xs, ys))) / (2 * eps)
W_rec.set_value(W)
assert np.allclose(f_grad(xs, ys)[:2, :2], numeric, rtol=1e-5, atol=1e-8)
print("backpropagation through time agrees with central differences")
