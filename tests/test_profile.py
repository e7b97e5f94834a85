"""function(..., profile=True): per-node calls and times, compile time, call path."""

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import get_mode


def _modes():
    modes = ["PY"]
    if get_mode("C").linker == "c":
        modes.append("C")
    return modes


def _train(mode, profile):
    X, y = T.dmatrix("X"), T.dvector("y")
    w = th.shared(np.zeros(4), name="w")
    cost = T.mean((T.tanh(T.dot(X, w)) - y) ** 2)
    return th.function([X, y], cost, updates=[(w, w - 0.1 * T.grad(cost, w))], mode=mode,
                       profile=profile, name="train"), w


@pytest.mark.parametrize("mode", _modes())
def test_profiled_function_counts_every_node_and_matches_the_plain_one(mode):
    f, w = _train(mode, profile=True)
    g, v = _train(mode, profile=False)
    assert g.profile is None
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.normal(size=50)
    for _ in range(3):
        np.testing.assert_array_equal(f(X, y), g(X, y))
    np.testing.assert_array_equal(w.get_value(), v.get_value())
    p = f.profile
    assert p.calls == 3 and p.call_seconds > 0
    assert len(p.nodes) == len(f.fgraph.apply_nodes)
    assert all(s.calls == 3 and s.seconds > 0 for s in p.nodes)
    assert 0 < p.node_seconds <= p.call_seconds
    assert p.rewrite_seconds > 0 and p.link_seconds > 0
    if mode == "C":
        assert {s.kind for s in p.nodes} <= {"native", "compiled", "reference"}
        assert any(s.kind == "native" for s in p.nodes)


def test_summary_is_a_table_of_nodes_with_compile_and_call_path():
    f, _ = _train(_modes()[-1], profile=True)
    f(np.ones((5, 4)), np.ones(5))
    text = f.profile.summary(file="str")
    for part in ("Profile of train: 1 call(s)", "compile", "rewrite", "link", "in nodes",
                 "call path", "us/call", "time %"):
        assert part in text
    assert text.count("\n") >= 7 + len(f.profile.nodes)
    f.profile.reset()
    assert f.profile.calls == 0 and all(s.calls == 0 for s in f.profile.nodes)


@pytest.mark.parametrize("mode", _modes())
def test_errors_in_a_profiled_function_still_name_the_node(mode):
    f, _ = _train(mode, profile=True)
    with pytest.raises(ValueError) as info:
        f(np.ones((5, 3)), np.ones(5))
    assert any("while computing" in n for n in info.value.__notes__)


def test_a_profiled_cuda_program_keeps_its_device_path():
    """mode="CUDA" programs (here on the host-emulated device) are profiled step by
    step; the device path (inputs uploaded once, updates on the device) is kept
    (tests/codegen/test_cuda_profile.py checks the rows)."""
    from symtheano.codegen.cuda.device import FakeDevice

    from symtheano.compile.mode import Mode

    x = T.dvector("x")
    w = th.shared(np.ones(3), name="w")
    device = FakeDevice()
    f = th.function([x], T.sum(T.exp(x) * w), mode=Mode("cuda", "fast_run", device=device),
                    profile=True, updates=[(w, w * 2)])
    v = np.arange(3.0)
    assert np.isclose(f(v), np.exp(v).sum())
    assert np.isclose(f(v), 2 * np.exp(v).sum())
    np.testing.assert_array_equal(w.get_value(), [4.0, 4.0, 4.0])
    assert f.profile.calls == 2
    assert [s.node for s in f.profile.nodes] == f.program.nodes
    assert all(s.calls == 2 for s in f.profile.nodes)
