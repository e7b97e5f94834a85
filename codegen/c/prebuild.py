"""The bundle built when the package is installed (setup.py runs `build_bundle`).

A cold compile (an empty cache) of even a small function would otherwise
compile, besides its own kernels, the libraries every function shares (the
shape, view and softmax library, ~1-4 s of gcc) and run the toolchain probes.
`build_bundle` compiles those once at install time, through the same code and
cache keys as at run time, into a private staging cache, and copies the
entries into `prebuilt/entries/` beside build.py (the layout of a cache).

At run time `build.fetch` takes an entry from the bundle when its key matches
exactly (same source, headers, compiler path and version, flags, platform,
Python ABI, package version): a bundle built with another compiler, or stale
after a header changed, is simply not used. Bundled entries are verified like
cache hits (sizes and sha256, no symlinks, nothing writable by others) and
never written to. Libraries whose key names paths of the build environment
(the BLAS library's OpenBLAS location, the runner's NumPy include directory)
would never match after an isolated build, so they are not bundled here; the
runner is an extension module of its own (setup.py, vm.bundled).

    python -m symtheano.codegen.c.prebuild OUT_DIR
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def _shared_libraries():
    """Build the libraries every function shares (into the current cache)."""
    from symtheano.codegen.c import blas, build, shape_emit

    build.features()  # the toolchain probes (cached entries too)
    shape_emit.entry("st_dimshuffle", ())  # the shape, view and softmax library
    try:
        blas.address("st_node_gemm_f64")  # the BLAS products (no path in their key)
    except blas.BlasUnavailable:
        pass


def build_bundle(out_dir):
    """Compile the shared libraries and probes into `out_dir`/entries; returns the
    number of entries. Raises build.CompilerUnavailable without a compiler."""
    os.environ["SYMTHEANO_BUNDLE"] = "0"  # build everything, never take an old bundle
    staging = Path(tempfile.mkdtemp(prefix="symtheano-bundle-"))
    os.environ["SYMTHEANO_CACHE_DIR"] = str(staging / "cache")
    out_dir = Path(out_dir)
    try:
        _shared_libraries()
        built = staging / "cache" / "entries"
        new = out_dir / "entries.new"
        shutil.rmtree(new, ignore_errors=True)
        new.mkdir(parents=True)
        count = 0
        for entry in sorted(built.iterdir()):
            target = new / entry.name
            target.mkdir()
            for f in entry.iterdir():
                shutil.copyfile(f, target / f.name)
                os.chmod(target / f.name, 0o644)  # readable by every user, written by none
            os.chmod(target, 0o755)
            count += 1
        os.chmod(new, 0o755)
        old = out_dir / "entries"
        if old.exists():
            shutil.rmtree(old)
        os.rename(new, old)
        return count
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    print(f"bundled {build_bundle(sys.argv[1])} entries into {sys.argv[1]}")
