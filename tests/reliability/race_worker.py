"""The worker of test_cache_faults' 32-process races, in a module of its own so that a
spawned process imports only NumPy and symtheano (not pytest and the test module)."""

from __future__ import annotations

import os

import numpy as np


def race(cache_dir, constant, barrier, results):
    """Compile exp(x * constant) + constant once everyone is ready; report (pid,
    whether the values are right, how many libraries this process compiled)."""
    os.environ["SYMTHEANO_CACHE_DIR"] = str(cache_dir)
    from symtheano.codegen.c import build

    import symtheano as th
    import symtheano.tensor as T

    x = T.dvector("x")
    value = np.linspace(-1, 1, 5)
    barrier.wait(timeout=120)
    before = build.libraries_built()
    f = th.function([x], T.exp(x * constant) + constant)
    ok = np.allclose(f(value), np.exp(value * constant) + constant, rtol=1e-13)
    results.put((os.getpid(), bool(ok), build.libraries_built() - before))
