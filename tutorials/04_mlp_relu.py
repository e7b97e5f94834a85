"""A two-layer ReLU network, trained with stochastic gradient descent.

Run it with `python tutorials/04_mlp_relu.py`.

The classic warm-up: fit random outputs from random inputs with a network
y = relu(x . w1) . w2 under the squared (L2) loss. We never write the
backward pass: `T.grad` derives it from the forward expression.
"""

import numpy as np

import symtheano as theano
import symtheano.tensor as T

rng = np.random.RandomState(0)

# N is the batch size, D_in the input dimension, H the hidden dimension and
# D_out the output dimension.
N, D_in, H, D_out = 64, 1000, 100, 10

x_data = rng.randn(N, D_in)
y_data = rng.randn(N, D_out)

# ## The model
#
# The weights are shared variables: the training function updates them in
# place, and they keep their values between calls.

w1 = theano.shared(rng.randn(D_in, H), name="w1")
w2 = theano.shared(rng.randn(H, D_out), name="w2")

x = T.dmatrix("x")
y = T.dmatrix("y")

h = T.dot(x, w1)
h_relu = T.nnet.relu(h)  # max(h, 0), elementwise
y_pred = T.dot(h_relu, w2)
loss = T.sum((y_pred - y) ** 2)

# ## One SGD step as one compiled function
#
# `T.grad` accepts a list of variables and returns one gradient for each.

learning_rate = 1e-6
g1, g2 = T.grad(loss, [w1, w2])
train = theano.function(
    [x, y],
    loss,
    updates=[(w1, w1 - learning_rate * g1), (w2, w2 - learning_rate * g2)],
)

# ## Train

losses = []
for t in range(300):
    losses.append(float(train(x_data, y_data)))
    if t % 50 == 0:
        print(f"step {t:3d}: loss {losses[-1]:.4g}")
print(f"final loss: {losses[-1]:.4g} (started at {losses[0]:.4g})")

# The loss falls by many orders of magnitude.
assert losses[-1] < 1e-3 * losses[0]
assert all(np.isfinite(losses))

# The hidden layer is a ReLU: it never goes negative.
hidden = theano.function([x], h_relu)(x_data)
assert hidden.min() == 0.0
assert np.allclose(hidden, np.maximum(x_data @ w1.get_value(), 0))

print("ReLU network: all claims hold")
