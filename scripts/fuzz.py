"""The long-running random-graph fuzzer: the test suite's property tests
(tests/reliability/test_random_graphs.py) with random seeds, as many graphs as asked,
the full op vocabulary, and no stop at the first failure.

    python scripts/fuzz.py                    # 10,000 graphs, full vocabulary
    python scripts/fuzz.py -n 100000 --vocabulary small --gradients 0.2
    python scripts/fuzz.py --seed 1234        # repeat a run

Graphs are drawn in batches, each batch a Hypothesis run with its own seed. A batch
that finds a failure shrinks it to a small graph, which is printed as a test ready to
paste into tests/reliability/test_regressions.py; the fuzzer then goes on with the next
batch. Runs in its own compile cache (--cache, default ~/.cache/symtheano-fuzz) so that
the thousands of kernels it compiles stay out of the user's cache. The exit status is
the number of distinct failures (capped at 100).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--graphs", type=int, default=10_000, help="graphs to check")
    parser.add_argument("--vocabulary", choices=("full", "small"), default="full")
    parser.add_argument("--gradients", type=float, default=0.1,
                        help="fraction of batches that check gradients (smooth graphs)")
    parser.add_argument("--batch", type=int, default=200, help="graphs per Hypothesis run")
    parser.add_argument("--max-steps", type=int, default=8, help="steps per graph")
    parser.add_argument("--seed", type=int, default=None, help="seed of the whole run")
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/symtheano-fuzz"),
                        help="compile cache of the run")
    args = parser.parse_args(argv)
    os.environ["SYMTHEANO_CACHE_DIR"] = args.cache
    sys.path.insert(0, str(ROOT))
    warnings.simplefilter("ignore", RuntimeWarning)

    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(run_seed)
    print(f"fuzz: {args.graphs} graphs, vocabulary {args.vocabulary}, run seed {run_seed}, "
          f"cache {args.cache}", flush=True)
    failures, checked, started = {}, 0, time.monotonic()
    while checked < args.graphs:
        count = min(args.batch, args.graphs - checked)
        gradients = rng.random() < args.gradients
        batch_seed = rng.randrange(2**32)
        try:
            failure = run_batch(count, gradients, batch_seed, args.vocabulary, args.max_steps)
        except Exception as exc:  # a crash of the generator itself is a failure too
            print(f"\nbatch seed {batch_seed}: {type(exc).__name__}: {exc}", flush=True)
            failures[("crash", batch_seed)] = (None, exc)
            failure = None
        if failure is not None:
            built, exc = failure
            key = (str(exc).split(":")[0], tuple(built.steps))
            if key not in failures:
                failures[key] = failure
                report(len(failures), built, exc, gradients, batch_seed)
        checked += count
        elapsed = time.monotonic() - started
        print(f"{checked} graphs, {len(failures)} failures, {elapsed:.0f} s "
              f"({checked / max(elapsed, 1e-9):.1f} graphs/s)", flush=True)
    return min(len(failures), 100)


def run_batch(count, gradients, batch_seed, vocabulary, max_steps):
    """Check `count` graphs; (the shrunk failing graph, its error), or None."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from tests.reliability.graph_checks import check_gradient, check_values
    from tests.reliability.random_graphs import graphs

    check = check_gradient if gradients else check_values
    last_failure = []

    @seed(batch_seed)
    @settings(max_examples=count, deadline=None, database=None, print_blob=False,
              phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @given(graphs("smooth" if gradients else vocabulary, max_steps=max_steps))
    def batch(built):
        try:
            check(built)
        except AssertionError as exc:
            last_failure[:] = [built, exc]  # the last one is the shrunk example
            raise

    try:
        batch()
    except AssertionError:
        return tuple(last_failure)
    return None


def report(number, built, exc, gradients, batch_seed):
    print(f"\n=== failure {number} (batch seed {batch_seed}) ===\n{exc}\n", flush=True)
    if gradients:
        print("# a gradient check: reproduce with check_gradient(built) on these values")
    print(built.to_test(f"test_fuzz_{number}_{batch_seed}"), flush=True)


if __name__ == "__main__":
    sys.exit(main())
