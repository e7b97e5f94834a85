"""Theano's `theano.tensor.shared_randomstreams`: RandomStreams lives in
symtheano/tensor/random.py."""

from symtheano.tensor.random import RandomStreams, RandomVariable  # noqa: F401

__all__ = ["RandomStreams"]
