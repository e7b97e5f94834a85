"""Running on a GPU: the same graph, mode="CUDA".

Run it with `python tutorials/12_gpu.py`. It needs an NVIDIA GPU with its
driver, nvcc and pycuda (`pip install "symtheano[cuda]"`); without them it
says what is missing and exits with status 77, which the test suite reports
as a skip.

Nothing in a graph says where it runs: the mode chosen when compiling does.
`mode="CUDA"` (or Theano's `config.device = "cuda"`) compiles the same
rewritten graph into CUDA kernels and cuBLAS calls, keeps shared variables on
the GPU between calls, and hands NumPy arrays back.
"""

import sys
import time

import numpy as np
from symtheano.codegen.cuda.availability import missing

# ## 0. Is there a GPU?
#
# `missing()` checks pycuda, the driver, a device and nvcc, in that order, and
# names the first one absent (`python -m symtheano doctor` shows the same).

problem = missing()
if problem is not None:
    print(f"SKIP: no CUDA here: {problem}")
    sys.exit(77)

import symtheano as theano
import symtheano.tensor as T

# ## 1. One expression, two devices
#
# The elementwise chain below fuses into one kernel in both back ends; the
# reduction runs as a block tree on the GPU and as a threaded loop in C.

x = T.dvector("x")
y = T.sum(T.exp(-x ** 2) * T.cos(3 * x))
on_cpu = theano.function([x], y, mode="C")
on_gpu = theano.function([x], y, mode="CUDA")

data = np.linspace(-4, 4, 1_000_000)
print("CPU:", on_cpu(data), " GPU:", on_gpu(data))
assert np.isclose(on_cpu(data), on_gpu(data), rtol=1e-10)

# ## 2. Training with the weights on the GPU
#
# Logistic regression by gradient descent. `w` and `b` are shared variables:
# with mode="CUDA" their values stay on the device and the updates are applied
# there, so each call moves only the minibatch.

rng = np.random.default_rng(0)
n, features = 20_000, 100
X_data = rng.normal(size=(n, features))
true_w = rng.normal(size=features)
y_data = (X_data @ true_w + 0.1 * rng.normal(size=n) > 0).astype("float64")


def trainer(mode):
    X, t = T.dmatrix("X"), T.dvector("t")
    w = theano.shared(np.zeros(features), name="w")
    b = theano.shared(0.0, name="b")
    p = T.nnet.sigmoid(T.dot(X, w) + b)
    cost = T.nnet.binary_crossentropy(p, t).mean() + 1e-4 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function([X, t], cost, updates=[(w, w - 0.5 * gw), (b, b - 0.5 * gb)],
                            mode=mode)
    return train, w


for mode in ("C", "CUDA"):
    train, w = trainer(mode)
    train(X_data, y_data)  # the first call loads kernels
    start = time.perf_counter()
    for _ in range(50):
        cost = train(X_data, y_data)
    seconds = time.perf_counter() - start
    accuracy = np.mean((X_data @ w.get_value() > 0) == (y_data > 0))
    print(f"{mode:>4}: cost {float(cost):.4f}, accuracy {accuracy:.3f}, "
          f"{seconds / 50 * 1e3:.2f} ms per step")
    assert accuracy > 0.9
