"""Theano's `theano.sandbox.rng_mrg.MRG_RandomStreams`: here the same class as
RandomStreams (symtheano/tensor/random.py). It draws from NumPy's Philox
generator, not from Theano's MRG31k3p, so the numbers differ from Theano's;
`nstreams` is accepted and ignored."""

from symtheano.tensor.random import MRG_RandomStreams  # noqa: F401

__all__ = ["MRG_RandomStreams"]
