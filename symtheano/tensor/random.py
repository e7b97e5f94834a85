"""Random streams: `RandomStreams(seed)` makes symbolic random variables whose
generator state is a shared variable, advanced by each call of a function that
draws from it (its default update), as in Theano:

    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    f = theano.function([], rv_u)                          # new numbers each call
    g = theano.function([], rv_u, no_default_updates=True)  # the same numbers each call

The state is data, not an object: a uint64 vector (6,) holding the key (2
words) and the counter (4 words) of NumPy's counter-based Philox generator. A
draw (`RandomVariable.perform`) builds `Generator(Philox(key, counter))`, draws,
and returns the advanced counter as its first output; whatever Philox buffered
and did not hand out is dropped, so no number is ever used twice. Because the
state is an ordinary integer tensor, every back end runs the draw (the C
program runs `perform` natively) and the function's update machinery stores
the new state. Each random variable owns one state, derived from the stream's
seed and the variable's creation index, so functions are reproducible from the
seed and `seed(n)` resets them all.

Gradients: uniform and normal samples are differentiable in their parameters
along the path of the draw (x = low + (high - low) u, x = avg + std z, with u
and z fixed); discrete samples (binomial, choice, permutation) have none.
"""

from __future__ import annotations

import numpy as np

from symtheano.graph.basic import Apply, Op, Variable
from symtheano.tensor import basic as tb
from symtheano.tensor.shape import as_shape_vector
from symtheano.tensor.type import FLOAT_DTYPES, INT_DTYPES, TensorType, normalize_dtype
from symtheano.tensor.var import as_tensor_variable, constant

STATE_TYPE = TensorType("uint64", (6,))

# distribution -> (parameter names, NumPy Generator method)
DISTRIBUTIONS = {
    "uniform": ("low", "high"),
    "normal": ("avg", "std"),
    "binomial": ("n", "p"),
    "choice": ("a",),
    "choice_p": ("a", "p"),
    "permutation": ("n",),
}


def seed_state(seed, index):
    """The state of random variable number `index` of a stream seeded with `seed`:
    a key drawn from NumPy's SeedSequence, the counter at zero."""
    key = np.random.SeedSequence(entropy=seed, spawn_key=(index,)).generate_state(2, np.uint64)
    return np.concatenate([key, np.zeros(4, np.uint64)])


def _static_size(size):
    from symtheano.tensor.join import _static_vector

    return _static_vector(size)


def _broadcast_static(shapes):
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for sizes in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        known = {s for s in sizes if s not in (None, 1)}
        out.append(known.pop() if len(known) == 1 else 1 if all(s == 1 for s in sizes)
                   else None)
    return tuple(out)


