"""Checks that the argument structs the host packs (numpy structured dtypes) have
the layout nvcc gives the CUDA structs: a probe program prints sizeof and every
field's offsetof, compiled for sm_90 and run on the host (no GPU needed)."""

from __future__ import annotations

import subprocess

import pytest
from symtheano.codegen.cuda import build


def nvcc_or_skip():
    """nvcc's path, or skip the test."""
    try:
        return build.nvcc()[0]
    except build.NvccUnavailable as exc:
        pytest.skip(str(exc))


def struct_probe(source, structs):
    """C++ printing sizeof and every field's offset of `structs` {name: dtype}."""
    lines = [source, "#include <cstdio>", "#include <cstddef>", "int main() {"]
    for name, dtype in structs.items():
        lines.append(f'    std::printf("{name} size %zu\\n", sizeof({name}));')
        for field in dtype.names:
            lines.append(f'    std::printf("{name} {field} %zu\\n", offsetof({name}, {field}));')
    lines += ["    return 0;", "}"]
    return "\n".join(lines)


def assert_structs_match_nvcc(directory, source, structs, tag="probe"):
    """Compile `source` with a probe of `structs` {name: dtype} and assert that nvcc's
    sizes and offsets are the dtypes' itemsize and field offsets."""
    nvcc = nvcc_or_skip()
    src, exe = directory / f"{tag}.cu", directory / tag
    src.write_text(struct_probe(source, structs))
    cmd = [nvcc, *build.FLAGS, "-arch=sm_90", *[f"-I{d}" for d in build.INCLUDE_DIRS],
           str(src), "-o", str(exe)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60).stdout
    want = []
    for name, dtype in structs.items():
        want.append(f"{name} size {dtype.itemsize}")
        want += [f"{name} {f} {dtype.fields[f][1]}" for f in dtype.names]
    assert printed.split("\n")[:-1] == want
