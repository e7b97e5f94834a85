"""Install-time builds, all optional (metadata lives in pyproject.toml).

1. The program runner codegen/c/vm/st_vm.c as the extension module
   symtheano.codegen.c.st_vm, with a record of the sha256 of the source it was
   built from (prebuilt/runner.json; codegen/c/vm.py uses the extension only
   while st_vm.c still has that hash).
2. The bundle (codegen/c/prebuild.py): the libraries every function shares and
   the toolchain probe results, compiled by the package's own code into
   prebuilt/entries/ (a cache's layout, used only on an exact key match).

Without a C compiler, Python headers or NumPy, each step is skipped with a
message and the install still succeeds: the runner and the libraries are then
compiled through the compile cache on first use, as before.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
VM_SOURCE = Path("codegen", "c", "vm", "st_vm.c")
RUNNER = "symtheano.codegen.c.st_vm"
# build.FLAGS without -shared/-fPIC, which setuptools adds itself
FLAGS = ["-O3", "-std=gnu11", "-fwrapv", "-fno-math-errno", "-ffp-contract=off"]

# Run in a fresh interpreter: the package's code from this source tree
# (symtheano/, and codegen/ as symtheano.codegen, as pyproject's package-dir maps it).
BUNDLE_SCRIPT = """
import importlib.util, sys
root, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
import symtheano
spec = importlib.util.spec_from_file_location(
    "symtheano.codegen", root + "/codegen/__init__.py",
    submodule_search_locations=[root + "/codegen"])
codegen = importlib.util.module_from_spec(spec)
sys.modules["symtheano.codegen"] = codegen
spec.loader.exec_module(codegen)
symtheano.codegen = codegen
from symtheano.codegen.c import prebuild
print(f"bundled {prebuild.build_bundle(out)} entries into {out}")
"""


def _note(message):
    print(f"symtheano setup: {message}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext whose every step may fail without failing the install."""

    def run(self):
        out = Path(self.get_ext_fullpath(RUNNER)).parent
        bundle = out / "prebuilt"
        bundle.mkdir(parents=True, exist_ok=True)
        record = bundle / "runner.json"
        if record.exists():  # nothing of an earlier build survives a failed step
            record.unlink()
        shutil.rmtree(bundle / "entries", ignore_errors=True)
        try:
            super().run()
            built = Path(self.get_ext_fullpath(RUNNER)).is_file()
        except Exception as exc:  # noqa: BLE001 - the runner is optional
            _note(f"the program runner was not built ({exc}); it will be compiled on first use")
            built = False
        if built:
            digest = hashlib.sha256((ROOT / VM_SOURCE).read_bytes()).hexdigest()
            record.write_text(json.dumps({"source_sha256": digest}) + "\n")
        env = dict(os.environ)
        env.pop("SYMTHEANO_CACHE_DIR", None)
        try:
            done = subprocess.run([sys.executable, "-c", BUNDLE_SCRIPT, str(ROOT), str(bundle)],
                                  capture_output=True, text=True, timeout=600, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _note(f"no bundle of shared libraries ({exc}); they will be compiled on first use")
            return
        if done.returncode != 0:
            _note("no bundle of shared libraries; they will be compiled on first use:\n"
                  + done.stderr[-2000:])
        else:
            _note(done.stdout.strip())

    def build_extension(self, ext):
        try:
            import numpy
        except ImportError:
            _note("NumPy is not importable at build time; the runner is compiled on first use")
            return
        ext.include_dirs.append(numpy.get_include())
        ext.define_macros.append(("ST_NUMPY_VERSION", f'"{numpy.__version__}"'))
        super().build_extension(ext)


setup(
    ext_modules=[Extension(RUNNER, [str(VM_SOURCE)], include_dirs=["codegen/c/runtime"],
                           extra_compile_args=FLAGS,
                           optional=True)],
    cmdclass={"build_ext": OptionalBuildExt},
)
