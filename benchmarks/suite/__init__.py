"""symtheano against its peers: the benchmark suite of issue 4.

    python -m benchmarks.suite                  # everything, 1 thread and all cores
    python -m benchmarks.suite --quick          # small sizes, few repetitions
    python -m benchmarks.suite --workload fused --threads 1

Contestants: NumPy eager (hand-written derivatives), numexpr, PyTensor (mode
"CVM", its C back end), JAX (jit, CPU, float64), symtheano mode="C" and
mode="PY" (the NumPy reference back end). A contestant whose library is not
installed, or that cannot run a workload, is skipped with a note.

Each thread setting runs in its own worker process, because the thread pools
of OpenBLAS, OpenMP and XLA are sized when the libraries are imported: the
"1 thread" worker starts with OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=
MKL_NUM_THREADS=1, XLA_FLAGS pinning XLA to one thread, and
numexpr.set_num_threads(1); the "all cores" worker starts without them. Inside
a worker every contestant of a (workload, size) is set up, checked against
NumPy, then timed round-robin: each repetition runs one sample of every
contestant, starting with a different one each time, so machine noise spreads
over all of them. A sample is a batch of calls sized to last about
`target` seconds; the figure reported is the median over repetitions of the
time per call. Ratios are a contestant's time divided by NumPy's in the same
worker: below 1 is faster than NumPy.

Compile and import times (workload "compile") are taken in fresh processes,
in the 1-thread setting only.

Results: a markdown table (printed, and written to benchmarks/results/latest.md),
the same data as JSON (latest.json) and one plot (latest.png).

This package imports only the standard library at module level: it is also the
entry point (`python -m benchmarks.suite`) of the worker and probe processes.

Modules: timing (thread pinning, interleaved timing and medians, subprocess
runs), workloads (the contestants and the four timed workloads), compile_times
(the compile workload), report (machine description, merging, targets,
markdown and plot), runner (the worker and the orchestrating process) and
__main__ (the command line).
"""

from __future__ import annotations

from .compile_times import COLD, IMPORT, IMPORTS, WARM, compile_workload, probe
from .report import (
    evaluate_targets,
    fmt_ratio,
    fmt_time,
    machine,
    merge,
    plot,
    render_markdown,
)
from .runner import RESULTS_DIR, orchestrate, worker
from .timing import (
    ROOT,
    SETUP_LIMIT_S,
    THREAD_VARS,
    XLA_ONE_THREAD,
    SetupTimeout,
    calibrate,
    measure,
    run_probe,
    thread_env,
    threads_setting,
    time_import,
    time_limit,
)
from .workloads import (
    AGREE_TOL,
    CONTESTANTS,
    FUSED,
    LABEL,
    MLP,
    MLP_LR,
    MLP_SHAPE,
    PYTENSOR_MODE,
    TIMED_WORKLOADS,
    WORKLOAD_NAMES,
    Case,
    Fused,
    Latency,
    Rosenbrock,
    Skip,
    Workload,
    as_arrays,
    compare,
    jax_mlp_step,
    mlp_data,
    mlp_numpy_step,
    need,
    pytensor_mlp_step,
    run_case,
    symtheano_mlp_step,
)

__all__ = [
    "AGREE_TOL", "COLD", "CONTESTANTS", "FUSED", "IMPORT", "IMPORTS", "LABEL", "MLP",
    "MLP_LR", "MLP_SHAPE", "PYTENSOR_MODE", "RESULTS_DIR", "ROOT", "SETUP_LIMIT_S",
    "THREAD_VARS", "TIMED_WORKLOADS", "WARM", "WORKLOAD_NAMES", "XLA_ONE_THREAD", "Case",
    "Fused", "Latency", "Rosenbrock", "SetupTimeout", "Skip", "Workload", "as_arrays",
    "calibrate", "compare", "compile_workload", "evaluate_targets", "fmt_ratio", "fmt_time",
    "jax_mlp_step", "machine", "measure", "merge", "mlp_data", "mlp_numpy_step", "need",
    "orchestrate", "plot", "probe", "pytensor_mlp_step", "render_markdown", "run_case",
    "run_probe", "symtheano_mlp_step", "thread_env", "threads_setting", "time_import",
    "time_limit", "worker",
]
