"""OpCases for the Scan op (symtheano/scan_module): a recurrent network step,
taps on sequences and outputs with a non-recurrent output, a carried state
(a shared variable's update), each against a NumPy loop."""

import numpy as np

import symtheano as th
import symtheano.tensor as T
from tests.tensor.registry import OpCase, rand


def _rnn(X, h0, W, b):
    hs, _ = th.scan(lambda x, h, W, b: T.tanh(T.dot(W, h) + x + b), sequences=X,
                    outputs_info=h0, non_sequences=[W, b])
    return hs


def _rnn_ref(X, h0, W, b):
    h, out = h0, []
    for x in X:
        h = np.tanh(W @ h + x + b)
        out.append(h)
    return np.array(out).reshape((len(X),) + h0.shape)


def _rnn_samples(rng):
    return [
        (rand(rng, (5, 3)), rand(rng, (3,)), rand(rng, (3, 3), low=-0.6, high=0.6),
         rand(rng, (3,))),
        (rand(rng, (4, 2), "float32"), rand(rng, (2,), "float32"),
         rand(rng, (2, 2), "float32", -0.6, 0.6), rand(rng, (2,), "float32")),
        (rand(rng, (0, 3)), rand(rng, (3,)), rand(rng, (3, 3)), rand(rng, (3,))),  # no step
    ]


def _taps(x, init, w):
    (ys, zs), _ = th.scan(lambda a, b, p, q, w: [p * w + T.sin(q) * a, b * q],
                          sequences=dict(input=x, taps=[-1, 1]),
                          outputs_info=[dict(initial=init, taps=[-2, -1]), None],
                          non_sequences=w)
    return [ys, zs]


def _taps_ref(x, init, w):
    seq, zs = list(init), []
    for t in range(len(x) - 2):
        a, b = x[t], x[t + 2]
        p, q = seq[-2], seq[-1]
        seq.append(p * w + np.sin(q) * a)
        zs.append(b * q)
    return [np.array(seq[2:]), np.array(zs)]


def _taps_samples(rng):
    return [(rand(rng, (7,)), rand(rng, (2,)), rand(rng, ()))]


def _carry(x, s0):
    s = th.shared(np.float64(0.0), name="s")
    out, updates = th.scan(lambda v: (v * s, {s: s * 0.5 + v}), sequences=x)
    # The shared variable's initial value is replaced by an input, so that the
    # carried state is differentiated like any other input.
    node = updates[s].owner
    inputs = [s0 if v is s else v for v in node.inputs]
    outs = node.op.make_node(*inputs).outputs
    return [outs[0], outs[1]]


def _carry_ref(x, s0):
    s, out = s0, []
    for v in x:
        out.append(v * s)
        s = s * 0.5 + v
    return [np.array(out), np.asarray(s)]


CASES = [
    OpCase("scan_rnn", _rnn, _rnn_ref, _rnn_samples, rtol=1e-6, atol=1e-6),
    OpCase("scan_taps_and_map", _taps, _taps_ref, _taps_samples),
    OpCase("scan_carried_state", _carry, _carry_ref,
           lambda rng: [(rand(rng, (4,)), rand(rng, ()))]),
]
