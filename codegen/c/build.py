"""Compiling generated C: the system compiler builds a shared library; the
program runner takes its entries' addresses through ctypes (`address`), and
kernels called from Python are loaded with cffi (`load`). Libraries are
fetched from (or published to) the compile cache, keyed by the source, the
runtime headers it includes (transitively), the compiler and its version, the
flags, the platform and the package version.

What this machine's toolchain offers is probed once (`features()`, results
kept in the compile cache): OpenMP (`-fopenmp` compiles, links and loads) and
the AVX2 vector path (the compiler takes `target("avx2")` intrinsics and
glibc's libmvec links and loads; which libmvec functions exist is read from the
library itself). Generated sources include `vecmath.h` only where the vector
path is available, and a runtime header that needs a flag or a library names
it in `HEADER_ARGS`, so those flags follow the source into the command line and
into the "flags" part of the key. The CPU is never part of the key: a kernel
checks for AVX2 and FMA when it runs (`st_cpu_has_vec`) and takes its scalar
loop without them, so a library from a shared cache is safe on any x86_64 CPU.

OpenMP kernels read their thread count from one process-wide int (`thread
cell`): `library_path` binds every library that exports `st_bind_threads` to it, and
the cell follows `config.openmp_threads` as it changes.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import functools
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import threading

RUNTIME_DIR = pathlib.Path(__file__).resolve().parent / "runtime"
# Entries built when the package was installed (setup.py, prebuild.py): the libraries
# every function shares and the toolchain probes, in the layout of a cache.
BUNDLE_DIR = pathlib.Path(__file__).resolve().parent / "prebuilt"
# No -ffast-math: results must keep NaN/inf and IEEE rounding. -fwrapv gives
# signed integers NumPy's wrap-around; -ffp-contract=off forbids fusing a * b + c.
FLAGS = ("-O3", "-fPIC", "-shared", "-std=gnu11", "-fwrapv", "-fno-math-errno",
         "-ffp-contract=off")
LIBRARY_FILE = "kernel.so"
# runtime header -> (the feature it needs them for, or None: always; compile flags,
# link arguments) that a source including it gets; without the feature, none
HEADER_ARGS = {"vecmath.h": (None, (), ("-lmvec",)),
               "st_threads.h": ("openmp", ("-fopenmp",), ())}
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


class CompilerUnavailable(RuntimeError):
    """No working C compiler was found."""


class NotCached(Exception):
    """Raised inside `cached_only()` by a library or probe that neither the bundle
    nor the cache holds: `key` is what would be built, `what` describes it."""

    def __init__(self, key, what):
        super().__init__(f"{what} ({key[:16]}) is not compiled yet")
        self.key, self.what = key, what


_mode = threading.local()


@contextlib.contextmanager
def cached_only():
    """In this thread, take libraries and probe results from the bundle or the cache
    only: anything missing raises NotCached instead of being compiled. Lets a
    caller look up a whole function's libraries cheaply and then compile just
    the missing ones, each once, in parallel (program._entries)."""
    old = getattr(_mode, "cached_only", False)
    _mode.cached_only = True
    try:
        yield
    finally:
        _mode.cached_only = old


@contextlib.contextmanager
def sources_only(record):
    """In this thread, `address(source, symbol, extra_args, description)` returns
    `record(source, symbol, extra_args, description)` instead of compiling and loading
    the library, and `features()` reports no vector path, so that sources come out
    portable (no AVX2, no libmvec). How codegen/c/export.py collects the sources of
    a graph's node entries from the emitters without building anything."""
    old = getattr(_mode, "record", None)
    _mode.record = record
    try:
        yield
    finally:
        _mode.record = old


@functools.cache
def _bundle_exists():
    """Whether the package has a bundle (SYMTHEANO_BUNDLE=0 ignores it: prebuild.py
    and tests that measure compiling)."""
    if os.environ.get("SYMTHEANO_BUNDLE", "").strip() == "0":
        return False
    return (BUNDLE_DIR / "entries").is_dir()


def fetch(key, build, files, meta, build_missing=False):
    """The directory holding `files` for `key`: the bundled entry when the package
    shipped one, else the cache's (built by `build(directory)` when missing, or
    NotCached inside `cached_only()` unless `build_missing`)."""
    from symtheano.codegen.cache import bundled_entry, default_cache

    if _bundle_exists():
        entry = bundled_entry(BUNDLE_DIR, key, files)
        if entry is not None:
            return entry
    cache = default_cache()
    if getattr(_mode, "cached_only", False) and not build_missing:
        entry = cache.lookup(key, files)
        if entry is None:
            raise NotCached(key, meta.get("description", "a library"))
        return entry
    return cache.get_or_build(key, _counted(build), files=files, meta=meta)


