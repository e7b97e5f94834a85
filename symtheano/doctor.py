"""`python -m symtheano doctor`: is this machine ready to compile and run graphs?

Each check is a small function returning a `Check` (a name, a status and one
line of detail): "ok", "warn" (works, but slower or without a feature: no
OpenMP, no vector math, an unusable cache that makes every build private),
"info" (an optional part that is absent, such as CUDA) or "fail" (something
essential is missing: with no C compiler, every function runs on the NumPy
reference back end). `run_checks` runs them all; the command exits with status
1 when any check failed.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import NamedTuple


class Check(NamedTuple):
    name: str
    status: str  # "ok", "warn", "info" or "fail"
    detail: str


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # unreachable


def check_versions():
    import numpy

    from symtheano import __version__

    return Check("versions", "info", f"symtheano {__version__}, Python "
                 f"{sys.version.split()[0]}, NumPy {numpy.__version__}")


def check_compiler():
    from symtheano.codegen.c import build

    try:
        path, version = build.compiler()
    except build.CompilerUnavailable as exc:
        return Check("C compiler", "fail", f"{exc}: functions run on the NumPy reference back "
                     "end only; install gcc or clang (or set CC)")
    return Check("C compiler", "ok", f"{path}: {version}")


def check_runner():
    from symtheano.codegen.c import vm

    if vm.bundled() is not None:
        return Check("program runner", "ok", "the extension built at install time")
    try:
        vm.module()
    except vm.RunnerUnavailable as exc:
        return Check("program runner", "warn", f"{exc}; compiled functions run node by node "
                     "from Python (slower calls)")
    return Check("program runner", "ok", "built through the compile cache (reinstalling "
                 "the package bundles it)")


def check_blas():
    from symtheano.codegen.c import blas

    try:
        info = blas.openblas()
    except blas.BlasUnavailable as exc:
        return Check("BLAS", "warn", f"{exc}; products run on NumPy's reference")
    return Check("BLAS", "ok", f"scipy-openblas32 {info['version']} loads from {info['path']} "
                 f"(symbol prefix {info['prefix']!r}, {blas.get_num_threads()} thread(s))")


def check_openmp():
    from symtheano.codegen.c import build

    try:
        build.compiler()
    except build.CompilerUnavailable:
        return Check("OpenMP", "info", "not probed: no C compiler")
    if not build.features().openmp:
        return Check("OpenMP", "warn", "the compiler cannot build and run an OpenMP program "
                     "(libgomp missing?); kernels run on one thread")
    return Check("OpenMP", "ok", f"large kernels run on {build.openmp_threads()} thread(s) "
                 "(config.openmp_threads, OMP_NUM_THREADS)")


def check_vector_math():
    from symtheano.codegen.c import build

    try:
        build.compiler()
    except build.CompilerUnavailable:
        return Check("vector math", "info", "not probed: no C compiler")
    features = build.features()
    if not features.vector:
        return Check("vector math", "info", "no AVX2 + libmvec here: transcendental functions "
                     "run in scalar loops (same results, slower)")
    names = ", ".join(sorted(features.mvec))
    return Check("vector math", "ok", f"AVX2 + glibc libmvec, chosen at run time when the CPU "
                 f"has AVX2 and FMA ({names})")


def check_cuda():
    from symtheano.codegen.cuda.availability import missing

    problem = missing()
    if problem is not None:
        return Check("CUDA", "info", f"not available: {problem}")
    return Check("CUDA", "ok", "pycuda, the driver, a GPU and nvcc are all there")


def check_cache(verify=True):
    """The compile cache's folder: where, owner and permissions, entries, size, and
    (with `verify`) how many entries fail their checksums."""
    from symtheano.codegen.cache import default_cache
    from symtheano.codegen.cache_entries import Bad, verify_entry

    cache = default_cache()
    root = cache.root
    if not os.path.lexists(root):
        return Check("compile cache", "ok", f"{root} does not exist yet (created private, "
                     "0700, by the first compile)")
    problem = cache.problem()
    st = os.lstat(root)
    mode = stat.S_IMODE(st.st_mode)
    facts = [f"mode {mode:04o}", f"owner uid {st.st_uid}"
             + (" (you)" if st.st_uid == os.getuid() else " (NOT you)")]
    writable = os.access(root, os.W_OK | os.X_OK)
    facts.append("writable" if writable else "NOT writable")
    info = cache.info()
    cap = "no cap" if info.max_bytes is None else f"cap {_size(info.max_bytes)}"
    facts.append(f"{info.entries} entries, {_size(info.total_bytes)} ({cap})")
    corrupt = 0
    if verify:
        for entry in cache.entries():
            try:
                verify_entry(entry.path, entry.key, ())
            except Bad as bad:
                corrupt += bad.state != "missing"  # "missing": pruned meanwhile
            except OSError:
                corrupt += 1
        facts.append(f"{corrupt} corrupt (rebuilt on next use)")
    if info.quarantined:
        facts.append(f"{info.quarantined} quarantined ({_size(info.quarantined_bytes)}; "
                     "`python -m symtheano cache prune` removes them)")
    detail = f"{root}: " + ", ".join(facts)
    if problem is not None:
        return Check("compile cache", "warn", f"{detail}; NOT USED: {problem} (every build "
                     "goes to a private temporary folder)")
    if mode & 0o077 or not writable or corrupt:
        return Check("compile cache", "warn", detail)
    return Check("compile cache", "ok", detail)


CHECKS = (check_versions, check_compiler, check_runner, check_blas, check_openmp,
          check_vector_math, check_cuda, check_cache)


def run_checks(verify_cache=True):
    """Every check, in order; a check that crashes is reported as failed."""
    results = []
    for check in CHECKS:
        try:
            result = check(verify_cache) if check is check_cache else check()
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a finding
            name = check.__name__.removeprefix("check_").replace("_", " ")
            result = Check(name, "fail", f"the check itself failed: {type(exc).__name__}: {exc}")
        results.append(result)
    return results


def report(results, file=None):
    """Print the checks as a table; returns the exit status (1 if any failed)."""
    out = file or sys.stdout
    width = max(len(r.name) for r in results)
    for r in results:
        out.write(f"[{r.status:^4}] {r.name:<{width}}  {r.detail}\n")
    failed = [r.name for r in results if r.status == "fail"]
    if failed:
        out.write(f"\n{len(failed)} essential check(s) failed: {', '.join(failed)}\n")
        return 1
    out.write("\neverything essential is there\n")
    return 0
