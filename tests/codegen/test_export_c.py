"""Standalone C export (codegen/c/export.py, Function.export_c): the written files
build with the plain C compiler and no Python headers, and the example program
(name_main.c) prints what the Python function returns for the same inputs."""

import pathlib
import re
import subprocess

import numpy as np
import pytest
from symtheano.codegen.c import build
from symtheano.codegen.c.export import ExportError

import symtheano as th
import symtheano.tensor as T
from symtheano.gradient import hessian

try:
    CC = build.compiler()[0]
except build.CompilerUnavailable:
    CC = None
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

CHECKS = pathlib.Path(__file__).with_name("export_c_checks.c")
# -O0 compiles in a third of -O2's time; the Rosenbrock test builds with -O2
FLAGS = ["-O0", "-ffp-contract=off"]


def build_example(fn, directory, name, links=(), flags=FLAGS):
    """Export `fn` as `name` into `directory` and build its example program."""
    paths = fn.export_c(directory, name)
    exe = pathlib.Path(directory) / f"{name}_main"
    cmd = [CC, *flags, str(paths.example), str(paths.source), *links, "-lm", "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return paths, exe


def run_example(exe, *sizes):
    """(outputs the example printed, its return code, its stderr)."""
    done = subprocess.run([str(exe), *map(str, sizes)], capture_output=True, text=True,
                          timeout=60)
    outputs, lines = [], done.stdout.splitlines()
    for head, values in zip(lines[0:-1:2], lines[1::2]):
        m = re.fullmatch(r"output \d+: (\w+) shape \[([\d ]*)\]", head)
        assert m, head
        shape = tuple(int(s) for s in m.group(2).split())
        dtype = np.dtype(m.group(1))
        parse = float if dtype.kind == "f" else int
        outputs.append(np.array([parse(v) for v in values.split()], dtype=dtype).reshape(shape))
    if done.returncode == 0:
        assert lines[-1] == "all outputs in one call: same results"
    return outputs, done.returncode, done.stderr


def example_inputs(fn, *sizes):
    """The inputs the example program makes (see name_main.c)."""
    sizes = iter(sizes)
    values = []
    for k, v in enumerate(fn.fgraph.inputs):
        shape = tuple(next(sizes, 3) if s is None else s for s in v.type.shape)
        i = np.arange(int(np.prod(shape)))
        if v.dtype.startswith("float"):
            flat = -0.25 + 0.25 * k + 0.125 * (i % 7)
        elif v.dtype == "bool":
            flat = (i + k) % 2
        else:
            flat = (i + k) % 5
        values.append(flat.astype(v.dtype).reshape(shape))
    return values


def check_example(fn, exe, *sizes, rtol=1e-13):
    got, rc, err = run_example(exe, *sizes)
    assert rc == 0, err
    expected = fn(*example_inputs(fn, *sizes))
    expected = expected if isinstance(expected, list) else [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=rtol, atol=0)


def rosenbrock():
    x = T.dvector("x")
    cost = T.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return th.function([x], [cost, T.grad(cost, x), hessian(cost, x)])


def test_rosenbrock_value_gradient_hessian_for_two_sizes(tmp_path):
    f = rosenbrock()
    kinds = {type(n.op).__name__ for n in f.fgraph.apply_nodes}
    assert {"PaddedSum", "Eye"} <= kinds  # kernels passed by address; the Hessian's seed
    paths, exe = build_example(f, tmp_path, "rosen", flags=["-O2", "-ffp-contract=off"])
    check_example(f, exe, 4)
    check_example(f, exe, 9)  # the same code, another size
    header = paths.header.read_text()
    assert "int rosen(const rosen_array *in, rosen_array *out, uint64_t wanted);" in header
    assert "openblas" not in header
    assert "their data may be NULL" in header  # its shapes come from the input's shape


def test_elementwise_reductions_views_and_integers(tmp_path):
    X, v = T.dmatrix("X"), T.dvector("v")
    s = T.fvector("s")
    outputs = [T.sum(T.exp(X) * v, axis=1), T.max(X), X.T, T.argmax(X, axis=0),
               T.mean(X ** 2) + T.cast(T.sum(s), "float64"), T.sqrt(s) * 3, X > 0.3]
    f = th.function([X, v, s], outputs)
    _, exe = build_example(f, tmp_path, "mixed")
    check_example(f, exe, 3, 4, 4, 5, rtol=1e-6)


def test_products_link_against_openblas(tmp_path):
    from symtheano.codegen.c.blas import openblas

    info = openblas()
    A, b, B = T.dmatrix("A"), T.dvector("b"), T.dmatrix("B")
    f = th.function([A, b, B], [T.dot(A, b), T.dot(A, B) + 1, T.nnet.softmax(T.dot(A, B))])
    links = [f"-L{info['lib_dir']}", f"-Wl,-rpath,{info['lib_dir']}", f"-l{info['library']}"]
    paths, exe = build_example(f, tmp_path, "prod", links)
    check_example(f, exe, 3, 4, 4, 4, 5, rtol=1e-12)
    assert f"-l{info['library']}" in paths.header.read_text()


def test_error_codes_and_caller_buffers(tmp_path):
    x, y = T.dvector("x"), T.dvector("y")
    f = th.function([x, y], [x + y, 2 * x])
    paths, exe = build_example(f, tmp_path, "add2")
    _, rc, err = run_example(exe, 3, 4)  # sizes that do not fit together
    assert rc == 1 and "add2: error 3: a node declined" in err
    checks = tmp_path / "checks"
    cmd = [CC, *FLAGS, f"-I{tmp_path}", str(CHECKS), str(paths.source), "-lm", "-o",
           str(checks)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in subprocess.run(
        [str(checks)], capture_output=True, text=True, check=True).stdout.splitlines())
    assert lines["only_second"] == "0 1 2 6 7 3"
    assert lines["wrong_buffer"] == "2 3 -1 1"  # ERR_OUTPUT, the shape it needs
    assert lines["right_buffer"] == "0 11 22 33 -1"
    assert lines["mismatch"] == "3 1"  # ERR_DECLINED, nothing left allocated
    assert lines["wrong_ndim"] == lines["negative_size"] == lines["null_data"] == "1"
    assert lines["shapes"] == "0 1 5 5"
    assert lines["empty"] == "0 0 1"
    assert lines["message"].startswith("a node declined these inputs")
    assert lines["info"] == "float64 1 -1 1"


def test_shapes_that_depend_on_values(tmp_path):
    x, k = T.dvector("x"), T.lscalar("k")
    f = th.function([x, k], [x[:k] * 2, T.sum(x)])
    paths, exe = build_example(f, tmp_path, "head")
    assert "depend on input values" in paths.header.read_text()
    check_example(f, exe, 6)


def test_an_op_without_c_code_is_refused(tmp_path):
    x = T.dvector("x")
    f = th.function([x], T.arange(x.shape[0]) * x)
    with pytest.raises(ExportError, match=r"ARange.*no C implementation|no C implementation"
                       r".*ARange"):
        f.export_c(tmp_path, "ramp")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["my func", "a*/b", 'q"', "x\ny", "#include", "int", "st_x",
                                  "_hidden", "9lives", "", None])
