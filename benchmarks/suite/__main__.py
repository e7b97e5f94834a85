"""The command line: `python -m benchmarks.suite [--quick] [--workload NAME ...]
[--threads 1|all] [--out-dir DIR]` (see the package's docstring).

The same entry point runs the worker (--worker) and probe (--probe) processes.
"""

from __future__ import annotations

import argparse

from . import __doc__ as SUITE_DOC
from .compile_times import probe
from .runner import RESULTS_DIR, orchestrate, worker
from .workloads import WORKLOAD_NAMES


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.suite",
                                description=SUITE_DOC.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and few repetitions")
    p.add_argument("--workload", nargs="+", choices=WORKLOAD_NAMES, default=list(WORKLOAD_NAMES),
                   help="which workloads (default: all)")
    p.add_argument("--threads", choices=("1", "all"),
                   help="only this thread setting (default: both, side by side)")
    p.add_argument("--out-dir", default=str(RESULTS_DIR), help="where results are written")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json-out", help=argparse.SUPPRESS)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="", help=argparse.SUPPRESS)
    p.add_argument("--cache", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        probe(args.probe, args.mode, args.cache)
    elif args.worker:
        worker(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
