"""Compiling generated CUDA: nvcc turns a kernel library's source into a cubin
for the GPU's architecture (plus its PTX, so a newer GPU can JIT it), kept in
the compile cache (codegen/cache.py, through the C back end's `build.fetch`:
the same atomic, verified entries and per-key locks). The key's parts are the
C back end's (source, the runtime headers it includes, transitively, compiler
and version, flags, platform, package version) plus the architecture.

Nothing here needs pycuda or a GPU, so tests compile every kernel on machines
with nvcc alone (tests/codegen/test_cuda_source.py); driver.py loads the
results.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
import shutil
import subprocess

from symtheano.codegen.c import build as c_build

RUNTIME_DIR = pathlib.Path(__file__).resolve().parent / "runtime"
# The CUDA runtime includes the C runtime's scalar helpers (symtheano_rt.cuh).
INCLUDE_DIRS = (RUNTIME_DIR, c_build.RUNTIME_DIR)
# No fast math: --fmad=false keeps a * b + c two roundings (the C kernels' -ffp-contract=
# off); division and sqrt are IEEE-rounded (nvcc's default without --use_fast_math).
FLAGS = ("-O3", "-std=c++17", "--fmad=false")
MODULE_FILE = "module.cubin"
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


class NvccUnavailable(RuntimeError):
    """nvcc was not found or does not run."""


@functools.cache
def nvcc():
    """(path, version line) of nvcc: $NVCC, nvcc on PATH, $CUDA_HOME/bin or
    /usr/local/cuda/bin."""
    candidates = [os.environ.get("NVCC"), shutil.which("nvcc")]
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root:
            candidates.append(os.path.join(root, "bin", "nvcc"))
    for path in filter(None, candidates):
        if not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
            return path, (lines[-1] if lines else "nvcc")
    raise NvccUnavailable("nvcc (the CUDA compiler) was not found: looked for $NVCC, nvcc on "
                          "PATH, $CUDA_HOME/bin and /usr/local/cuda/bin")


def included_headers(source):
    """{file name: text} of the runtime headers `source` includes, directly or not
    (CUDA's runtime/*.cuh and the C runtime headers they include)."""
    found, todo = {}, _INCLUDE.findall(source)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        for directory in INCLUDE_DIRS:
            path = directory / name
            if path.is_file():
                text = path.read_text()
                found[name] = text
                todo += _INCLUDE.findall(text)
                break
    return dict(sorted(found.items()))


def targets(arch):
    """nvcc's code generation arguments for compute capability `arch` (90 for sm_90):
    the machine code and the PTX."""
    return ("-gencode", f"arch=compute_{arch},code=[sm_{arch},compute_{arch}]")


def command(source_path, out_path, arch, output="cubin"):
    """The nvcc command compiling `source_path` into `out_path`: a cubin (machine code
    for sm_<arch>), a fatbin (machine code and PTX), or PTX."""
    path, _ = nvcc()
    includes = [f"-I{d}" for d in INCLUDE_DIRS]
    if output == "cubin":
        code = ("-cubin", f"-arch=sm_{arch}")
    elif output == "ptx":
        code = ("-ptx", f"-arch=compute_{arch}")
    elif output == "fatbin":
        code = ("-fatbin", *targets(arch))
    else:
        raise ValueError(f"output must be 'cubin', 'fatbin' or 'ptx', got {output!r}")
    return [path, *FLAGS, *code, *includes, str(source_path), "-o", str(out_path)]


def compile_module(source, directory, arch):
    """Compile `source` into directory/module.cubin; raise with nvcc's message."""
    directory = pathlib.Path(directory)
    src = directory / "kernel.cu"
    src.write_text(source)
    cmd = command(src, directory / MODULE_FILE, arch, "cubin")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"CUDA compilation failed ({' '.join(cmd)}):\n{out.stderr[-4000:]}")


def key_parts(source, arch):
    from symtheano import __version__

    path, version = nvcc()
    return {
        "source": source,
        "headers": included_headers(source),
        "compiler": f"{version} ({path})",
        "flags": " ".join(FLAGS),
        "arch": f"sm_{arch}",
        "platform": f"{os.uname().sysname} {os.uname().machine}",
        "package_version": __version__,
    }


def module_path(source, arch, description=""):
    """The path of `source` compiled for sm_<arch>: from the compile cache, or built
    into it (one build per key across threads and processes)."""
    from symtheano.codegen.cache import cache_key

    entry = c_build.fetch(cache_key(key_parts(source, arch)),
                          functools.partial(compile_module, source, arch=arch),
                          files=(MODULE_FILE,),
                          meta={"description": description[:120], "kind": "cuda-module"})
    return str(pathlib.Path(entry) / MODULE_FILE)