class RandomVariable(Op):
    """One draw from a distribution. Inputs: the generator state (uint64 (6,)), the
    size (an int64 vector; with has_size False the parameters' broadcast shape is
    used), then the distribution's parameters. Outputs: the new state, the sample."""

    __props__ = ("distribution", "dtype", "has_size", "replace")

    def __init__(self, distribution, dtype, has_size=True, replace=True):
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {distribution!r}; expected one of "
                             f"{sorted(DISTRIBUTIONS)}")
        self.distribution, self.dtype = distribution, normalize_dtype(dtype)
        self.has_size, self.replace = bool(has_size), bool(replace)

    def __str__(self):
        return f"RandomVariable{{{self.distribution}, {self.dtype}}}"

    def make_node(self, state, size, *params):
        state = as_tensor_variable(state)
        if state.dtype != "uint64" or state.ndim != 1:
            raise TypeError(f"{self.distribution}: the generator state {state} must be a "
                            f"uint64 vector of 6 words, got {state.type}")
        size = as_tensor_variable(size)
        if size.ndim != 1 or size.dtype not in INT_DTYPES:
            raise TypeError(f"{self.distribution}: the size {size} must be an integer vector")
        names = DISTRIBUTIONS[self.distribution]
        if len(params) != len(names):
            raise TypeError(f"{self.distribution} takes the parameters {names}, got "
                            f"{len(params)}")
        params = [as_tensor_variable(p) for p in params]
        if self.distribution == "permutation" or self.distribution.startswith("choice"):
            if params[0].dtype not in INT_DTYPES and self.distribution == "permutation":
                raise TypeError(f"permutation: n must be an integer, got {params[0].type}")
            if params[0].ndim > 1:
                raise ValueError(f"{self.distribution}: {names[0]} must be a scalar or a "
                                 f"vector, got {params[0].type}")
            core = _static_size(size) if self.has_size else ()
            shape = tuple(core) if core is not None else (None,) * size.type.shape[0]
            if self.distribution == "permutation":
                shape += (_int_constant(params[0]),)
        elif self.has_size:
            shape = _static_size(size)
            if shape is None:
                if size.type.shape[0] is None:
                    raise ValueError(f"{self.distribution}: the length of the size {size} "
                                     "must be known (give ndim=)")
                shape = (None,) * size.type.shape[0]
        else:
            shape = _broadcast_static([p.type.shape for p in params])
        out = TensorType(self.dtype, tuple(shape)).make_variable()
        return Apply(self, [state, tb.cast(size, "int64")] + params,
                     [STATE_TYPE.make_variable(), out])

    def perform(self, node, inputs, output_storage):
        state, size, *params = inputs
        if state.shape != (6,):
            raise ValueError(f"{self.distribution}: the generator state "
                             f"{node.inputs[0]} must hold 6 words, got shape {state.shape}")
        bit_generator = np.random.Philox(key=state[:2], counter=state[2:])
        gen = np.random.Generator(bit_generator)
        size = tuple(int(s) for s in size) if self.has_size else None
        sample = self._draw(gen, size, params, node)
        new_state = state.copy()
        new_state[2:] = bit_generator.state["state"]["counter"]
        output_storage[0][0] = new_state
        output_storage[1][0] = np.asarray(sample, dtype=self.dtype)

    def _draw(self, gen, size, params, node):
        d = self.distribution
        if d == "uniform":
            return gen.uniform(params[0], params[1], size)
        if d == "normal":
            return gen.normal(params[0], params[1], size)
        if d == "binomial":
            return gen.binomial(params[0], params[1], size)
        if d == "permutation":
            n = int(params[0])
            shape = size or ()
            count = int(np.prod(shape))
            return np.array([gen.permutation(n) for _ in range(count)],
                            dtype="int64").reshape(shape + (n,))
        a = params[0] if params[0].ndim else int(params[0])
        p = params[1] if d == "choice_p" else None
        return gen.choice(a, size=size, replace=self.replace, p=p)

    def infer_shape(self, node, input_shapes):
        from symtheano.tensor.join import _vector_entries

        out = node.outputs[1]
        if not self.has_size:
            from symtheano.tensor.shape import shape_i

            dims = tuple(s if s is not None else shape_i(out, d)
                         for d, s in enumerate(out.type.shape))
            return [(6,), dims]
        n = node.inputs[1].type.shape[0]
        core = tuple(_vector_entries(node.inputs[1], n)) if n is not None else ()
        if self.distribution == "permutation":
            core += (tb.cast(node.inputs[2], "int64"),)
        return [(6,), core]

    def L_op(self, inputs, outputs, output_grads):
        # Pathwise derivatives, the underlying uniform u or standard normal z held fixed.
        _, _, *params = inputs
        x, g = outputs[1], output_grads[1]
        grads = [None, None] + [None] * len(params)
        if g is None or self.distribution not in ("uniform", "normal"):
            return grads
        for k, dx in enumerate(self._partials(params, x)):
            if params[k].dtype in FLOAT_DTYPES:
                grads[2 + k] = _reduce_to(g * dx, params[k])
        return grads

    def _partials(self, params, x):
        a, b = params
        if self.distribution == "uniform":  # x = low + (high - low) u
            width = b - a
            return [(b - x) / width, (x - a) / width]
        from symtheano.tensor.shape import ones_like

        return [ones_like(x), (x - a) / b]  # x = avg + std z

    def R_op(self, inputs, eval_points):
        from symtheano.rop import node_outputs, sum_tangents

        _, _, *params = inputs
        tangents = eval_points[2:]
        if self.distribution not in ("uniform", "normal") or all(t is None for t in tangents):
            return [None, None]
        x = node_outputs(self, inputs)[1]
        terms = [None if t is None or p.dtype not in FLOAT_DTYPES else t * dx
                 for p, t, dx in zip(params, tangents, self._partials(params, x), strict=True)]
        return [None, sum_tangents(terms)]

    def pretty(self, input_strs):
        return f"{self.distribution}({', '.join(input_strs)})"


def _int_constant(v):
    from symtheano.graph.basic import Constant

    return int(v.data) if isinstance(v, Constant) and v.ndim == 0 else None


def _reduce_to(g, param):
    """The gradient of a sample summed back to the shape of a (broadcast) parameter."""
    from symtheano.tensor.elemwise import reduce_to_input

    return reduce_to_input(g, param)


