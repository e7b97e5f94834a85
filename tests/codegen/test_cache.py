"""The compile cache within one process: keys, verification and quarantine, trust checks,
read-only and full caches, lock timeouts and LRU pruning (test_cache_processes.py has
what needs other processes).

Every test uses a private cache directory under tmp_path and tiny fake artifacts. The
tests run as root in CI, where permissions do not bind: ownership is then simulated with
real chown calls, and a read-only directory with a patch that denies writes under it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import threading
import time
import warnings
from pathlib import Path

import pytest
from symtheano.codegen.cache import (
    CacheError,
    CacheLockTimeout,
    CacheWarning,
    CompileCache,
    cache_key,
    default_cache,
    explain_key,
    parse_size,
)
from symtheano.codegen.locks import KeyLock

ARTIFACT = "module.so"
PAYLOAD = bytes(range(256)) * 4
KEY = cache_key({"source": "test entry"})
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
posix_only = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership and modes")


class Builder:
    """A build function that records its calls and writes a fixed artifact (plus junk)."""

    def __init__(self):
        self.calls = []

    def __call__(self, directory):
        self.calls.append(Path(directory))
        (Path(directory) / ARTIFACT).write_bytes(PAYLOAD)
        (Path(directory) / "scratch.o").write_bytes(b"intermediate")


@pytest.fixture(autouse=True)
def private_default_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMTHEANO_CACHE_DIR", str(tmp_path / "default-cache"))
    monkeypatch.delenv("SYMTHEANO_CACHE_MAX_BYTES", raising=False)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def cache(root):
    return CompileCache(root)


def fetch(cache, build, key=KEY, **kwargs):
    path = cache.get_or_build(key, build, files=(ARTIFACT,), **kwargs)
    assert (path / ARTIFACT).read_bytes() == PAYLOAD
    return path


def inside(path, root):
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


@contextlib.contextmanager
def no_cache_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        yield


# --- keys -------------------------------------------------------------------------------------

PARTS = {"source": "double f(double x) { return x * x; }",
         "headers": {"b.h": "#define B 2", "a.h": "#define A 1"},
         "compiler": "gcc 12.2.0 /usr/bin/gcc", "flags": "-O3 -fopenmp",
         "platform": "linux x86_64", "python_abi": "cpython-311-x86_64-linux-gnu",
         "package_version": "0.1.0", "blob": b"\x00\xff", "numbers": [1, 2.5, True, None]}
# Pinned: a change here invalidates every user's cache, so it must be deliberate.
GOLDEN_KEY = "e11ac141f5ef45227563d658947d031b8d2161d5143a1885745bf622791d9660"
def test_key_is_pinned_and_ignores_dict_order():
    assert cache_key(PARTS) == GOLDEN_KEY
    shuffled = {k: PARTS[k] for k in reversed(list(PARTS))}
    shuffled["headers"] = {"a.h": "#define A 1", "b.h": "#define B 2"}
    assert cache_key(shuffled) == GOLDEN_KEY


def test_a_changed_part_misses_and_is_named():
    changed = {**PARTS, "flags": "-O2 -fopenmp"}
    assert cache_key(changed) != cache_key(PARTS)
    before, after = explain_key(PARTS), explain_key(changed)
    assert [name for name in before if before[name] != after[name]] == ["flags"]
    assert cache_key({**PARTS, "compiler": "gcc 13.1.0 /usr/bin/gcc"}) != GOLDEN_KEY


def test_key_parts_are_logged_at_debug(caplog):
    with caplog.at_level(logging.DEBUG, logger="symtheano.codegen.cache"):
        key = cache_key(PARTS)
    assert key in caplog.text and explain_key(PARTS)["flags"] in caplog.text


@pytest.mark.parametrize("parts", [{}, {"source": {1, 2}}, {"source": {1: "x"}},
                                   {"source": float("nan")}, {3: "x"}, ["source"]])
def test_key_rejects_ambiguous_parts(parts):
    with pytest.raises((TypeError, ValueError)):
        cache_key(parts)


# --- building and hits ------------------------------------------------------------------------


def test_builds_once_then_hits(cache, root):
    builder = Builder()
    with no_cache_warnings():
        first = fetch(cache, builder, meta={"description": "a test entry"})
        second = fetch(cache, builder)
    assert first == second == root / "entries" / KEY
    assert len(builder.calls) == 1 and inside(builder.calls[0], root / "tmp")
    assert sorted(os.listdir(first)) == ["meta.json", ARTIFACT]  # scratch files are dropped
    meta = json.loads((first / "meta.json").read_text())
    assert meta["files"][ARTIFACT]["size"] == len(PAYLOAD)
    assert meta["meta"] == {"description": "a test entry"}
    if hasattr(os, "geteuid"):
        assert os.stat(root).st_mode & 0o777 == 0o700
        assert os.stat(first / ARTIFACT).st_mode & 0o077 == 0
    assert (root / "CACHEDIR.TAG").exists()
    assert os.listdir(root / "tmp") == []


def test_threads_racing_on_one_key_build_once(cache):
    builder = Builder()
    slow = lambda d: (time.sleep(0.05), builder(d))  # noqa: E731
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        cache.get_or_build(KEY, slow, files=(ARTIFACT,)))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builder.calls) == 1 and len(set(results)) == 1 and len(results) == 6


def test_build_errors_propagate_and_leave_nothing(cache, root):
    def failing(directory):
        (Path(directory) / ARTIFACT).write_bytes(b"half")
        raise ValueError("compiler said no")

    with pytest.raises(ValueError, match="compiler said no"):
        cache.get_or_build(KEY, failing, files=(ARTIFACT,))
    assert os.listdir(root / "entries") == [] and os.listdir(root / "tmp") == []
    fetch(cache, Builder())


def test_a_missing_artifact_is_an_error_naming_it(cache):
    with pytest.raises(CacheError, match="did not produce 'other.so'"):
        cache.get_or_build(KEY, Builder(), files=("other.so",))


@pytest.mark.parametrize("key, files", [("../etc", ()), ("ABC" * 20, ()), (KEY, ("../x",)),
                                        (KEY, ("meta.json",)), (KEY, ("a/b",))])
def test_bad_keys_and_names_are_refused(cache, key, files):
    with pytest.raises(CacheError, match="invalid"):
        cache.get_or_build(key, Builder(), files=files)


def test_meta_must_be_json(cache):
    with pytest.raises(TypeError, match="meta"):
        cache.get_or_build(KEY, Builder(), files=(ARTIFACT,), meta={"x": object()})


def test_stale_build_directory_of_a_killed_build_is_removed(cache, root):
    fetch(cache, Builder(), key=cache_key({"source": "other"}))
    leftover = root / "tmp" / f"{KEY}.killed_1"
    (leftover / "build").mkdir(parents=True)
    fetch(cache, Builder())
    assert not leftover.exists()


# --- corruption -------------------------------------------------------------------------------


def _truncate(n):
    return lambda entry: (entry / ARTIFACT).write_bytes(PAYLOAD[:n(len(PAYLOAD))])


def _flip(entry):
    data = bytearray((entry / ARTIFACT).read_bytes())
    data[len(data) // 3] ^= 0x01
    (entry / ARTIFACT).write_bytes(bytes(data))


CORRUPTIONS = {
    "empty": _truncate(lambda n: 0),
    "one byte": _truncate(lambda n: 1),
    "half": _truncate(lambda n: n // 2),
    "n-1 bytes": _truncate(lambda n: n - 1),
    "flipped byte": _flip,
    "random bytes": lambda e: (e / ARTIFACT).write_bytes(os.urandom(len(PAYLOAD))),
    "one byte more": lambda e: (e / ARTIFACT).write_bytes(PAYLOAD + b"\0"),
    "artifact missing": lambda e: (e / ARTIFACT).unlink(),
    "metadata missing": lambda e: (e / "meta.json").unlink(),
    "metadata garbage": lambda e: (e / "meta.json").write_bytes(b"{\"format\": 1, \"fi\x00"),
    "metadata empty": lambda e: (e / "meta.json").write_bytes(b""),
    "metadata a list": lambda e: (e / "meta.json").write_text("[1, 2]"),
    "metadata of another key": lambda e: (e / "meta.json").write_text(
        (e / "meta.json").read_text().replace(KEY, "0" * 64)),
    "metadata bad checksum": lambda e: (e / "meta.json").write_text(
        (e / "meta.json").read_text().replace('"sha256": "', '"sha256": "zz')),
    "entry is a file": lambda e: (shutil.rmtree(e), e.write_bytes(b"x")),
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_corrupt_entries_are_quarantined_and_rebuilt(cache, root, damage, caplog):
    builder = Builder()
    entry = fetch(cache, builder)
    CORRUPTIONS[damage](entry)
    with no_cache_warnings(), caplog.at_level(logging.WARNING, "symtheano.codegen.cache"):
        again = fetch(cache, builder)
    assert again == entry and len(builder.calls) == 2
    quarantined = os.listdir(root / "quarantine")
    assert len(quarantined) == 1 and quarantined[0].startswith(KEY)
    assert str(entry) in caplog.text and "quarantine" in caplog.text
    fetch(cache, builder)
    assert len(builder.calls) == 2


def test_an_incomplete_entry_is_rebuilt(cache, root):
    def two_files(directory):
        Builder()(directory)
        (Path(directory) / "module.h").write_text("int f(void);")

    fetch(cache, Builder())
    path = cache.get_or_build(KEY, two_files, files=(ARTIFACT, "module.h"))
    assert (path / "module.h").exists() and len(os.listdir(root / "quarantine")) == 1


# --- trust ------------------------------------------------------------------------------------


def make_foreign(monkeypatch, path):
    """Make `path` (not following a symlink) look owned by another user."""
    if IS_ROOT:
        os.lchown(path, 4242, 4242)
    else:  # cannot chown: make this process a different user instead
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 4242)


def refused(cache, build, match, key=KEY):
    """Fetch, expecting one CacheWarning matching `match` and a private build."""
    with pytest.warns(CacheWarning, match=match) as record:
        path = fetch(cache, build, key=key)
    assert len([w for w in record if issubclass(w.category, CacheWarning)]) == 1
    assert not inside(path, cache.root)
    return path


@posix_only
@pytest.mark.parametrize("where", [".", "entries"])
def test_world_writable_root_is_refused_with_one_warning(cache, root, where):
    builder = Builder()
    fetch(cache, builder)
    os.chmod(root / where, 0o777)
    refused(cache, builder, r"writable by other users \(mode 0777")
    with no_cache_warnings():  # once per process
        path = fetch(cache, builder)
    assert not inside(path, root) and len(builder.calls) == 3


@posix_only
@pytest.mark.parametrize("target", ["entry", "artifact", "metadata"])
def test_writable_entry_or_file_is_refused(cache, root, target):
    builder = Builder()
    entry = fetch(cache, builder)
    path = {"entry": entry, "artifact": entry / ARTIFACT, "metadata": entry / "meta.json"}[target]
    os.chmod(path, 0o777 if target == "entry" else 0o666)
    refused(cache, builder, "writable by other users")
    assert len(os.listdir(root / "quarantine")) == 1  # moved aside, not loaded
    with no_cache_warnings():
        assert fetch(cache, builder) == entry  # the cache heals on the next build


@pytest.mark.parametrize("target", [ARTIFACT, "meta.json"])
def test_planted_symlink_in_an_entry_is_refused(cache, root, tmp_path, target):
    builder = Builder()
    entry = fetch(cache, builder)
    decoy = tmp_path / "decoy"
    shutil.copy(entry / target, decoy)  # identical bytes: only the link itself gives it away
    (entry / target).unlink()
    (entry / target).symlink_to(decoy)
    refused(cache, builder, "symbolic link")
    assert not (root / "entries" / KEY).exists()


def test_entry_that_is_a_symlink_is_refused(cache, root, tmp_path):
    builder = Builder()
    entry = fetch(cache, builder)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(entry, elsewhere)
    shutil.rmtree(entry)
    entry.symlink_to(elsewhere)
    refused(cache, builder, "symbolic link")


@posix_only
def test_root_linking_to_a_foreign_directory_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "theirs"
    CompileCache(target).get_or_build(KEY, Builder(), files=(ARTIFACT,))
    link = tmp_path / "cache-link"
    link.symlink_to(target)
    make_foreign(monkeypatch, target)
    refused(CompileCache(link), Builder(), "owned by uid")


@posix_only
def test_root_that_is_a_planted_symlink_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "mine"
    link = tmp_path / "cache-link"
    link.symlink_to(target)
    CompileCache(target).get_or_build(KEY, Builder(), files=(ARTIFACT,))
    make_foreign(monkeypatch, link)
    refused(CompileCache(link), Builder(), "symbolic link owned by uid")


@posix_only
@pytest.mark.skipif(not IS_ROOT, reason="needs chown to make one entry foreign")
def test_entry_owned_by_another_user_is_refused(cache):
    builder = Builder()
    entry = fetch(cache, builder)
    os.lchown(entry / ARTIFACT, 4242, 4242)
    refused(cache, builder, "owned by uid 4242")


def test_users_own_symlinked_root_is_accepted(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = tmp_path / "cache-link"
    link.symlink_to(target)
    with no_cache_warnings():
        path = fetch(CompileCache(link), Builder())
    assert inside(path, target)


@posix_only
def test_world_writable_parent_without_sticky_bit_is_refused(tmp_path):
    parent = tmp_path / "open"
    parent.mkdir()
    os.chmod(parent, 0o777)
    refused(CompileCache(parent / "cache"), Builder(), "writable by all users")


# --- read-only and full caches ----------------------------------------------------------------


def deny_writes_under(monkeypatch, root):
    """Make every write under `root` fail with EACCES, as chmod 0500 would for non-root."""
    root = os.path.realpath(root)

    def guard(real, writes=lambda *a: True):
        def wrapper(path, *args, **kwargs):
            if os.path.realpath(path).startswith(root) and writes(*args):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path, *args, **kwargs)
        return wrapper

    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT
    monkeypatch.setattr(os, "open", guard(os.open, lambda flags, *a: flags & write_flags))
    for name in ("mkdir", "rename", "utime", "chmod", "unlink", "rmdir"):
        monkeypatch.setattr(os, name, guard(getattr(os, name)))


@posix_only
def test_read_only_cache_compiles_privately_with_one_warning(cache, root, monkeypatch):
    root.mkdir(mode=0o700)
    os.chmod(root, 0o500)
    if IS_ROOT:
        deny_writes_under(monkeypatch, root)
    builder = Builder()
    try:
        refused(cache, builder, "not writable")
        with no_cache_warnings():
            path = fetch(cache, builder, key=cache_key({"source": "another"}))
    finally:
        monkeypatch.undo()
        os.chmod(root, 0o700)
    assert not inside(path, root) and len(builder.calls) == 2


@posix_only
def test_read_only_cache_still_serves_hits(cache, root, monkeypatch):
    builder = Builder()
    entry = fetch(cache, builder)
    for path in (root, root / "entries", entry):
        os.chmod(path, 0o500)
    if IS_ROOT:
        deny_writes_under(monkeypatch, root)
    try:
        with no_cache_warnings():
            assert fetch(cache, builder) == entry
    finally:
        monkeypatch.undo()
        for path in (root, root / "entries", entry):
            os.chmod(path, 0o700)
    assert len(builder.calls) == 1


def test_full_cache_compiles_privately_with_one_warning(cache, root):
    builder = Builder()

    def full(directory):
        if inside(directory, root):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory / ARTIFACT))
        builder(directory)

    refused(cache, full, "No space left on device")
    for _ in range(2):
        with no_cache_warnings():
            path = cache.get_or_build(KEY, full, files=(ARTIFACT,))
        assert not inside(path, root)
    assert os.listdir(root / "tmp") == []


def test_compiler_failing_on_a_full_disk_falls_back(cache, root, monkeypatch):
    builder = Builder()

    def compiler_out_of_space(directory):
        if inside(directory, root):
            raise RuntimeError("C compilation failed: cannot write output")
        builder(directory)

    usage = shutil.disk_usage(root.parent)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1024))
    with pytest.warns(CacheWarning, match="less than 16 MiB free"):
        path = cache.get_or_build(KEY, compiler_out_of_space, files=(ARTIFACT,))
    assert not inside(path, root)


# --- locks ------------------------------------------------------------------------------------


def test_lock_timeout_names_the_holder_and_the_lock(cache, root):
    fetch(cache, Builder(), key=cache_key({"source": "creates the layout"}))
    lock = KeyLock(root / "locks" / f"{KEY}.lock")
    lock.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(CacheLockTimeout) as info:
            CompileCache(root, lock_timeout=0.2).get_or_build(KEY, Builder(), files=(ARTIFACT,))
        assert time.monotonic() - started < 2
    finally:
        lock.release()
    message = str(info.value)
    assert f"pid {os.getpid()}" in message and socket.gethostname() in message
    assert str(root / "locks" / f"{KEY}.lock") in message


# --- size cap and cleanup ---------------------------------------------------------------------


def populate(cache, count):
    """`count` entries, the first least recently used; returns their keys."""
    keys = [cache_key({"source": f"entry {i}"}) for i in range(count)]
    now = time.time()
    for i, key in enumerate(keys):
        fetch(cache, Builder(), key=key)
        os.utime(cache.root / "entries" / key, (now - 1000 + i, now - 1000 + i))
    return keys


def test_prune_removes_least_recently_used_first(cache):
    keys = populate(cache, 4)
    fetch(cache, Builder(), key=keys[0])  # a hit makes the oldest the newest
    entry_size = cache.entries()[0].size
    removed = cache.prune(max_bytes=int(2.5 * entry_size))
    assert removed == [keys[1], keys[2]]
    assert [e.key for e in cache.entries()] == [keys[3], keys[0]]


def test_prune_removes_quarantine_first_and_skips_locked_entries(cache, root):
    keys = populate(cache, 3)
    (root / "entries" / keys[2] / ARTIFACT).write_bytes(b"")
    fetch(cache, Builder(), key=keys[2])  # quarantines the damaged copy
    with KeyLock(root / "locks" / f"{keys[0]}.lock"):
        removed = cache.prune(max_bytes=0)
    assert removed == [keys[1], keys[2]]
    assert os.listdir(root / "quarantine") == []
    assert [e.key for e in cache.entries()] == [keys[0]]


def test_cache_over_its_cap_prunes_itself(root):
    probe = CompileCache(root)
    fetch(probe, Builder(), key=cache_key({"source": "probe"}))
    entry_size = probe.entries()[0].size
    probe.clear()
    cache = CompileCache(root, max_bytes=int(3.5 * entry_size))
    keys = populate(cache, 5)
    assert [e.key for e in cache.entries()] == keys[2:]


def test_clear_removes_entries_and_nothing_else(cache, root):
    populate(cache, 2)
    foreign = [root / "notes.txt", root / "tmp" / "notes.txt", root / "entries" / "README",
               root / "locks" / "other.lock", root / "quarantine" / "x"]
    for path in foreign:
        path.parent.mkdir(exist_ok=True)
        path.write_text("not the cache's")
    assert len(cache.clear()) == 2
    assert cache.entries() == [] and all(path.exists() for path in foreign)
    assert (root / "CACHEDIR.TAG").exists() and os.listdir(root / "locks") == ["other.lock"]


@posix_only
def test_clear_refuses_an_untrusted_root(tmp_path):
    target = tmp_path / "theirs"
    fetch(CompileCache(target), Builder())
    os.chmod(target, 0o777)
    with pytest.raises(CacheError, match="refusing to modify"):
        CompileCache(target).clear()
    assert (target / "entries" / KEY).exists()


def test_sizes_and_environment(tmp_path, monkeypatch):
    assert parse_size("2K") == 2048 and parse_size("1.5GiB") == 3 << 29
    assert parse_size("1000") == 1000 and parse_size("none") is None
    monkeypatch.setenv("SYMTHEANO_CACHE_MAX_BYTES", "64M")
    monkeypatch.setenv("SYMTHEANO_CACHE_DIR", str(tmp_path / "env-cache"))
    cache = default_cache()
    assert cache.root == tmp_path / "env-cache" and cache.max_bytes == 64 << 20
    assert default_cache() is cache
    monkeypatch.setenv("SYMTHEANO_CACHE_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="SYMTHEANO_CACHE_MAX_BYTES"):
        default_cache()


# --- lookups without building, bundled entries, memoised part hashes ---------------------------


def test_lookup_never_builds_and_finds_published_entries(cache, root):
    assert cache.lookup(KEY, (ARTIFACT,)) is None
    assert not os.path.lexists(root)  # a lookup does not even create the cache
    built = Builder()
    entry = fetch(cache, built)
    assert cache.lookup(KEY, (ARTIFACT,)) == entry
    (entry / ARTIFACT).write_bytes(PAYLOAD[:-1])  # truncated: not served, left for rebuild
    assert cache.lookup(KEY, (ARTIFACT,)) is None
    assert fetch(cache, built) == entry and len(built.calls) == 2


def _bundle(tmp_path, key=KEY):
    """A bundle as setup.py leaves it: a cache's entries, readable by all, written by none."""
    from symtheano.codegen.c import prebuild  # noqa: F401  (the module that makes them)

    staging = CompileCache(tmp_path / "staging")
    fetch(staging, Builder(), key=key)
    bundle = tmp_path / "bundle"
    shutil.copytree(tmp_path / "staging" / "entries", bundle / "entries")
    for path in [bundle, bundle / "entries", *(bundle / "entries").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return bundle


def test_bundled_entries_are_verified_like_hits(tmp_path):
    from symtheano.codegen.cache import bundled_entry

    bundle = _bundle(tmp_path)
    entry = bundled_entry(bundle, KEY, (ARTIFACT,))
    assert entry == bundle / "entries" / KEY and (entry / ARTIFACT).read_bytes() == PAYLOAD
    assert bundled_entry(bundle, cache_key({"source": "other"}), (ARTIFACT,)) is None
    assert bundled_entry(bundle, KEY, ("missing.so",)) is None
    assert bundled_entry(bundle, "../" + KEY, (ARTIFACT,)) is None
    artifact = entry / ARTIFACT
    data = bytearray(artifact.read_bytes())
    data[7] ^= 1  # one flipped bit
    artifact.write_bytes(bytes(data))
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) is None
    artifact.write_bytes(PAYLOAD)
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) == entry


