"""Every tutorial runs to completion: `python tutorials/NN_name.py` exits with status 0.

The tutorials assert their own claims, so a tutorial that runs is a tutorial
whose claims hold. New tutorials are picked up by the glob with no edits here.
A tutorial that cannot run on this machine (12_gpu.py without a GPU) prints
why and exits with status 77, the "skipped" status of automake's test
drivers; it is reported as a skip with its last line of output as the reason.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))
TIMEOUT_S = 300
SKIPPED = 77


def _text(out):
    # TimeoutExpired carries bytes even when the run asked for text.
    return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")


def test_tutorials_exist():
    assert TUTORIALS, f"no tutorials found under {ROOT / 'tutorials'}"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs(path):
    env = dict(os.environ)
    # Run against this checkout even when symtheano is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # 13_dask_mle.py fits 10 million rows by default; the suite checks its claims on fewer.
    env.setdefault("SYMTHEANO_TUTORIAL_ROWS", "200000")
    try:
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{path.name} did not finish within {TIMEOUT_S} s\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        )
    if proc.returncode == SKIPPED:
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        pytest.skip(f"{path.name}: {lines[-1] if lines else 'skipped'}")
    assert proc.returncode == 0, (
        f"{path.name} exited with status {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
