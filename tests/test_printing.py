"""Looking at graphs: reprs, debugprint of a compiled function, Graphviz pictures."""

import shutil
import struct

import numpy as np
import pytest

import symtheano as th
import symtheano.tensor as T
from symtheano.printing import debugprint, graphviz


def _train():
    x, y = T.dvector("x"), T.dvector("y")
    w = th.shared(np.ones(3), name="w")
    cost = (T.exp(x + y) * 2 + w).sum()
    return th.function([x, y], cost, updates=[(w, w - 0.1 * T.grad(cost, w))], name="train")


def test_variable_repr_names_dtype_and_static_shape():
    x = T.TensorType("float32", (3, None))("x")
    assert repr(x) == "<x: Matrix(float32, shape=(3, ?))>"
    assert "float64" in repr(T.dvector() + 1)


def test_function_repr_says_inputs_outputs_mode_and_cache_status():
    f = _train()
    text = repr(f)
    assert text.startswith("<Function train(x, y) -> Scalar(float64")
    assert "updates w" in text and "mode=" in text and "compiled in" in text
    if f.mode.linker == "c":
        assert "kernels all from the cache" in text or "libraries compiled now" in text
        g = _train()  # the same kernels again: nothing to compile
        if g.compile_info.libraries_built:  # the shared test cache changed meanwhile
            g = _train()
        assert "kernels all from the cache" in repr(g)
        assert g.compile_info.libraries_built == 0


def test_debugprint_of_a_function_lists_the_rewrites_that_fired():
    text = debugprint(_train(), file="str")
    assert "Rewrites:" in text and "elemwise_fusion" in text
    assert "<Vector(float64, shape=(?,))>" in text
    assert "Rewrites:" not in debugprint(_train(), file="str", print_rewrites=False)


@pytest.fixture
def graphviz_package():
    return pytest.importorskip("graphviz", reason="the graphviz package is not installed "
                               "(pip install 'symtheano[viz]')")


def test_graphviz_draws_ops_inputs_and_outputs(graphviz_package):
    x = T.dvector("x")
    dot = graphviz((T.exp(x) * 2).sum())
    assert isinstance(dot, graphviz_package.Digraph)
    source = dot.source
    assert "exp" in source and "Sum" in source and "float64 (?,)" in source


def test_a_fused_kernel_is_one_box_unless_expanded(graphviz_package):
    f = _train()
    folded = graphviz(f).source
    assert "FusedReduce" in folded and "cluster_" not in folded
    assert "update of w" in folded
    expanded = graphviz(f, expand_fused=True).source
    assert "cluster_" in expanded
    for step in ("exp", "mul", "add"):
        assert f"label={step}" in expanded


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's `dot` program is not "
                    "installed (apt-get install graphviz; see README)")
def test_graphviz_renders_a_png_of_plausible_size(graphviz_package, tmp_path):
    f = _train()
    width, height = _png_size(graphviz(f, expand_fused=True).pipe(format="png"))
    assert 100 <= width <= 5000 and 100 <= height <= 5000
    v = T.dvector("v")
    path = graphviz(T.grad(T.sum(v ** 2), v)).render(tmp_path / "g", format="svg")
    assert open(path).read().lstrip().startswith(("<?xml", "<svg"))
