"""What user-chosen text can do to generated code and to the cache (SECURITY.md).

- Names (of inputs, intermediates and functions) fuzzed with C syntax never change a
  byte of the generated sources or of the entries' parameters.
- Dtype strings, constants and op parameters carrying C syntax are refused when the
  graph is built (a stable TypeError/ValueError), so they never reach a renderer;
  extreme numeric constants are rendered as exact literals.
- A cache directory or a parent writable by others, or owned by another user, is
  refused (the whole matrix of test_cache.py, here through a real compile).
- Nothing is unpickled from the cache (test_cache_faults.py checks the modules).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from symtheano.codegen.c import build
from symtheano.codegen.c.linker import load_emitters, native_entry

import symtheano as th
import symtheano.tensor as T
from symtheano.compile.mode import Mode

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
C_SYNTAX = ['*/', '/*', '//', '"', "'", "\\", "\n", "#include <stdio.h>", "#define x 1",
            "}", "{", ";", "int main(){}", "??/", "%s%n", "\0", "__attribute__((constructor))",
            "x", "st_apply", "i0", "double", "return", "$", "`rm -rf /`", "\u202e", "é"]
c_text = st.lists(st.sampled_from(C_SYNTAX), min_size=1, max_size=6).map("".join)


def graph_builders():
    """Graphs covering every emitter family: (builder of outputs from inputs, input types)."""
    return [
        (lambda x, y: [T.exp(x) * y + 1, T.sum(x * y, axis=0)], ("float64", (None, None))),
        (lambda x, y: [T.argmax(x, axis=1), T.max(y), T.dot(x, y.T)], ("float64", (None, None))),
        (lambda x, y: [x[::-1, 1:] + y[0, 1:], T.reshape(x, (-1,)) * 2],
         ("float64", (None, None))),
        (lambda x, y: [T.nnet.softmax(x) + y, T.switch(x > y, x, y)], ("float32", (None, None))),
    ]


def sources(builder, itype, names):
    """Every library source, symbol and parameter the C back end would use for the
    rewritten graph, recorded without compiling anything (build.sources_only)."""
    dtype, shape = itype
    x = T.TensorType(dtype, shape)(names[0])
    y = T.TensorType(dtype, shape)(names[1])
    outputs = builder(x, y)
    for k, out in enumerate(outputs):
        out.name = names[2 + k % (len(names) - 2)]
    f = th.function([x, y], outputs, mode=Mode("py", "fast_run"), name=names[-1])
    load_emitters()
    recorded = []

    def record(source, symbol, extra_args, description):
        recorded.append((source, symbol, extra_args))
        return len(recorded)

    with build.sources_only(record):
        params = [native_entry(node) for node in f.fgraph.toposort()]
    return recorded, params


PLAIN = ["a", "b", "c", "d", "f"]
BASELINES = {}


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(c_text, min_size=5, max_size=5), st.integers(0, len(graph_builders()) - 1))
def test_names_with_c_syntax_never_change_generated_code(names, which):
    builder, itype = graph_builders()[which]
    if which not in BASELINES:
        BASELINES[which] = sources(builder, itype, PLAIN)
    recorded, params = sources(builder, itype, names)
    assert recorded == BASELINES[which][0] and params == BASELINES[which][1]
    assert recorded, "no native entry was recorded"


CANONICAL = {"float64", "float32", "int64", "int32", "int16", "int8", "uint64", "uint32",
             "uint16", "uint8", "bool", "complex64", "complex128"}


@given(c_text)
@settings(max_examples=100, deadline=None, database=None)
def test_dtype_strings_with_c_syntax_are_refused_or_canonical(text):
    """A dtype string is refused unless NumPy reads it as a dtype symtheano knows, and
    then only its canonical name is kept ("double" is float64)."""
    for dtype in (text, "float64" + text, text + "int32"):
        try:
            ttype = T.TensorType(dtype, (None,))
        except TypeError:
            pass
        else:
            assert ttype.dtype in CANONICAL
        try:
            out = T.cast(T.dvector(), dtype)
        except (TypeError, ValueError):
            pass
        else:
            assert out.dtype in CANONICAL


@given(c_text)
@settings(max_examples=60, deadline=None, database=None)
def test_op_parameters_with_c_syntax_are_refused(text):
    """(dimshuffle's pattern gets a "?" appended: "x" alone is its broadcast marker)"""
    x = T.dmatrix("x")
    attempts = [lambda: T.sum(x, axis=text), lambda: T.argmax(x, axis=text),
                lambda: x.dimshuffle(text + "?", 0), lambda: T.reshape(x, (text, -1)),
                lambda: x[text], lambda: x[0:text], lambda: T.alloc(0.0, text),
                lambda: T.constant(text), lambda: T.as_tensor_variable([text]),
                lambda: x * text]
    for attempt in attempts:
        with pytest.raises((TypeError, ValueError, IndexError)):
            attempt()


EXTREME = [np.nan, np.inf, -np.inf, -0.0, 5e-324, 2.2250738585072014e-308,
           1.7976931348623157e308, 0.1, 1 / 3, -2.5e-310]


@pytest.mark.parametrize("constant", EXTREME, ids=repr)
def test_extreme_constants_are_exact_literals(constant):
    """Constants are inlined into kernels: they must come out as the very same double
    (the suite's shared cache holds one small library per constant)."""
    x = T.dvector("x")
    f = th.function([x], [x * 0 + constant, T.maximum(x, constant)], mode="C")
    values = np.array([-1.0, 0.0, 2.0])
    got = f(values)
    with np.errstate(invalid="ignore"):
        want = [values * 0 + constant, np.maximum(values, constant)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    # the sign of a zero too, maximum's choice between +0.0 and -0.0 included
    for g, w in zip(got, want):
        assert np.array_equal(np.signbit(g), np.signbit(w))


@pytest.mark.parametrize("constant", [np.int64(-(2**63)), np.int64(2**63 - 1), np.uint64(2**64 - 1),
                                      np.int8(-128), np.int32(-(2**31))], ids=repr)
def test_extreme_integer_constants(constant):
    x = T.vector("x", dtype=np.asarray(constant).dtype.name)
    f = th.function([x], [x + constant, T.maximum(x, constant)], mode="C")
    values = np.array([0, 1], dtype=x.dtype)
    got = f(values)
    with np.errstate(over="ignore"):
        want = [values + constant, np.maximum(values, constant)]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# -- untrusted cache directories, through a real compile ------------------------------------

SCRIPT = textwrap.dedent("""
    import numpy as np, symtheano as th, symtheano.tensor as T
    x = T.dvector("x")
    f = th.function([x], T.exp(x * {c}) - 1)
    assert np.allclose(f(np.ones(3)), np.exp({c}) - 1)
""")


def compile_in(cache_dir, prelude=""):
    c = 4 + np.random.default_rng().random()
    out = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c",
                          prelude + SCRIPT.format(c=c)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "SYMTHEANO_CACHE_DIR": str(cache_dir)})
    assert out.returncode == 0, out.stderr[-3000:]
    return [line for line in out.stderr.splitlines() if "CacheWarning" in line]


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership and modes")
@pytest.mark.parametrize("case", ["cache writable by others", "cache writable by group",
                                  "parent writable by all", "cache owned by another user",
                                  "entries owned by another user",
                                  "parent owned by another user"])