@posix_only
def test_bundled_entries_writable_by_others_or_linked_are_refused(tmp_path):
    from symtheano.codegen.cache import bundled_entry

    bundle = _bundle(tmp_path)
    entry = bundle / "entries" / KEY
    os.chmod(entry / ARTIFACT, 0o666)
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) is None
    os.chmod(entry / ARTIFACT, 0o644)
    os.chmod(bundle / "entries", 0o777)  # anyone could swap an entry
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) is None
    os.chmod(bundle / "entries", 0o755)
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) == entry
    planted = tmp_path / "planted"
    os.rename(entry, planted)
    os.symlink(planted, entry)
    assert bundled_entry(bundle, KEY, (ARTIFACT,)) is None


def test_part_hashes_are_remembered_by_value_only():
    headers = {"a.h": "x" * 5000, "b.h": "y" * 5000}
    first = explain_key({"headers": headers, "source": "z" * 5000})
    same = explain_key({"headers": dict(headers), "source": "".join(["z"] * 5000)})
    changed = explain_key({"headers": {**headers, "b.h": "y" * 4999 + "Y"}, "source": "z" * 5000})
    assert same == first
    assert changed["headers"] != first["headers"] and changed["source"] == first["source"]
    import hashlib
    import json as _json

    canonical = _json.dumps(headers, sort_keys=True, separators=(",", ":"),
                            ensure_ascii=True).encode()
    assert first["headers"] == hashlib.sha256(b"j:" + canonical).hexdigest()