_built = [0]
_built_lock = threading.Lock()


def libraries_built():
    """How many libraries (and probes) this process has compiled rather than found
    in the bundle or the cache; `function` compares it before and after linking
    to tell a warm compile from a cold one (Function's repr, profiles)."""
    return _built[0]


def _counted(build):
    def counted(directory):
        with _built_lock:
            _built[0] += 1
        return build(directory)

    return counted


def _once(fn):
    """functools.cache for a function of no arguments, except that threads racing on
    the first call wait for one run of `fn` instead of each running it. An exception
    is not remembered (the next call tries again)."""
    lock, result = threading.Lock(), []

    @functools.wraps(fn)
    def once():
        if not result:
            with lock:
                if not result:
                    result.append(fn())
        return result[0]

    once.cache_clear = result.clear
    return once


@_once
def compiler():
    """(path, version line) of the C compiler: $CC, else cc/gcc/clang on PATH."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if not path:
            continue
        version = _version_line(path, name)
        if version is not None:
            return path, version
    raise CompilerUnavailable("no C compiler found (looked for $CC, cc, gcc, clang)")


def _run_version(path, name):
    """The first line of `path --version`, or None when it does not run."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.splitlines()[0] if out.stdout else name


def _write_version(path, name, directory):
    version = _run_version(path, name)
    pathlib.Path(directory, "version.json").write_text(json.dumps({"version": version}))


