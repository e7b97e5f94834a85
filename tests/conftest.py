"""Test-session settings: one compile cache shared by every test and every
xdist worker of a run (the cache is safe under concurrent use), kept out of
the user's own cache directory."""

import os
import pathlib
import tempfile


def _test_cache_dir():
    """The checkout's .test-compile-cache, unless the cache would refuse it: a checkout
    owned by another user (CI containers often run as root in one) or writable by a
    group. Then a folder of this user's own in the temporary directory."""
    from symtheano.codegen.locks import parents_problem

    cache = pathlib.Path(__file__).resolve().parent.parent / ".test-compile-cache"
    if parents_problem(cache) is None:
        return cache
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    return pathlib.Path(tempfile.gettempdir()) / f"symtheano-test-cache-{uid}"


if "SYMTHEANO_CACHE_DIR" not in os.environ:
    os.environ["SYMTHEANO_CACHE_DIR"] = str(_test_cache_dir())


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="run tests marked slow (also: SYMTHEANO_RUN_SLOW=1)")


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` (hours of CPU or many GiB of memory) run only when asked."""
    if config.getoption("--runslow") or os.environ.get("SYMTHEANO_RUN_SLOW", "") == "1":
        return
    import pytest

    skip = pytest.mark.skip(reason="slow: run with --runslow or SYMTHEANO_RUN_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
