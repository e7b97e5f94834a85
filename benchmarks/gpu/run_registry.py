"""The CUDA back end against the NumPy reference, on a GPU: every node of every op
registry case's graph (rewritten, so fused kernels are included) that has a CUDA
kernel, or is assembled from copies and elementwise kernels (Alloc, Join,
IncSubtensor: codegen/cuda/assemble.py), is computed on the device from the
reference's own inputs and compared with the node's `perform`; then cuBLAS
gemm/gemv/batched gemm against NumPy.

    PYTHONPATH=$SITE:$PWD python3 benchmarks/gpu/run_registry.py [--out DIR]

Prints one line per mismatch and a summary; exits 1 on any mismatch or error.
Tolerances: CUDA's libm is not glibc (1-2 ulp on exp, log, sin, ...; more
through special functions' cancellations), so floats are compared with rtol
1e-9 (float64) and 1e-4 (float32); NaN and infinity positions must match;
integers and bools exactly.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import traceback

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from symtheano.codegen.cuda import assemble  # noqa: E402
from symtheano.codegen.cuda.cublas import Cublas  # noqa: E402
from symtheano.codegen.cuda.driver import Runtime  # noqa: E402
from symtheano.codegen.cuda.kernels import kernel_for  # noqa: E402

import symtheano as th  # noqa: E402
from symtheano.compile.mode import Mode  # noqa: E402
from symtheano.graph.basic import Constant  # noqa: E402
from tests.tensor.registry import collect_cases  # noqa: E402
from tests.tensor.test_registry import _symbolic_inputs  # noqa: E402


def _mismatch(got, want):
    """None when got matches want, else a short description."""
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"dtype/shape {got.dtype}{got.shape} != {want.dtype}{want.shape}"
    if want.dtype.kind == "f":
        if not np.array_equal(np.isnan(got), np.isnan(want)):
            return "NaN positions differ"
        if not np.array_equal(np.isinf(got) * np.sign(got), np.isinf(want) * np.sign(want)):
            return "infinities differ"
        finite = np.isfinite(want)
        rtol = 1e-9 if want.dtype == np.float64 else 1e-4
        if not np.allclose(got[finite], want[finite], rtol=rtol, atol=rtol * 1e-3):
            err = np.max(np.abs(got[finite] - want[finite]) / (np.abs(want[finite]) + 1e-300))
            return f"max relative error {err:.3g}"
        return None
    return None if np.array_equal(got, want) else "values differ"


def check_registry(runtime, report):
    for case in collect_cases():
        for k, sample in enumerate(case.samples(np.random.default_rng(4321))[:2]):
            inputs = _symbolic_inputs(case, sample)
            outputs = case.build(*inputs)
            outputs = list(outputs) if isinstance(outputs, list | tuple) else [outputs]
            f = th.function(inputs, outputs, mode=Mode("py", "fast_run"),
                            on_unused_input="ignore")
            values = dict(zip(f.fgraph.inputs, sample))
            for node in f.fgraph.toposort():
                args = [v.data if isinstance(v, Constant) else values[v] for v in node.inputs]
                storage = [[None] for _ in node.outputs]
                with np.errstate(all="ignore"):
                    node.op.perform(node, [np.asarray(a) for a in args], storage)
                for out, cell in zip(node.outputs, storage):
                    values[out] = np.asarray(cell[0])
                if kernel_for(node) is None and not assemble.covers(node):
                    continue
                label = f"{case.name} sample {k}: {node.op}"
                report["nodes"] += 1
                try:
                    device = [runtime.to_device(np.asarray(a)) for a in args]
                    got = runtime.run(node, device)
                    for out, g in zip(node.outputs, got):
                        problem = _mismatch(g.get(), values[out])
                        if problem:
                            report["mismatches"].append(f"{label}: {problem}")
                            print("MISMATCH", label, problem, flush=True)
                except Exception:
                    report["errors"].append(f"{label}: {traceback.format_exc(limit=3)}")
                    print("ERROR", label, traceback.format_exc(limit=3), flush=True)


def check_cublas(runtime, report):
    blas = Cublas(lambda a: runtime.to_device(a.get()))
    rng = np.random.default_rng(0)
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-4)):
        a = rng.normal(size=(65, 33)).astype(dtype)
        b = rng.normal(size=(33, 17)).astype(dtype)
        x = rng.normal(size=33).astype(dtype)
        checks = []
        c = runtime.empty((65, 17), dtype)
        checks.append(("gemm", blas.gemm(runtime.to_device(a), runtime.to_device(b), c).get(),
                       a @ b))
        y = runtime.empty((65,), dtype)
        checks.append(("gemv", blas.gemv(runtime.to_device(a), runtime.to_device(x), y).get(),
                       a @ x))
        a3 = rng.normal(size=(4, 9, 5)).astype(dtype)
        b3 = rng.normal(size=(4, 5, 3)).astype(dtype)
        c3 = runtime.empty((4, 9, 3), dtype)
        checks.append(("gemm_batched", blas.gemm_batched(runtime.to_device(a3),
                                                         runtime.to_device(b3), c3).get(),
                       a3 @ b3))
        for name, got, want in checks:
            report["nodes"] += 1
            if not np.allclose(got, want, rtol=rtol, atol=rtol):
                report["mismatches"].append(f"cuBLAS {name} {dtype}")
                print("MISMATCH cuBLAS", name, dtype, flush=True)
    blas.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write report.json here")
    options = parser.parse_args()
    start = time.time()
    runtime = Runtime()
    report = {"device": runtime.device.name(), "arch": runtime.arch, "nodes": 0,
              "mismatches": [], "errors": []}
    try:
        check_registry(runtime, report)
        check_cublas(runtime, report)
    finally:
        runtime.close()
    report["seconds"] = round(time.time() - start, 1)
    print(f"{report['device']} (sm_{report['arch']}): {report['nodes']} checks, "
          f"{len(report['mismatches'])} mismatches, {len(report['errors'])} errors, "
          f"{report['seconds']} s")
    if options.out:
        path = pathlib.Path(options.out)
        path.mkdir(parents=True, exist_ok=True)
        (path / "report.json").write_text(json.dumps(report, indent=1))
    return 1 if report["mismatches"] or report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
