"""OpCases for random draws (symtheano/tensor/random.py): from a given generator state,
the sample and the advanced state equal NumPy's Philox generator used directly."""

import numpy as np

from symtheano.tensor.random import RandomVariable, seed_state
from tests.tensor.registry import OpCase


def _philox(state):
    bit_generator = np.random.Philox(key=state[:2], counter=state[2:])
    return bit_generator, np.random.Generator(bit_generator)


def _reference(draw, dtype):
    def ref(state):
        bit_generator, gen = _philox(state)
        sample = np.asarray(draw(gen), dtype=dtype)
        new = state.copy()
        new[2:] = bit_generator.state["state"]["counter"]
        return [new, sample]

    return ref


def _states(rng):
    advanced = seed_state(7, 3)
    advanced[2] = 41  # a counter already moved on
    return [(seed_state(1, 0),), (seed_state(2, 5),), (advanced,)]


def _case(name, distribution, dtype, size, params, draw, has_size=True, replace=True):
    def build(state):
        op = RandomVariable(distribution, dtype, has_size, replace)
        return op(state, np.asarray(size, dtype="int64"), *params)

    return OpCase(name, build, _reference(draw, dtype), _states)


CASES = [
    _case("random_uniform", "uniform", "float64", (2, 3), (np.float64(-1), np.float64(2)),
          lambda g: g.uniform(-1, 2, (2, 3))),
    _case("random_uniform_float32_broadcast", "uniform", "float32", (2, 3),
          (np.zeros(3, "float32"), np.float32(1)),
          lambda g: g.uniform(np.zeros(3), 1, (2, 3))),
    _case("random_normal_params_shape", "normal", "float64", (), (np.arange(3.0), np.ones(3)),
          lambda g: g.normal(np.arange(3.0), np.ones(3)), has_size=False),
    _case("random_binomial", "binomial", "int64", (4,), (np.int64(5), np.float64(0.3)),
          lambda g: g.binomial(5, 0.3, (4,))),
    _case("random_choice_without_replacement", "choice", "int64", (3,), (np.int64(6),),
          lambda g: g.choice(6, (3,), replace=False), replace=False),
    _case("random_choice_p", "choice_p", "float64", (2, 2),
          (np.array([1.5, 2.5, 3.5]), np.array([0.2, 0.5, 0.3])),
          lambda g: g.choice([1.5, 2.5, 3.5], (2, 2), p=[0.2, 0.5, 0.3])),
    _case("random_permutation", "permutation", "int64", (2,), (np.int64(4),),
          lambda g: np.array([g.permutation(4) for _ in range(2)])),
]
