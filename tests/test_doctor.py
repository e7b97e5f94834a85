"""`python -m symtheano doctor`: what it checks and its exit status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from symtheano import __main__ as cli
from symtheano import doctor

ROOT = Path(__file__).resolve().parents[1]


def test_doctor_reports_every_check(capsys):
    status = cli.main(["doctor", "--quick"])  # checksums: test_cache_check_sees_...
    out = capsys.readouterr().out
    for name in ("C compiler", "program runner", "BLAS", "OpenMP", "vector math", "CUDA",
                 "compile cache"):
        assert name in out
    results = doctor.run_checks(verify_cache=False)
    assert status == (1 if any(r.status == "fail" for r in results) else 0)
    assert all(r.status in ("ok", "warn", "info", "fail") for r in results)


def test_a_missing_compiler_fails_the_doctor(monkeypatch, capsys):
    from symtheano.codegen.c import build

    def no_compiler():
        raise build.CompilerUnavailable("no C compiler found (test)")

    monkeypatch.setattr(build, "compiler", no_compiler)
    status = cli.main(["doctor", "--quick"])
    out = capsys.readouterr().out
    assert status == 1
    assert "[fail] C compiler" in out and "essential" in out


def test_cache_check_sees_permissions_and_corrupt_entries(tmp_path, monkeypatch):
    from symtheano.codegen.cache import default_cache

    root = tmp_path / "cache"
    monkeypatch.setenv("SYMTHEANO_CACHE_DIR", str(root))
    check = doctor.check_cache()
    assert check.status == "ok" and "does not exist yet" in check.detail
    cache = default_cache()
    cache.get_or_build("a" * 64, lambda d: (Path(d) / "lib.so").write_bytes(b"x" * 10),
                       files=("lib.so",), meta={"description": "test"})
    check = doctor.check_cache()
    assert check.status == "ok", check.detail
    assert "mode 0700" in check.detail and "1 entries" in check.detail
    assert "0 corrupt" in check.detail
    (root / "entries" / ("a" * 64) / "lib.so").write_bytes(b"y" * 10)  # damaged in place
    check = doctor.check_cache()
    assert check.status == "warn" and "1 corrupt" in check.detail
    os.chmod(root, 0o755)
    assert doctor.check_cache().status == "warn"


def test_doctor_json_runs_as_a_module():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "symtheano", "doctor", "--json", "--quick"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    rows = json.loads(proc.stdout)
    assert {r["name"] for r in rows} >= {"C compiler", "BLAS", "CUDA", "compile cache"}
    assert proc.returncode == (1 if any(r["status"] == "fail" for r in rows) else 0)


@pytest.mark.parametrize("argv", [["version"], ["cache", "info"]])
def test_other_commands_still_work(argv, capsys):
    assert cli.main(argv) == 0
    assert capsys.readouterr().out
