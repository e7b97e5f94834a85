"""The benchmark suite runs: every workload at its smallest size, symtheano against
NumPy only, results compared (nothing here is timed; benchmarks/suite reports
the figures)."""

from __future__ import annotations

import pytest

from benchmarks import suite


def _c_compiler_missing():
    try:
        from symtheano.codegen.c import build

        build.compiler()
    except Exception as exc:  # no compiler, or no C back end in this checkout
        return f"mode='C' unavailable: {exc}"
    return None


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_each_workload_at_its_smallest_size_agrees_with_numpy(mode, tmp_path, monkeypatch):
    if mode == "C" and _c_compiler_missing():
        pytest.skip(_c_compiler_missing())
    monkeypatch.setenv("SYMTHEANO_CACHE_DIR", str(tmp_path / "cache"))
    for workload in suite.TIMED_WORKLOADS:
        size = workload.sizes[0]
        data = workload.data(size)
        ref = suite.run_case(workload, "numpy", data)
        got = suite.run_case(workload, f"symtheano-{mode}", data)
        check = suite.compare(ref.result, got.result)
        label = f"{workload.name} {workload.size_label(size)} mode={mode}"
        assert check["rel_err"] <= workload.tol, (label, check)
        assert check["nonfinite_match"], (label, check)
        if workload.name == "fused":  # the data has NaN, +inf and -inf in it
            assert check["n_nonfinite"] == 2, (label, check)
        # one timed call works (the suite's timing loop calls fn(*args) repeatedly)
        got.fn(*got.args)

    # The compile workload: the training step built, compiled and called once in a
    # fresh process (sharing the cache filled above, so nothing compiles twice); its
    # loss is NumPy's.
    cache = str(tmp_path / "cache")
    out = suite.run_probe("symtheano", mode, cache, {"SYMTHEANO_CACHE_DIR": cache})
    d = suite.mlp_data()
    want = suite.mlp_numpy_step(d["w1"].copy(), d["w2"].copy(), d["x"], d["y"])
    assert abs(out["loss"] - want) <= suite.AGREE_TOL * abs(want)
    assert out["seconds"] > 0


# The derivative benchmark of issue 5 (benchmarks/suite/derivatives.py) at tiny sizes:
# its structure and its checks (cost, gradient, cost + gradient and the Hessians against
# NumPy, central differences and each other), not its timings.
TINY = {"rosenbrock": (10,), "logistic": ((40, 5),), "mlp": ((4, 6, 5, 3),), "hessian": (30,)}


@pytest.mark.parametrize("mode", ["PY", "C"])
def test_derivative_benchmark_at_tiny_sizes(mode):
    if mode == "C" and _c_compiler_missing():
        pytest.skip(_c_compiler_missing())
    from benchmarks.suite import derivatives

    report = derivatives.run(mode=mode, sizes=TINY, reps=(2, 1), target=1e-4, with_jax=False,
                             log=lambda msg: None)
    assert not report["errors"], report["errors"]
    assert [g["workload"] for g in report["gradient"]] == ["rosenbrock", "logistic", "mlp"]
    for g in report["gradient"]:
        assert g["checks_ok"], (g["workload"], g["checks"])
        assert g["checks"]["grad_vs_central_difference"] <= derivatives.FD_TOL
        assert set(g["rows"]) == set(derivatives.CASES)
        for row in g["rows"].values():
            assert row["reps"] == 2 == len(row["samples"]) and row["median_s"] > 0
        rows = g["rows"]
        assert g["ratio_grad"] == rows["grad"]["median_s"] / rows["cost"]["median_s"]
        assert g["ratio_cost_grad"] == rows["cost+grad"]["median_s"] / rows["cost"]["median_s"]
    (h,) = report["hessian"]
    assert h["checks_ok"], h["checks"]
    assert h["colours"] == 3  # tridiagonal: a star colouring with 3 colours
    assert h["checks"]["nnz"] == 3 * 30 - 2 and h["checks"]["sparse_vs_dense"] <= 1e-12
    assert set(h["rows"]) == {"sparse", "dense"}
    assert h["speedup"] == h["rows"]["dense"]["median_s"] / h["rows"]["sparse"]["median_s"]
    verdicts = {t["target"]: t["verdict"] for t in report["targets"]}
    assert len(verdicts) == 2 * 3 + 2
    assert verdicts["sparse Hessian n=30: at most a handful (<= 5) of sweeps"] == "met"
    assert verdicts["sparse Hessian n=30: >= 100x faster than the dense one"].startswith("n/a")
    md = derivatives.render_markdown(report)
    assert "| rosenbrock | n=1e1 |" in md and "| 30 | 3 |" in md and "FAILED" not in md


def test_derivative_benchmark_checks_catch_a_wrong_gradient():
    import symtheano as th
    import symtheano.tensor as T
    from benchmarks.suite import derivatives

    w = derivatives.Rosenbrock()
    d = w.data(10)
    inputs, wrt, cost = w.graph(T)
    g = T.grad(cost, wrt)
    fns = {"cost": th.function(inputs, cost, mode="PY"),
           "grad": th.function(inputs, g, mode="PY"),
           "cost+grad": th.function(inputs, [cost, *g], mode="PY")}
    assert derivatives.gradient_ok(derivatives.check_gradient(w, d, fns, ["x"]))
    # A gradient off by 1e-6 (relative) fails the NumPy check; one whose cost + gradient
    # disagrees with the separate functions fails that check.
    good = fns["grad"]
    fns["grad"] = lambda x: [v * (1 + 1e-6) for v in good(x)]
    checks = derivatives.check_gradient(w, d, fns, ["x"])
    assert not derivatives.gradient_ok(checks) and checks["grad_vs_numpy"] > 1e-7
    fns["grad"] = good
    both = fns["cost+grad"]
    fns["cost+grad"] = lambda x: [both(x)[0] * 2, *both(x)[1:]]
    checks = derivatives.check_gradient(w, d, fns, ["x"])
    assert not derivatives.gradient_ok(checks) and checks["cost+grad_vs_separate"] > 0.5
