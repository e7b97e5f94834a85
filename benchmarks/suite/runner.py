"""The worker and the orchestrating process.

`orchestrate` starts one worker process per thread setting
(`python -m benchmarks.suite --worker`, its environment from timing.thread_env),
merges what they wrote and writes the report; `worker` runs the selected
workloads in its own process and writes its results as JSON.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .compile_times import compile_workload
from .report import _loadavg, _numpy_blas, evaluate_targets, machine, merge, plot, render_markdown
from .timing import (
    ROOT,
    SETUP_LIMIT_S,
    THREAD_VARS,
    measure,
    thread_env,
    threads_setting,
    time_limit,
)
from .workloads import CONTESTANTS, TIMED_WORKLOADS, Skip, compare, run_case

RESULTS_DIR = ROOT / "benchmarks" / "results"


# --------------------------------------------------------------------------- worker


def worker(args):
    """Run the selected workloads in this process's thread setting; write JSON."""
    import numpy as np

    np.seterr(all="ignore")
    setting = threads_setting()
    out_path = Path(args.json_out)
    report = {"threads": setting, "rows": [], "accuracy": [], "skipped": [],
              "env": {k: os.environ.get(k) for k in THREAD_VARS + ("XLA_FLAGS",)},
              "numpy_blas": _numpy_blas(), "crashed_in": None}

    def log(msg):
        print(f"[{'1 thread' if setting == '1' else 'all cores'}] {msg}", file=sys.stderr,
              flush=True)

    def save():
        out_path.write_text(json.dumps(report, indent=1, default=float))

    keys = [k for k, _ in CONTESTANTS]
    for workload in TIMED_WORKLOADS:
        if workload.name not in args.workload:
            continue
        for size in (workload.quick_sizes if args.quick else workload.sizes):
            label = workload.size_label(size)
            report["crashed_in"] = f"{workload.name} {label}"
            save()
            log(f"{workload.name} {label}: setting up")
            data = workload.data(size)
            cases = {}
            for key in keys:
                try:
                    with time_limit(SETUP_LIMIT_S):
                        cases[key] = run_case(workload, key, data)
                except Skip as exc:
                    report["skipped"].append({"workload": workload.name, "size": label,
                                              "contestant": key, "reason": str(exc)})
                except Exception as exc:
                    tb = traceback.format_exception_only(exc)[-1].strip()
                    report["skipped"].append({"workload": workload.name, "size": label,
                                              "contestant": key, "reason": f"error: {tb}"})
                    if key == "numpy":
                        raise
            ref = cases["numpy"].result
            for key, case in cases.items():
                if key == "numpy":
                    continue
                acc = compare(ref, case.result)
                report["accuracy"].append({"workload": workload.name, "size": label,
                                           "contestant": key, **acc})
                if acc["rel_err"] > workload.tol or not acc["nonfinite_match"]:
                    case.note = "; ".join(filter(None, [
                        case.note, f"RESULT DIFFERS from NumPy (rel. {acc['rel_err']:.1e}, "
                        f"NaN/Inf {'same' if acc['nonfinite_match'] else 'differ'})"]))
            log(f"{workload.name} {label}: timing {', '.join(cases)}")
            reps = measure(cases, args.quick)
            for key, case in cases.items():
                report["rows"].append({
                    "workload": workload.name, "size": label, "contestant": key,
                    "median_s": statistics.median(case.samples), "min_s": min(case.samples),
                    "reps": reps, "number": case.number, "note": case.note,
                    "samples": case.samples})
            del cases, data
            gc.collect()
    if "compile" in args.workload:
        if setting == "1":
            report["crashed_in"] = "compile"
            save()
            compile_workload(args.quick, report, log)
        else:
            log("compile: measured in the 1-thread run only")
    report["crashed_in"] = None
    save()


def orchestrate(args):
    settings = [args.threads] if args.threads else ["1", "all"]
    workers = {}
    crashes = {}
    tmpdir = Path(tempfile.mkdtemp(prefix="symtheano-bench-"))
    started = time.perf_counter()
    load_before = _loadavg()
    try:
        for setting in settings:
            out = tmpdir / f"worker-{setting}.json"
            cmd = [sys.executable, "-m", "benchmarks.suite", "--worker", "--json-out", str(out),
                   "--workload", *args.workload] + (["--quick"] if args.quick else [])
            proc = subprocess.run(cmd, cwd=ROOT, env=thread_env(setting))
            if out.exists():
                rep = json.loads(out.read_text())
                workers[setting] = rep
                if proc.returncode != 0 or rep.get("crashed_in"):
                    crashes[setting] = (f"{rep.get('crashed_in') or 'its run'} (exit status "
                                        f"{proc.returncode})")
            else:
                crashes[setting] = f"start-up (exit status {proc.returncode})"
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if not workers:
        raise SystemExit("no worker produced results")
    first = workers.get("1") or next(iter(workers.values()))
    merged = merge(workers)
    skipped = []
    seen = set()
    for rep in workers.values():
        for s in rep["skipped"]:
            key = (s["workload"], s["size"], s["contestant"])
            if key not in seen:
                seen.add(key)
                skipped.append(s)
    report = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.suite", *sys.argv[1:]]),
        "machine": machine(),
        "numpy_blas": first.get("numpy_blas"),
        "settings": {s: {"env": w["env"]} for s, w in workers.items()},
        "merged": merged,
        "accuracy": first["accuracy"],
        "skipped": skipped,
        "crashes": crashes,
        "seconds": time.perf_counter() - started,
        "load_average": {"before": load_before, "after": _loadavg()},
    }
    report["targets"] = evaluate_targets(merged, report["accuracy"])
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = render_markdown(report)
    (out_dir / "latest.md").write_text(md)
    (out_dir / "latest.json").write_text(json.dumps(report, indent=1, default=float))
    problem = plot(report, out_dir / "latest.png")
    print(md)
    print(problem or f"wrote {out_dir / 'latest.md'}, latest.json and latest.png "
          f"({report['seconds']:.0f} s)")
