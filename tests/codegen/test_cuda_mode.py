"""mode="CUDA" on machines that lack part of CUDA: one clear error naming what is
missing (pycuda, the driver, a GPU, nvcc), whichever way the mode was asked for,
and nothing else affected. Missing pieces are simulated, so these run anywhere."""

from __future__ import annotations

import importlib.abc
import sys
import types

import numpy as np
import pytest
from symtheano.codegen.cuda import availability, build
from symtheano.codegen.cuda.availability import CudaUnavailable

import symtheano as th
import symtheano.tensor as T
from symtheano.configuration import config


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes importing `name` raise `error` (as a driverless machine does)."""

    def __init__(self, name, error):
        self.name, self.error = name, error

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            raise self.error
        return None


def _fake_pycuda(monkeypatch, driver=None):
    """A stand-in pycuda package, with `driver` as pycuda.driver when given."""
    package = types.ModuleType("pycuda")
    package.__path__ = []
    monkeypatch.setitem(sys.modules, "pycuda", package)
    if driver is None:
        monkeypatch.delitem(sys.modules, "pycuda.driver", raising=False)
    else:
        monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
        package.driver = driver


def _fake_driver(count=1, init_error=None):
    driver = types.ModuleType("pycuda.driver")

    def init():
        if init_error is not None:
            raise init_error

    driver.init = init
    driver.Device = types.SimpleNamespace(count=lambda: count)
    return driver


def _function_error(mode="CUDA"):
    x = T.dvector("x")
    with pytest.raises(CudaUnavailable) as info:
        th.function([x], T.exp(x), mode=mode)
    return str(info.value)


def test_no_pycuda(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycuda", None)  # import raises ImportError
    message = _function_error()
    assert "pycuda is not installed" in message and "symtheano[cuda]" in message


@pytest.mark.parametrize("error", [ImportError("libcuda.so.1: cannot open shared object file"),
                                   OSError("libcuda.so.1: cannot open shared object file")])
def test_no_driver(monkeypatch, error):
    _fake_pycuda(monkeypatch)
    monkeypatch.setattr(sys, "meta_path", [_Refuse("pycuda.driver", error), *sys.meta_path])
    message = _function_error()
    assert "CUDA driver could not be loaded" in message and "libcuda" in message
    assert "pycuda is not installed" not in message


def test_no_gpu(monkeypatch):
    _fake_pycuda(monkeypatch, _fake_driver(count=0))
    assert "no CUDA GPU was found" in _function_error()


def test_driver_that_cannot_initialise(monkeypatch):
    _fake_pycuda(monkeypatch, _fake_driver(init_error=RuntimeError("cuInit failed: no device")))
    message = _function_error()
    assert "no CUDA GPU is usable" in message and "cuInit failed" in message


def test_no_nvcc(monkeypatch):
    _fake_pycuda(monkeypatch, _fake_driver(count=1))

    def no_nvcc():
        raise build.NvccUnavailable("nvcc (the CUDA compiler) was not found")

    monkeypatch.setattr(build, "nvcc", no_nvcc)
    assert "nvcc" in _function_error()


@pytest.fixture
def set_config():
    """Set config values within a test; restored afterwards. (Not monkeypatch.setattr:
    config's settings are not instance attributes, and pytest's undo would delete
    what it finds no instance entry for.)"""
    saved = {}

    def set_to(key, value):
        saved.setdefault(key, getattr(config, key))
        setattr(config, key, value)

    yield set_to
    for key, value in saved.items():
        setattr(config, key, value)


def test_device_flag_asks_for_cuda(monkeypatch, set_config):
    monkeypatch.setitem(sys.modules, "pycuda", None)
    set_config("device", "cuda")
    assert "pycuda is not installed" in _function_error(mode=None)
    # an explicit mode still wins over the device flag
    x = T.dvector("x")
    f = th.function([x], T.exp(x), mode="PY")
    np.testing.assert_allclose(f(np.zeros(2)), [1.0, 1.0])


def test_config_mode_cuda(monkeypatch, set_config):
    monkeypatch.setitem(sys.modules, "pycuda", None)
    set_config("mode", "CUDA")
    assert "pycuda is not installed" in _function_error(mode=None)


def test_everything_present_gives_the_cuda_linker(monkeypatch):
    _fake_pycuda(monkeypatch, _fake_driver(count=1))
    monkeypatch.setattr(build, "nvcc", lambda: ("/usr/bin/nvcc", "Cuda compilation tools"))
    assert availability.missing() is None
    from symtheano.compile.mode import get_mode

    assert get_mode("CUDA").linker == "cuda"  # runs on the GPU (tests: test_cuda_program.py)


def test_other_modes_unaffected(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycuda", None)
    x = T.dvector("x")
    for mode in ("PY", "C", "FAST_RUN", "FAST_COMPILE"):
        np.testing.assert_allclose(th.function([x], T.exp(x), mode=mode)(np.zeros(1)), [1.0])
