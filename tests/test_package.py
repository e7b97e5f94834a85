"""Packaging and configuration: lazy import, codegen subpackage, SYMTHEANO_FLAGS."""

import os
import subprocess
import sys

import pytest


def _run(code, **env):
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_import_does_not_pull_heavy_dependencies():
    code = ("import sys, symtheano, symtheano.tensor as T\n"
            "x = T.dscalar('x'); f = symtheano.function([x], x * 2); assert f(2) == 4\n"
            "print(sorted(m for m in ('sympy', 'cffi', 'scipy') if m in sys.modules))")
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_bare_import_is_lazy():
    out = _run("import sys, symtheano; print('numpy' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_codegen_is_a_subpackage():
    import symtheano.codegen

    assert symtheano.codegen.__name__ == "symtheano.codegen"


def test_flags_set_floatx():
    code = ("import symtheano, symtheano.tensor as T\n"
            "print(symtheano.config.floatX, T.matrix().dtype, (T.dvector() * 1.5).dtype,"
            " (T.fvector() * 1.5).dtype)")
    out = _run(code, SYMTHEANO_FLAGS="floatX=float32")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["float32", "float32", "float64", "float32"]
    out = _run(code, SYMTHEANO_FLAGS="", THEANO_FLAGS="")
    assert out.stdout.split() == ["float64", "float64", "float64", "float64"]


def test_bad_flags_are_reported():
    out = _run("import symtheano; symtheano.config", SYMTHEANO_FLAGS="floatX=float16")
    assert out.returncode != 0
    assert "floatX must be one of" in out.stderr
    out = _run("import symtheano; symtheano.config", SYMTHEANO_FLAGS="flaotX=float32")
    assert "unknown flag 'flaotX'" in out.stderr


def test_config_assignment_checks_values():
    from symtheano import config

    with pytest.raises(ValueError, match="floatX"):
        config.floatX = "float16"
    with pytest.raises(AttributeError):
        config.no_such_setting = 1


def test_every_package_is_listed_in_pyproject():
    """A subpackage missing from pyproject's list would be left out of a real install."""
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {"symtheano." + ".".join(p.parent.relative_to(root / "symtheano").parts)
             for p in (root / "symtheano").rglob("__init__.py")}
    found = {f.rstrip(".") for f in found}
    found |= {"symtheano.codegen" + "".join("." + part for part in p.parent.relative_to(
        root / "codegen").parts) for p in (root / "codegen").rglob("__init__.py")}
    assert found == listed
