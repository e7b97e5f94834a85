"""Logistic regression, trained by gradient descent: the Theano tutorial's example.

Run it with `python tutorials/03_logistic_regression.py`.

The model: p(y = 1 | x) = sigmoid(x . w + b). Its parameters `w` and `b` live
in shared variables; one compiled function computes the cost, its gradient and
the gradient-descent step, and applies the step to the parameters in place.
"""

import numpy as np

import symtheano as theano
import symtheano.tensor as T

rng = np.random.RandomState(42)

N = 400  # training sample size
feats = 784  # number of input variables

# A data set D = (inputs, target classes): random points with random labels.
# With more features than samples it is linearly separable, so a linear model
# can learn it perfectly.
D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2))
training_steps = 1000

# ## The symbolic model

x = T.dmatrix("x")
y = T.dvector("y")

# The weight vector starts random, the bias at zero. `shared` makes them
# state that survives between calls of the compiled functions.
w = theano.shared(rng.randn(feats), name="w")
b = theano.shared(0.0, name="b")

p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))  # probability that the target is 1
prediction = p_1 > 0.5  # the prediction, thresholded
xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)  # cross-entropy loss
cost = xent.mean() + 0.01 * (w**2).sum()  # the cost to minimize, with L2 decay
gw, gb = T.grad(cost, [w, b])  # gradient of the cost w.r.t. w and b

# A word on numbers. With the random start, |x . w| is in the hundreds, so in
# floating point `p_1` is exactly 0 or 1 and `T.log(p_1)` as written would be
# log(0) = -inf, and its gradient nan. The compiler recognizes the logistic
# function in `1 / (1 + exp(-z))` and rewrites log(sigmoid(z)) into the stable
# -softplus(-z) (and log(1 - sigmoid(z)) into -softplus(z)), so the very same
# formula trains without trouble.

# ## Compile
#
# `train` returns the predictions and the per-sample losses, and as a side
# effect moves `w` and `b` one step down the gradient.

train = theano.function(
    inputs=[x, y],
    outputs=[prediction, xent],
    updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)),
)
predict = theano.function(inputs=[x], outputs=prediction)


def accuracy():
    return np.mean(predict(D[0]) == D[1])


# ## Train

initial_accuracy = accuracy()
print(f"accuracy before training: {initial_accuracy:.3f}")

for i in range(training_steps):
    pred, err = train(D[0], D[1])
    if i == 0:
        # Even from the saturated start, every per-sample loss is finite.
        print(f"step    1: mean cross-entropy {np.mean(err):.1f}")
        assert np.all(np.isfinite(err))
    if (i + 1) % 250 == 0:
        print(f"step {i + 1:4d}: accuracy {np.mean(pred == D[1]):.3f}")

final_accuracy = accuracy()
print(f"accuracy after {training_steps} steps: {final_accuracy:.3f}")
print("final mean cross-entropy:", float(np.mean(err)))
print("final bias:", b.get_value())

# A random model guesses about half of the labels right; the trained one
# separates the data.
assert initial_accuracy < 0.7
assert final_accuracy > 0.95
assert np.isfinite(np.mean(err))

# The gradient is exact: compare it with the closed form of this model's
# gradient, X^T (p - y) / N + 0.02 w, computed in NumPy.
grads = theano.function([x, y], [gw, gb])
X, Y = D[0][:50], D[1][:50].astype(float)
wv, bv = w.get_value(), b.get_value()
p = 1 / (1 + np.exp(-X @ wv - bv))
gw_val, gb_val = grads(X, Y)
assert np.allclose(gw_val, X.T @ (p - Y) / len(Y) + 0.02 * wv)
assert np.allclose(gb_val, np.mean(p - Y))

print("logistic regression: all claims hold")
