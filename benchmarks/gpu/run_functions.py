"""mode="CUDA" functions on a real GPU: correctness against mode "PY", what crosses
the bus per call, then the issue's benchmarks.

    PYTHONPATH=$SITE:$PWD python3 benchmarks/gpu/run_functions.py [--out DIR] [--quick]

Checks (each a line; exit status 1 on any failure):
- the graphs of tests/codegen/test_cuda_program.py (elementwise, reductions,
  softmax, every product shape, views, host fallbacks) equal mode "PY";
- the batched products of tests/codegen/test_cuda_batched.py (MatMul through
  cuBLAS strided batched gemm: broadcast, transposed, sliced, empty) equal
  np.matmul with no host fallback;
- a float32 MLP training step equals mode "PY" over a few steps, with only the
  two arguments uploaded and the cost downloaded per call after the first;
- return_device=True keeps a loop on the device (no transfers);
- get_value / set_value round trips.
Benchmarks (skipped with --quick):
- elementwise `exp(x) * 2 + 1` on n = 1e8 float32, against a device-to-device
  copy of the same bytes (both read n and write n elements: GB/s side by side);
- an MLP training step (batch 512, 784-1024-1024-10) and a GEMM-bound step
  (4096 x 4096 float32 products), steps per second, against PyTorch when it
  is installed.
Writes functions.json to --out.
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

from symtheano.codegen.cuda.device import DeviceArray  # noqa: E402
from symtheano.codegen.cuda.driver import default_runtime  # noqa: E402

import symtheano as th  # noqa: E402
import symtheano.tensor as T  # noqa: E402
from symtheano.compile.mode import Mode  # noqa: E402


def _close(got, want, rtol):
    got = got if isinstance(got, list) else [got]
    want = want if isinstance(want, list) else [want]
    return all(g.shape == w.shape and g.dtype == w.dtype
               and np.allclose(g, w, rtol=rtol, atol=rtol, equal_nan=True)
               for g, w in zip(got, want))


def check_indexing_graphs(mode, report):
    """The indexing, log-sum-exp and assembled nodes of test_cuda_program.py, with
    repeated and negative indices (scatter-add sums in float64: rtol 1e-9)."""
    from tests.codegen.test_cuda_program import _indexing_graphs

    inputs, graphs = _indexing_graphs()
    rng = np.random.default_rng(0)
    for name, (outputs, _) in graphs.items():
        py = th.function(inputs, outputs, mode="PY", on_unused_input="ignore")
        cuda = th.function(inputs, outputs, mode=mode, on_unused_input="ignore")
        for n in (4, 300):
            labels = rng.integers(0, n, size=n)
            labels[-2:] = [labels[0], -1]  # a repeated index and a negative one
            args = [rng.normal(size=(n, n)), rng.normal(size=n), labels]
            if name not in ("take", "scatter"):
                args[2] = labels % 4  # one-hot has 4 classes
            ok = _close(cuda(*args), py(*args), 1e-9)
            report["checks"].append({"graph": name, "shape": (n, n), "ok": ok,
                                     "kinds": cuda.program.kind_counts()})
            print("ok  " if ok else "FAIL", name, (n, n), cuda.program.kind_counts(), flush=True)


def check_graphs(mode, report):
    from tests.codegen.test_cuda_program import _graphs

    inputs, graphs = _graphs()
    rng = np.random.default_rng(0)
    for name, outputs in graphs.items():
        py = th.function(inputs, outputs, mode="PY", on_unused_input="ignore")
        cuda = th.function(inputs, outputs, mode=mode, on_unused_input="ignore")
        for shape in ((4, 4), (300, 300)):
            args = [rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape[1])]
            ok = _close(cuda(*args), py(*args), 1e-9)
            report["checks"].append({"graph": name, "shape": shape, "ok": ok,
                                     "kinds": cuda.program.kind_counts()})
            print("ok  " if ok else "FAIL", name, shape, cuda.program.kind_counts(), flush=True)


def check_batched(mode, runtime, report):
    from tests.codegen.test_cuda_batched import CASES

    rng = np.random.default_rng(3)
    for name, (static_a, static_b, shape_a, shape_b, product, reference, _) in CASES.items():
        for dtype, rtol in (("float64", 1e-9), ("float32", 1e-4)):
            a = T.tensor(dtype, shape=static_a, name="a")
            b = T.tensor(dtype, shape=static_b, name="b")
            f = th.function([a, b], product(a, b), mode=mode)
            x = rng.normal(size=shape_a).astype(dtype)
            y = rng.normal(size=shape_b).astype(dtype)
            kinds = f.program.kind_counts()
            ok = "fallback" not in kinds and _close(f(x, y), reference(x, y), rtol)
            report["checks"].append({"graph": f"batched: {name}", "dtype": dtype, "ok": ok,
                                     "kinds": kinds})
            print("ok  " if ok else "FAIL", "batched:", name, dtype, kinds, flush=True)


def check_training(mode, runtime, report):
    from tests.codegen.test_cuda_program import _batch, _mlp

    inputs, cost, updates, params = _mlp()
    start = [p.get_value() for p in params]
    step = th.function(inputs, cost, updates=updates, mode=mode)
    rng = np.random.default_rng(2)
    batches = [_batch(rng) for _ in range(4)]
    costs, transfers = [], []
    for batch in batches:
        before = dict(runtime.counts)
        costs.append(step(*batch))
        transfers.append((runtime.counts["upload"] - before["upload"],
                          runtime.counts["download"] - before["download"]))
    for p, value in zip(params, start):
        p.set_value(value)
    reference = th.function(inputs, cost, updates=updates, mode="PY")
    want = [reference(*batch) for batch in batches]
    ok = np.allclose(costs, want, rtol=1e-4) and all(t == (2, 1) for t in transfers[1:])
    report["checks"].append({"graph": "MLP training step", "ok": bool(ok),
                             "transfers per call": transfers,
                             "kinds": step.program.kind_counts()})
    print("ok  " if ok else "FAIL", "MLP training step", transfers, flush=True)


def check_return_device(mode, runtime, report):
    x = T.fvector("x")
    f = th.function([x], T.tanh(x) * np.float32(0.5) + np.float32(1), mode=mode,
                    return_device=True)
    value = f(np.linspace(-1, 1, 1000, dtype="float32"))
    before = dict(runtime.counts)
    for _ in range(10):
        value = f(value)
    ok = (isinstance(value, DeviceArray) and runtime.counts["upload"] == before["upload"]
          and runtime.counts["download"] == before["download"])
    w = th.shared(np.arange(4.0), name="w")
    g = th.function([], [], updates=[(w, w * 2)], mode=mode)
    g()
    ok = ok and w.get_value().tolist() == [0, 2, 4, 6]
    w.set_value(np.ones(4))
    g()
    ok = ok and w.get_value().tolist() == [2, 2, 2, 2]
    report["checks"].append({"graph": "return_device loop, get/set_value", "ok": bool(ok)})
    print("ok  " if ok else "FAIL", "return_device loop, get/set_value", flush=True)


def _timed(fn, runtime, repeat):
    fn()
    runtime.synchronize()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runtime.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def bench_elementwise(mode, runtime, report):
    n = 10**8
    x = T.fvector("x")
    f = th.function([x], T.exp(x) * np.float32(2) + np.float32(1), mode=mode,
                    return_device=True)
    data = runtime.upload(np.random.default_rng(0).random(n, dtype=np.float32))
    kernel = _timed(lambda: f(data), runtime, 10)
    copy = _timed(lambda: runtime.copy(data), runtime, 10)
    gbs = 2 * 4 * n / 1e9
    row = {"bench": "elementwise exp(x)*2+1, n=1e8 float32", "seconds": kernel,
           "GB/s": gbs / kernel, "copy GB/s": gbs / copy}
    report["benchmarks"].append(row)
    print(row, flush=True)


def _mlp_step(sizes, batch, mode):
    rng = np.random.default_rng(0)
    X, t = T.fmatrix("X"), T.fmatrix("t")
    params, h = [], X
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        W = th.shared((rng.normal(size=(a, b)) / np.sqrt(a)).astype("float32"), name=f"W{k}")
        c = th.shared(np.zeros(b, "float32"), name=f"b{k}")
        params += [W, c]
        h = T.dot(h, W) + c
        if k < len(sizes) - 2:
            h = T.maximum(h, 0)
    cost = T.mean((h - t) ** 2)
    lr = np.float32(0.01)
    step = th.function([X, t], cost, updates=[(p, p - lr * g) for p, g in
                                              zip(params, T.grad(cost, params))], mode=mode,
                       return_device=True)
    Xv = rng.normal(size=(batch, sizes[0])).astype("float32")
    tv = rng.normal(size=(batch, sizes[-1])).astype("float32")
    return step, Xv, tv


def _torch_step(sizes, batch):
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    layers = []
    for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if k < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X = torch.randn(batch, sizes[0], device="cuda")
    t = torch.randn(batch, sizes[-1], device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(X) - t) ** 2).mean()
        loss.backward()
        opt.step()

    def timed(repeat=20):
        step()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeat):
            step()
        torch.cuda.synchronize()
        return (time.perf_counter() - start) / repeat

    return timed


def bench_steps(mode, runtime, report):
    for name, sizes, batch in (("MLP step 784-1024-1024-10, batch 512",
                                (784, 1024, 1024, 10), 512),
                               ("GEMM-bound step 4096-4096-4096, batch 4096",
                                (4096, 4096, 4096), 4096)):
        step, Xv, tv = _mlp_step(sizes, batch, mode)
        X, t = runtime.upload(Xv), runtime.upload(tv)
        step(X, t)
        runtime.synchronize()
        repeat = 20
        start = time.perf_counter()
        for _ in range(repeat):
            step(X, t)
        runtime.synchronize()
        ours = (time.perf_counter() - start) / repeat
        torch_timed = _torch_step(sizes, batch)
        row = {"bench": name, "seconds per step": ours,
               "torch seconds per step": torch_timed() if torch_timed else None,
               "kinds": step.program.kind_counts()}
        report["benchmarks"].append(row)
        print(row, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write functions.json here")
    parser.add_argument("--quick", action="store_true", help="checks only, no benchmarks")
    options = parser.parse_args()
    runtime = default_runtime()
    mode = Mode("cuda", "fast_run", device=runtime)
    report = {"device": str(runtime), "checks": [], "benchmarks": [], "errors": []}
    sections = [check_graphs, check_indexing_graphs, check_batched, check_training,
                check_return_device]
    if not options.quick:
        sections += [bench_elementwise, bench_steps]
    for section in sections:
        try:
            if section in (check_graphs, check_indexing_graphs):
                section(mode, report)
            else:
                section(mode, runtime, report)
        except Exception:
            report["errors"].append(f"{section.__name__}: {traceback.format_exc(limit=4)}")
            print("ERROR", section.__name__, traceback.format_exc(limit=4), flush=True)
    failed = [c for c in report["checks"] if not c["ok"]]
    print(f"{report['device']}: {len(report['checks'])} checks, {len(failed)} failed, "
          f"{len(report['errors'])} errors")
    if options.out:
        path = pathlib.Path(options.out)
        path.mkdir(parents=True, exist_ok=True)
        (path / "functions.json").write_text(json.dumps(report, indent=1, default=str))
    return 1 if failed or report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
