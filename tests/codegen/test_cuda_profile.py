"""Node rows of mode="CUDA" functions compiled with profile=True (codegen/cuda/
profile.py, symtheano/compile/profiling.py), on FakeDevice: every step of the
program has a row of its kind, timed between device markers that only profiled
calls record, with one synchronisation per call; times are non-negative and add
up to at most the calls' time; fallback steps report the bytes they copied; the
Runtime's markers are CUDA events (checked against a stand-in pycuda)."""

from __future__ import annotations

import types

import numpy as np
import pytest
from symtheano.codegen.cuda.device import FakeDevice
from symtheano.codegen.cuda.driver import Runtime

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode

KINDS = {"meta", "host", "view", "blas", "kernel", "assemble", "fallback"}


class CountingDevice(FakeDevice):
    """A FakeDevice counting the markers recorded and the synchronisations."""

    def __init__(self):
        super().__init__()
        self.events = self.syncs = 0

    def event(self):
        self.events += 1
        return super().event()

    def synchronize(self):
        self.syncs += 1


def _function(device, profile=True):
    x, v = T.dmatrix("x"), T.dvector("v")
    outputs = [T.dot(x, x.T),                       # blas (and a view)
               T.exp(x) * 2,                        # kernel
               T.sort(x, axis=1),                   # fallback
               T.join(0, x, x + 1),                 # assemble
               T.alloc(0.0, x.shape[0] * 2, 3) + 1,  # meta, host, assemble
               x[1:].T + v[:3]]                     # views
    return th.function([x, v], outputs, mode=Mode("cuda", "fast_run", device=device),
                       profile=profile)


ARGS = (np.arange(20.0).reshape(4, 5)[:, ::-1], np.arange(5.0))


def test_every_step_has_a_row_of_its_kind():
    device = CountingDevice()
    f = _function(device)
    program = f.program
    assert set(program.kinds) == KINDS, program.kinds
    calls = 3
    for _ in range(calls):
        f(*ARGS)
    rows = f.profile.nodes
    assert [s.node for s in rows] == program.nodes
    assert [s.kind for s in rows] == program.kinds
    assert all(s.calls == calls for s in rows)
    assert all(s.seconds >= 0.0 for s in rows)
    assert 0.0 < f.profile.node_seconds <= f.profile.call_seconds
    assert f.profile.calls == calls
    # One marker before the first step and one after each, one synchronisation, per call.
    assert device.events == calls * (len(program.steps) + 1)
    assert device.syncs == calls
    # The fallback (sort) copies its 4x5 float64 input down and its output up.
    for s in rows:
        want = 2 * 20 * 8 * calls if s.kind == "fallback" else 0
        assert s.copied_bytes == want, (s.kind, s.node)
    text = f.profile.summary(file="str")
    for kind in KINDS:
        assert f"  {kind:<9} " in text
    assert "[copies 320 bytes per call]" in text
    f.profile.reset()
    assert all(s.calls == 0 and s.seconds == 0.0 and s.copied_bytes == 0 for s in rows)


def test_unprofiled_calls_record_nothing_and_results_agree():
    device = CountingDevice()
    plain = _function(device, profile=False)
    got = plain(*ARGS)
    assert plain.profile is None and plain.program.profile_rows is None
    assert device.events == 0 and device.syncs == 0
    want = _function(FakeDevice())(*ARGS)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_a_failing_step_names_its_node_and_the_steps_before_it_are_counted():
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], T.exp(x) + y,
                    mode=Mode("cuda", "fast_run", device=FakeDevice()), profile=True)
    f(np.ones(3), np.ones(3))
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    assert any("while computing" in n for n in info.value.__notes__)
    assert all(s.calls >= 1 for s in f.profile.nodes)
    assert all(s.seconds >= 0.0 for s in f.profile.nodes)


def test_runtime_markers_are_cuda_events():
    """Runtime.event records a pycuda Event on the stream; elapsed converts its
    milliseconds (pycuda's Event.time_till) to seconds. A stand-in drv module."""

    class Event:
        recorded = 0

        def record(self, stream=None):
            Event.recorded += 1
            self.at = Event.recorded * 2.5  # milliseconds

        def time_till(self, other):
            return other.at - self.at

    runtime = Runtime.__new__(Runtime)  # no GPU: only the drv module is used
    runtime.drv = types.SimpleNamespace(Event=Event)
    start, end = runtime.event(), runtime.event()
    assert Event.recorded == 2
    assert runtime.elapsed(start, end) == pytest.approx(2.5e-3)