def _version_line(path, name):
    """`path --version`'s first line, remembered in the cache under the identity of
    the executable (its path, its target, size, times and inode), so that a warm
    process does not start the compiler just to ask (~3 ms). A replaced or
    upgraded compiler has another identity, hence asks again."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
        identity = (f"{path} -> {real} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} "
                    f"{st.st_dev} {st.st_ino}")
    except OSError:
        return _run_version(path, name)
    try:
        from symtheano.codegen.cache import cache_key

        entry = fetch(cache_key({"compiler-identity": identity, "name": name}),
                      functools.partial(_write_version, path, name), files=("version.json",),
                      meta={"description": f"compiler version: {path}", "kind": "c-compiler"},
                      build_missing=True)
        version = json.loads((pathlib.Path(entry) / "version.json").read_text())["version"]
    except (OSError, ValueError, KeyError, RuntimeError):
        return _run_version(path, name)
    return version if isinstance(version, str) or version is None else _run_version(path, name)


def runtime_headers():
    """{file name: text} of all the runtime headers."""
    return {p.name: p.read_text() for p in sorted(RUNTIME_DIR.glob("*.h"))}


def included_headers(source):
    """{file name: text} of the runtime headers `source` includes, directly or not."""
    found, todo = {}, _INCLUDE.findall(source)
    while todo:
        name = todo.pop()
        if name not in found:
            header = _header(name)
            if header is not None:
                found[name] = header[0]
                todo += header[1]
    return dict(sorted(found.items()))


_headers = {}  # (name, stat identity) -> (text, names it includes)


def _header(name):
    """(text, included names) of runtime header `name`, or None when there is none.
    Read and scanned once per process while the file's size, mtime and inode stay."""
    path = RUNTIME_DIR / name
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    k = (name, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    found = _headers.get(k)
    if found is None:
        text = path.read_text()
        found = _headers[k] = (text, tuple(_INCLUDE.findall(text)))
    return found


def _header_args(headers):
    """(compile flags, link arguments) the runtime headers `headers` need here."""
    flags, links = [], []
    for name in headers:
        if name not in HEADER_ARGS:
            continue
        feature, compile_flags, link_args = HEADER_ARGS[name]
        if feature is not None and not getattr(features(), feature):
            continue
        flags += [f for f in compile_flags if f not in flags]
        links += [f for f in link_args if f not in links]
    return tuple(flags), tuple(links)


def key_parts(source, extra_args=()):
    from symtheano import __version__

    path, version = compiler()
    headers = included_headers(source)
    flags, links = _header_args(headers)
    parts = {
        "source": source,
        "headers": headers,
        "compiler": f"{version} ({path})",
        # only sources whose headers add flags get a different "flags" part
        "flags": " ".join(FLAGS + flags + links),
        "platform": f"{sys.platform} {_machine()}",
        "python_abi": _soabi(),
        "package_version": __version__,
    }
    if extra_args:  # only when given, so that other kernels keep their keys
        parts["extra_args"] = " ".join(extra_args)
    return parts


@functools.cache
def _machine():
    """platform.machine() without importing platform (~2 ms of a warm compile)."""
    try:
        return os.uname().machine
    except AttributeError:  # pragma: no cover - Windows
        import platform

        return platform.machine()


@functools.cache
def _soabi():
    """sysconfig's SOABI ("cpython-311-x86_64-linux-gnu"), read from the extension
    suffix where it is spelled the same, without loading sysconfig's data."""
    import importlib.machinery

    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    if suffix.startswith(".cpython-") and suffix.endswith(".so"):
        return suffix[1:-3]
    import sysconfig

    return sysconfig.get_config_var("SOABI") or ""


def _libc():
    """platform.libc_ver() joined ("glibc 2.36"), from confstr when it answers."""
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        found = None
    if found and len(found.split()) == 2:
        return found
    import platform

    return " ".join(platform.libc_ver())


def compile_library(source, directory, extra_args=(), flags=()):
    """Compile `source` into directory/kernel.so; raise with the compiler's message.
    `extra_args` go after the source (include directories, libraries to link),
    `flags` before it; the flags of the runtime headers it includes are added."""
    directory = pathlib.Path(directory)
    src = directory / "kernel.c"
    src.write_text(source)
    path, _ = compiler()
    header_flags, links = _header_args(included_headers(source))
    cmd = [path, *FLAGS, *header_flags, *flags, f"-I{RUNTIME_DIR}", str(src), "-o",
           str(directory / LIBRARY_FILE), *extra_args, *links, "-lm"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"C compilation failed ({' '.join(cmd)}):\n{out.stderr[-4000:]}")


_paths = {}          # (source, extra_args) -> path of the loaded library
_path_locks = {}
_loaded = {}         # (source, extra_args, cdef) -> (ffi, lib)
_ffis = {}           # cdef -> FFI: cffi parses each declaration text once
_lock = threading.Lock()


def library_path(source, extra_args=(), description=""):
    """The path of `source` compiled (with `extra_args`, see compile_library): from
    the cache, or built into it. Different sources build concurrently from
    several threads; the first use in a process binds the library's OpenMP
    thread count to the process-wide cell (see _thread_cell)."""
    k = (source, tuple(extra_args))
    path = _paths.get(k)
    if path is not None:
        return path
    with _lock:
        lock = _path_locks.setdefault(k, threading.Lock())
    with lock:
        path = _paths.get(k)
        if path is None:
            from symtheano.codegen.cache import cache_key

            key = cache_key(key_parts(source, k[1]))
            entry = fetch(key, functools.partial(compile_library, source, extra_args=k[1]),
                          files=(LIBRARY_FILE,),
                          meta={"description": description[:120], "kind": "c-kernel"})
            path = str(pathlib.Path(entry) / LIBRARY_FILE)
            lib = _dll(path)
            if hasattr(lib, "st_bind_threads"):
                lib.st_bind_threads(ctypes.c_void_p(_thread_cell()[1]))
            _paths[k] = path
    return path


@functools.cache
def _dll(path):
    """The library at `path` loaded with ctypes (it stays loaded for the process)."""
    return ctypes.CDLL(path)


def address(source, symbol, extra_args=(), description=""):
    """The address of `symbol` in the compiled `source`: what the program runner
    calls. No cffi on this path, so loading a cached function stays cheap."""
    record = getattr(_mode, "record", None)
    if record is not None:  # sources_only()
        return record(source, symbol, tuple(extra_args), description)
    lib = _dll(library_path(source, extra_args, description))
    return ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value


def load(source, cdef, extra_args=(), description=""):
    """(ffi, lib) for `source` compiled (see library_path), loaded with cffi once per
    process, for kernels called from Python."""
    from cffi import FFI

    path = library_path(source, extra_args, description)
    k = (source, tuple(extra_args), cdef)
    with _lock:
        found = _loaded.get(k)
        if found is None:
            ffi = _ffis.get(cdef)
            if ffi is None:
                ffi = _ffis[cdef] = FFI()
                ffi.cdef(cdef)
            found = _loaded[k] = (ffi, ffi.dlopen(path))
        return found


# -- what this machine's toolchain offers -------------------------------------------------------

Features = collections.namedtuple("Features", "openmp vector mvec")
Features.__doc__ = """openmp: kernels can use OpenMP; vector: the AVX2/libmvec path can be built;
mvec: the libm names (exp, log1p, ...) whose libmvec AVX2 variants exist in both widths."""

# The probes are real C files beside the runtime headers.
PROBE_DIR = RUNTIME_DIR / "probes"
# libmvec functions of vecmath.h (libm names); 2: two arguments
MVEC_FUNCTIONS = {"exp": 1, "exp2": 1, "expm1": 1, "log": 1, "log2": 1, "log10": 1, "log1p": 1,
                  "sin": 1, "cos": 1, "tan": 1, "asin": 1, "acos": 1, "atan": 1, "sinh": 1,
                  "cosh": 1, "asinh": 1, "acosh": 1, "atanh": 1, "atan2": 2,
                  "hypot": 2, "pow": 2}


def _run_probe(source, flags, links, check, directory):
    """Compile and load a probe; write {"ok", "detail"} to directory/result.json."""
    try:
        compile_library(source, directory, extra_args=links, flags=flags)
        import ctypes

        lib = ctypes.CDLL(str(pathlib.Path(directory) / LIBRARY_FILE))
        ok, detail = check(lib)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        ok, detail = False, str(exc)[-2000:]
    pathlib.Path(directory, "result.json").write_text(json.dumps({"ok": ok, "detail": detail}))


def _probe(name, source, flags, links, check):
    """Whether probe `name` passes with this compiler (cached with the kernels)."""
    from symtheano.codegen.cache import cache_key

    parts = key_parts(source)
    parts["flags"] += " " + " ".join(flags + links)
    parts["probe"] = name
    parts["libc"] = _libc()  # libmvec comes with glibc
    try:
        entry = fetch(
            cache_key(parts), functools.partial(_run_probe, source, flags, links, check),
            files=("result.json",), meta={"description": f"probe: {name}", "kind": "c-probe"})
        return bool(json.loads((pathlib.Path(entry) / "result.json").read_text())["ok"])
    except (OSError, ValueError, KeyError):
        return False


def _check_openmp(lib):
    n = lib.st_probe()
    return n % 10 >= 1, f"st_probe() = {n}"


def _check_vector(lib):
    import ctypes
    import math

    if not lib.st_probe_cpu():
        return True, "built; this CPU lacks AVX2/FMA, so the kernels will not take the path"
    x = (ctypes.c_double * 4)(0.0, 1.0, -1.0, 2.0)
    y = (ctypes.c_float * 8)(*range(8))
    lib.st_probe(x, y)
    good = all(math.isclose(x[i], math.exp(v), rel_tol=1e-14) for i, v in enumerate((0, 1, -1, 2)))
    good &= all(math.isclose(y[i], math.exp(i), rel_tol=1e-6) for i in range(8))
    return good, "exp in both widths agrees with math.exp" if good else "wrong exp results"


def _mvec_names():
    """The libm names of MVEC_FUNCTIONS whose AVX2 variants libmvec exports in both widths."""
    import ctypes

    try:
        lib = ctypes.CDLL("libmvec.so.1")
    except OSError:
        return frozenset()
    names = set()
    for name, n_args in MVEC_FUNCTIONS.items():
        v = "v" * n_args
        if hasattr(lib, f"_ZGVdN4{v}_{name}") and hasattr(lib, f"_ZGVdN8{v}_{name}f"):
            names.add(name)
    return frozenset(names)


def features():
    """The Features of this machine's toolchain (probed once per process, cached on disk);
    inside sources_only(), a toolchain without the vector path."""
    if getattr(_mode, "record", None) is not None:
        return Features(False, False, frozenset())
    return _probed_features()


@_once
def _probed_features():
    try:
        compiler()
    except CompilerUnavailable:
        return Features(False, False, frozenset())
    openmp = _probe("openmp", (PROBE_DIR / "openmp.c").read_text(), ("-fopenmp",), (),
                    _check_openmp)
    vector, mvec = False, frozenset()
    if _machine().lower() in ("x86_64", "amd64") and sys.platform.startswith("linux"):
        mvec = _mvec_names()
        if "exp" in mvec:
            vector = _probe("avx2-libmvec", (PROBE_DIR / "vector.c").read_text(), (), (),
                            _check_vector)
    return Features(openmp, vector, mvec if vector else frozenset())


# -- the thread count of OpenMP kernels ---------------------------------------------------------

_serial_after_fork = False


def openmp_threads():
    """The thread count kernels use: config.openmp_threads, or when that is 0,
    OMP_NUM_THREADS (its first entry) when set, else the cores this process may use.
    1 in a process forked after kernels ran on several threads (see _after_fork)."""
    from symtheano.configuration import config

    if _serial_after_fork:
        return 1
    n = config.openmp_threads
    if n > 0:
        return n
    text = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@functools.cache
def _thread_cell():
    """(ctypes int[2], its address), read by every kernel: [0] the thread count,
    [1] set by a kernel once it has run on several threads."""
    from symtheano.configuration import config

    cell = (ctypes.c_int * 2)(openmp_threads(), 0)

    def follow(_value):
        cell[0] = openmp_threads()

    def after_fork():
        # GNU libgomp's thread pool does not survive fork(): in a child of a process
        # whose kernels ran on several threads, the next parallel region would wait
        # forever for threads that do not exist. Such a child runs kernels serially.
        global _serial_after_fork
        if cell[1]:
            _serial_after_fork = True
            cell[0] = 1

    config.on_change("openmp_threads", follow)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)
    return cell, ctypes.addressof(cell)
