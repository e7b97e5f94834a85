"""Fixtures shared by the C back end's tests."""

import pytest

import symtheano as th


@pytest.fixture
def threads():
    """Set config.openmp_threads within a test; restored afterwards."""
    saved = th.config.openmp_threads

    def set_to(n):
        th.config.openmp_threads = n

    yield set_to
    th.config.openmp_threads = saved