def _size_vector(size, ndim, params, what):
    """(int64 size vector, has_size) from Theano's size argument: None (or () with
    non-scalar parameters) means the parameters' broadcast shape."""
    if size is None or (isinstance(size, list | tuple) and len(size) == 0 and any(
            p.ndim for p in params)):
        return constant(np.zeros(0, dtype="int64")), False
    if isinstance(size, Variable) and size.ndim == 1 and size.type.shape[0] is None:
        if ndim is None:
            raise ValueError(f"{what}: the length of the symbolic size {size} is unknown; "
                             "give ndim=")
        from symtheano.tensor.shape import specify_shape

        size = specify_shape(size, (ndim,))
    vec, _ = as_shape_vector(size, f"{what}'s size")
    if ndim is not None and vec.type.shape[0] != ndim:
        raise ValueError(f"{what}: ndim={ndim} but the size has {vec.type.shape[0]} entries")
    return vec, True


class RandomStreams:
    """A source of symbolic random variables, reproducible from `seed` (Theano's
    shared_randomstreams.RandomStreams; MRG_RandomStreams is the same class)."""

    def __init__(self, seed=None):
        self.default_instance_seed = seed if seed is not None else 12345
        self.state_updates = []  # (state shared variable, its new value), in creation order

    def seed(self, seed=None):
        """Reset every random variable of this stream as if the stream was created with
        `seed` (default: the seed given at creation)."""
        seed = self.default_instance_seed if seed is None else seed
        for index, (state, _) in enumerate(self.state_updates):
            state.set_value(seed_state(seed, index), borrow=True)

    def updates(self):
        """The (state, new state) pairs of every variable drawn so far."""
        return list(self.state_updates)

    def gen(self, op, size, *params):
        """The sample of `op` drawn from a new state (Theano's RandomStreams.gen)."""
        from symtheano.compile.sharedvalue import shared

        state = shared(seed_state(self.default_instance_seed, len(self.state_updates)),
                       shape=(6,), name=f"rng{len(self.state_updates)}")
        new_state, sample = op.make_node(state, size, *params).outputs
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        sample.rng, sample.update = state, (state, new_state)
        return sample

    def _draw(self, distribution, size, params, ndim, dtype, replace=True):
        params = [as_tensor_variable(p) for p in params]
        vec, has_size = _size_vector(size, ndim, params, distribution)
        op = RandomVariable(distribution, dtype, has_size, replace)
        return self.gen(op, vec, *params)

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        """Samples uniform on [low, high)."""
        low, high = _float_params(low, high, dtype)
        return self._draw("uniform", size, (low, high), ndim, dtype or _float_of(low, high))

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        """Samples from the normal distribution of mean `avg` and deviation `std`."""
        avg, std = _float_params(avg, std, dtype)
        return self._draw("normal", size, (avg, std), ndim, dtype or _float_of(avg, std))

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", prob=None,
                 nstreams=None):
        """The number of successes in n trials of probability p (MRG's `prob` too)."""
        p = prob if prob is not None else p
        return self._draw("binomial", size, (tb.cast(as_tensor_variable(n), "int64"),
                                             tb.cast(as_tensor_variable(p), "float64")),
                          ndim, dtype)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Elements of `a` (a vector, or range(a) for an int), with or without
        replacement, uniformly or with probabilities `p`."""
        a = as_tensor_variable(a)
        if a.ndim == 0:
            a = tb.cast(a, "int64")
        if p is None:
            return self._draw("choice", size, (a,), ndim, dtype if a.ndim == 0 else a.dtype,
                              replace)
        p = tb.cast(as_tensor_variable(p), "float64")
        return self._draw("choice_p", size, (a, p), ndim,
                          dtype if a.ndim == 0 else a.dtype, replace)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """Random permutations of range(n): one, or an array of them of shape size + (n,)."""
        if size is None:
            size = ()
        vec, _ = _size_vector(size, ndim, [], "permutation")
        op = RandomVariable("permutation", dtype, True)
        return self.gen(op, vec, tb.cast(as_tensor_variable(n), "int64"))


def _float_params(a, b, dtype):
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    target = normalize_dtype(dtype) if dtype is not None else _float_of(a, b)
    return tb.cast(a, target), tb.cast(b, target)


def _float_of(*params):
    from symtheano.tensor.type import upcast

    dt = upcast(*[p.dtype for p in params])
    return dt if dt in FLOAT_DTYPES else normalize_dtype("floatX")


MRG_RandomStreams = RandomStreams

__all__ = ["RandomStreams", "MRG_RandomStreams", "RandomVariable", "seed_state"]
