"""The compile workload: compile and import times, each in a fresh process.

`probe` is what a probe process runs (`python -m benchmarks.suite --probe ...`):
build, compile and call the training step of the MLP workload once.
`compile_workload` runs the probes, cold and warm, and times the imports.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from .timing import run_probe, time_import
from .workloads import (
    AGREE_TOL,
    _jax,
    _pytensor,
    _symtheano,
    _symtheano_note,
    jax_mlp_step,
    mlp_data,
    mlp_numpy_step,
    pytensor_mlp_step,
    symtheano_mlp_step,
)

# --------------------------------------------------------------------------- compile probes


def probe(name, mode, cache):
    """Run in a fresh process: build, compile and call the training step once.

    Prints JSON: seconds from after the imports to the first result, the loss."""
    d = mlp_data()
    out = {}
    if name == "symtheano":
        th, T = _symtheano()
        t0 = time.perf_counter()
        train, _, _ = symtheano_mlp_step(th, T, d["w1"], d["w2"], mode)
        loss = float(train(d["x"], d["y"]))
        out["seconds"] = time.perf_counter() - t0
        out["note"] = _symtheano_note(train)
    elif name == "pytensor":
        pytensor, pt = _pytensor()
        t0 = time.perf_counter()
        train, _, _ = pytensor_mlp_step(pytensor, pt, d["w1"], d["w2"])
        loss = float(train(d["x"], d["y"]))
        out["seconds"] = time.perf_counter() - t0
    elif name == "jax":
        jax, jnp = _jax()
        jax.config.update("jax_compilation_cache_dir", cache)
        for option in ("jax_persistent_cache_min_compile_time_secs",
                       "jax_persistent_cache_min_entry_size_bytes"):
            try:
                jax.config.update(option, 0)
            except AttributeError:
                pass
        x, y, w1, w2 = (jnp.asarray(d[k]) for k in ("x", "y", "w1", "w2"))
        t0 = time.perf_counter()
        step = jax_mlp_step(jax, jnp)
        loss = float(step(w1, w2, x, y)[0])
        out["seconds"] = time.perf_counter() - t0
    else:
        raise SystemExit(f"unknown probe {name!r}")
    out["loss"] = loss
    print(json.dumps(out))


IMPORTS = [  # (row key, module); ratios are to `import numpy`
    ("numpy", "numpy"),
    ("symtheano", "symtheano"),
    ("symtheano+tensor", "symtheano.tensor"),
    ("numexpr", "numexpr"),
    ("import-pytensor", "pytensor"),
    ("import-jax", "jax"),
]
COLD, WARM, IMPORT = "train step, cold", "train step, warm", "import"


def compile_workload(quick, report, log):
    """Cold and warm compile of the training step, and import times, in fresh processes.

    Cold: a fresh, empty cache directory per sample (symtheano's SYMTHEANO_CACHE_DIR,
    PyTensor's compiledir, JAX's persistent compilation cache). Warm: the directory
    the first cold sample filled. symtheano PY has no cache: cold only.
    """
    d = mlp_data()
    ref_loss = float(mlp_numpy_step(d["w1"].copy(), d["w2"].copy(), d["x"], d["y"]))
    n_cold, n_warm, n_import = (1, 2, 3) if quick else (3, 5, 7)
    tmp = Path(tempfile.mkdtemp(prefix="symtheano-bench-"))
    # key -> (probe, mode, environment for a cache directory, has a cache)
    probes = {
        "symtheano-C": ("symtheano", "C", lambda c: {"SYMTHEANO_CACHE_DIR": c}, True),
        "symtheano-PY": ("symtheano", "PY", lambda c: {"SYMTHEANO_CACHE_DIR": c}, False),
        "pytensor": ("pytensor", "", lambda c: {"PYTENSOR_FLAGS": f"compiledir={c}"}, True),
        "jax": ("jax", "", lambda c: {}, True),
    }
    samples, notes, errors, failures = {}, {}, {}, {}

    def one(size, key, cache):
        name, mode, env_for, _ = probes[key]
        try:
            out = run_probe(name, mode, cache, env_for(cache))
        except Exception as exc:  # recorded, never fatal; the other samples still run
            failures.setdefault((size, key), []).append(str(exc))
            return
        samples.setdefault((size, key), []).append(out["seconds"])
        rel = abs(out["loss"] - ref_loss) / abs(ref_loss)
        note = out.get("note", "")
        if rel > AGREE_TOL:
            note = f"{note}; RESULT DIFFERS from NumPy (loss rel. {rel:.1e})".lstrip("; ")
        notes[(size, key)] = note
        if len(samples[(size, key)]) == 1:
            report["accuracy"].append({"workload": "compile", "size": size,
                                       "contestant": key, "rel_err": rel,
                                       "nonfinite_match": True, "n_nonfinite": 0})

    try:
        log("compile: training step cold (empty caches), a fresh process per sample")
        for i in range(n_cold):
            for key in probes:
                one(COLD, key, str(tmp / f"{key}-{i}"))
        log("compile: training step warm (the cache the first cold sample filled)")
        for _ in range(n_warm):
            for key, (_, _, _, cached) in probes.items():
                if cached:
                    one(WARM, key, str(tmp / f"{key}-0"))
        log("compile: import times, a fresh process per sample")
        for key, module in IMPORTS:  # untimed: fills the file cache and writes .pyc files
            try:
                time_import(module)
            except RuntimeError as exc:
                errors[("import", key)] = str(exc)
        for _ in range(n_import):
            for key, module in IMPORTS:
                if ("import", key) not in errors:
                    samples.setdefault((IMPORT, key), []).append(time_import(module))
                    notes[(IMPORT, key)] = f"import {module}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    wanted = ([(COLD, k) for k in probes] + [(WARM, k) for k in probes if probes[k][3]]
              + [(IMPORT, k) for k, _ in IMPORTS])
    for size, key in wanted:
        s = samples.get((size, key))
        failed = failures.get((size, key), [])
        if s:
            note = notes.get((size, key), "")
            if failed:
                note = "; ".join(filter(None, [note, f"{len(failed)} of {len(s) + len(failed)} "
                                               f"samples failed ({failed[0]})"]))
            report["rows"].append({"workload": "compile", "size": size, "contestant": key,
                                   "median_s": statistics.median(s), "min_s": min(s),
                                   "reps": len(s), "number": 1, "note": note, "samples": s})
        else:
            reason = errors.get(("import", key)) if size == IMPORT else (
                f"error: every sample failed: {failed[0]}" if failed else None)
            report["skipped"].append({"workload": "compile", "size": size,
                                      "contestant": key, "reason": reason or "no sample"})
