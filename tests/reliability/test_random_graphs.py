"""Random graphs (random_graphs.py): the C program equals the reference back end and
NumPy, the rewritten graph equals the graph as written, and gradients equal the
reference's and central differences (graph_checks.py says exactly what is compared).

How many graphs: SYMTHEANO_FUZZ_EXAMPLES (default 2000 value graphs of the small
vocabulary, split over four tests so that xdist workers share them, plus 1/20 as many
gradient graphs and 1/40 as many graphs of the full vocabulary: 2150 in all). In CI
(CI set) each test has a fixed seed, so every run checks the same graphs and a
failure reproduces; elsewhere every run draws new ones. scripts/fuzz.py is the
long-running version with the full vocabulary. A graph that fails prints itself
(inputs, values, steps); each one found becomes a test in test_regressions.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings

from .graph_checks import check_gradient, check_values
from .random_graphs import graphs

EXAMPLES = int(os.environ.get("SYMTHEANO_FUZZ_EXAMPLES", "2000"))
SPLIT = 4


def fuzz(max_examples):
    return settings(max_examples=max(1, max_examples), deadline=None, database=None,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fixed_seed_in_ci(number):
    """The same graphs on every CI run; new ones on every local run."""
    return seed(number) if os.environ.get("CI") else (lambda test: test)


def _values_test(part):
    @fixed_seed_in_ci(9000 + part)
    @fuzz(EXAMPLES // SPLIT)
    @given(graphs("small"))
    def test(built):
        check_values(built)

    test.__name__ = f"test_random_graphs_agree_with_the_reference_and_numpy_{part}"
    return test


# Four tests of EXAMPLES / 4 graphs each, each with its own seed.
test_random_graphs_agree_with_the_reference_and_numpy_0 = _values_test(0)
test_random_graphs_agree_with_the_reference_and_numpy_1 = _values_test(1)
test_random_graphs_agree_with_the_reference_and_numpy_2 = _values_test(2)
test_random_graphs_agree_with_the_reference_and_numpy_3 = _values_test(3)


@fixed_seed_in_ci(9010)
@fuzz(EXAMPLES // 20)
@given(graphs("smooth", max_steps=4))
def test_random_gradients_agree_with_central_differences(built):
    check_gradient(built)


@fixed_seed_in_ci(9020)
@fuzz(EXAMPLES // 40)
@given(graphs("full", max_steps=4))
def test_random_graphs_of_the_full_vocabulary(built):
    check_values(built)