def test_untrusted_cache_directories_are_refused(tmp_path, case):
    parent = tmp_path / "parent"
    cache_dir = parent / "cache"
    parent.mkdir()
    compile_in(cache_dir)  # a healthy cache first
    prelude = ""
    if case == "cache writable by others":
        os.chmod(cache_dir, 0o707)
    elif case == "cache writable by group":
        os.chmod(cache_dir, 0o770)
    elif case == "parent writable by all":
        os.chmod(parent, 0o777)
    elif case == "parent owned by another user":
        if not IS_ROOT:  # tests/codegen/test_cache_parents.py pretends, with os.stat patched
            pytest.skip("needs root to give a directory to another user")
        os.chown(parent, 12345, 12345)
    else:
        target = cache_dir if case == "cache owned by another user" else cache_dir / "entries"
        if IS_ROOT:
            os.chown(target, 4242, 4242)
        elif case == "cache owned by another user":
            # not root: this process cannot give the directory away, so it pretends to be
            # someone else instead
            prelude = f"import os\nos.geteuid = lambda: {os.geteuid() + 4242}\n"
        else:
            pytest.skip("needs root to give a directory to another user")
    warnings = compile_in(cache_dir, prelude)
    assert len(warnings) == 1, warnings
    assert "private temporary directory" in warnings[0]
    assert any(word in warnings[0] for word in ("writable", "owned by")), warnings[0]
    if case == "parent owned by another user":  # the folder, its owner and this user
        assert (f"{parent}, a parent of {cache_dir}, is owned by uid 12345, not by this user "
                f"(uid {os.geteuid()}) or root") in warnings[0], warnings[0]
