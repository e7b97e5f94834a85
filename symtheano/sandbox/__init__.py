"""Theano's `theano.sandbox` names that symtheano keeps for old code (rng_mrg)."""
