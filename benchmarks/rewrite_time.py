"""How long the rewrite pipeline (fast_run) takes as graphs grow.

Two families of graphs:
  mlp N    the cost and gradient graph of an N-layer tanh MLP of width 16
           (the graph `function` sees when a training step is compiled);
  chain K  a chain of K elementwise ops on one vector (mul/add by constants,
           tanh, neg, sub of zero), so that canonicalize fires often.

For each size it prints the median time of 5 runs (each on a fresh copy of the
graph), the node counts before and after, and the time per node before
rewriting: a flat column of microseconds per node means linear time.

    python benchmarks/rewrite_time.py                 # all sizes
    python benchmarks/rewrite_time.py --quick         # small sizes only
    python benchmarks/rewrite_time.py --profile mlp 200   # cProfile one case
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.setrecursionlimit(max(sys.getrecursionlimit(), 100_000))

import symtheano.tensor as T  # noqa: E402
from symtheano.graph.basic import Constant, clone_graph, graph_inputs  # noqa: E402
from symtheano.graph.fg import FunctionGraph  # noqa: E402
from symtheano.rewrite.pipeline import rewrite  # noqa: E402

MLP_SIZES = (25, 50, 100, 200)
CHAIN_SIZES = (1_250, 2_500, 5_000, 10_000)
REPEATS = 5


def mlp_graph(n_layers, width=16):
    """[cost, gradient of each weight and bias] of an n-layer tanh MLP."""
    x, y = T.dmatrix("x"), T.dmatrix("y")
    params, h = [], x
    for i in range(n_layers):
        w = T.dmatrix(f"w{i}")
        b = T.dvector(f"b{i}")
        params += [w, b]
        h = T.tanh(T.dot(h, w) + b)
    cost = T.mean((h - y) ** 2)
    return [x, y, *params], [cost, *T.grad(cost, params)]


def chain_graph(k):
    """A chain of k elementwise ops on one vector."""
    x = T.dvector("x")
    # Per round of 7 ops, canonicalize removes 5: v * 2 * 0.5 -> v, --v -> v, v - 0 -> v.
    steps = (lambda v: v * 2.0, lambda v: v * 0.5, lambda v: v + 1.0, lambda v: -v,
             lambda v: -v, T.tanh, lambda v: v - 0.0)
    out = x
    for i in range(k):
        out = steps[i % len(steps)](out)
    return [x], [out]


def fresh_fgraph(inputs, outputs):
    """A private FunctionGraph over a copy of the graph (rewriting mutates it)."""
    cloned, _ = clone_graph(outputs)
    roots = [v for v in graph_inputs(cloned) if not isinstance(v, Constant)]
    order = {id(v): i for i, v in enumerate(inputs)}
    roots.sort(key=lambda v: order.get(id(v), len(order)))
    return FunctionGraph(roots, cloned)


def measure(build, size, repeats=REPEATS):
    """(median seconds, nodes before, nodes after, report of the last run)."""
    inputs, outputs = build(size)
    times, report = [], None
    for _ in range(repeats):
        fgraph = fresh_fgraph(inputs, outputs)
        start = time.perf_counter()
        report = rewrite(fgraph, "fast_run")
        times.append(time.perf_counter() - start)
    return statistics.median(times), report.nodes_before, report.nodes_after, report


CASES = {"mlp": (mlp_graph, MLP_SIZES), "chain": (chain_graph, CHAIN_SIZES)}


def run(quick=False, repeats=REPEATS):
    print(f"{'case':<7}{'size':>7}{'median s':>11}{'nodes before':>14}{'nodes after':>13}"
          f"{'us/node':>10}")
    for name, (build, sizes) in CASES.items():
        for size in sizes[:2] if quick else sizes:
            seconds, before, after, _ = measure(build, size, repeats)
            print(f"{name:<7}{size:>7}{seconds:>11.3f}{before:>14}{after:>13}"
                  f"{seconds / before * 1e6:>10.1f}", flush=True)


def profile(name, size):
    build, _ = CASES[name]
    inputs, outputs = build(size)
    fgraph = fresh_fgraph(inputs, outputs)
    prof = cProfile.Profile()
    prof.enable()
    report = rewrite(fgraph, "fast_run")
    prof.disable()
    print(report)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the two smallest sizes only")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--profile", nargs=2, metavar=("CASE", "SIZE"),
                        help="cProfile one case (mlp or chain) at one size")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile[0], int(args.profile[1]))
    else:
        run(args.quick, args.repeats)


if __name__ == "__main__":
    main()