def test_names_that_are_not_c_identifiers_are_refused(tmp_path, name):
    x = T.dvector("x")
    with pytest.raises(ValueError, match="name"):
        th.function([x], x * 2).export_c(tmp_path, name)


def test_user_names_reach_the_files_only_as_sanitised_comments(tmp_path):
    nasty = '*/ int evil; /* "q" \\ \n#include <evil.h> ??/'
    x = T.dvector(nasty)
    y = T.exp(x)
    y.name = nasty
    f = th.function([x], [y, T.sum(y)])
    paths, exe = build_example(f, tmp_path, "nasty")
    for path in paths:
        text = path.read_text()
        for fragment in ("*/ int evil", '"q"', "#include <evil", "??/", "\\ \n"):
            assert fragment not in text
    # shortened, with every character that could end a comment or a string replaced
    assert '"__ int evil; __ _q_ _ __inc..."' in paths.header.read_text()
    check_example(f, exe, 5)


def test_shared_variables_become_inputs_and_updates_are_refused(tmp_path):
    w = th.shared(np.array([1.0, 2.0, 3.0]), name="w")
    x = T.dvector("x")
    f = th.function([x], T.dot(x, w) + T.sum(w ** 2))
    paths = f.export_c(tmp_path, "with_w")
    assert "in[1]  float64, 1 dimension(s) (any)  \"w\"  (shared variable" in (
        paths.header.read_text())
    g = th.function([x], T.sum(x * w), updates=[(w, w * 2)])
    with pytest.raises(ExportError, match="updates"):
        g.export_c(tmp_path / "g", "step")
