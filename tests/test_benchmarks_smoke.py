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
