"""The on-disk compile cache: build an artifact once, load it safely many times.

    key = cache_key({"source": src, "headers": {...}, "compiler": ..., "flags": ...})
    entry_dir = default_cache().get_or_build(key, build, files=("kernel.so",))

`build(directory)` runs only when no valid entry exists. It writes the files
into a private directory inside the cache; the cache records their sizes and
sha256 checksums in `meta.json` (JSON, never pickle) and publishes the entry
with one atomic rename, so a reader sees a whole entry or none. A hit is
verified (every size and checksum, through descriptors opened without
following symlinks) before its directory is returned; a corrupt, truncated or
incomplete entry is moved to `quarantine/` and rebuilt. A crash at any point
leaves at worst a stale build directory, removed by the next build of that key.

Layout under the root (`SYMTHEANO_CACHE_DIR`, else the user cache directory):

    entries/<key>/        meta.json + the artifacts; directory mtime = last use
    locks/<key>.lock      per-key flock (see `locks.py`); holds the holder's host/pid
    tmp/                  builds in progress, and deletions in progress
    quarantine/           entries that failed verification, kept for inspection

Trust: the root (and any parent it needs) is created 0700. Nothing is loaded
from a root, entry or file that is a symlink (the root itself may be the user's
own symlink), is owned by another user, or is writable by group or others; nor
when a parent of the root is owned by anyone but the user or root, or is
writable by group or others without the sticky bit (OpenSSH's StrictModes). When the cache cannot be
trusted or written (read-only, full), the build runs in a private temporary
directory instead, with one `CacheWarning` per problem per process.

Concurrency: one build per key at a time (N racing processes build once);
different keys build in parallel; a lock dies with its holder, so a killed
build never blocks the next. The least recently used entries are removed when
the cache grows past its cap (`SYMTHEANO_CACHE_MAX_BYTES`, default 1 GiB).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
import time
import warnings
from collections import namedtuple
from pathlib import Path

from .cache_entries import (  # noqa: F401  (bundled_entry: re-export)
    ENTRY_FORMAT,
    KEY_RE,
    META,
    NAME_RE,
    Bad,
    bundled_entry,
    open_checked,
    read_meta,
    sha256_fd,
    verify_entry,
)
from .cache_keys import (  # noqa: F401  (re-export)
    KEY_FORMAT,
    _check_json_value,
    cache_key,
    debug_enabled,
    explain_key,
    logger,
)
from .cache_settings import (  # noqa: F401  (re-export)
    CACHE_DIR_ENV,
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    default_cache_dir,
    max_bytes_from_env,
    parse_size,
)
from .locks import (
    KeyLock,
    LockTimeout,
    directory_problem,
    hostname,
    untrusted_reason,
)

__all__ = ["CacheError", "CacheInfo", "CacheLockTimeout", "CacheWarning", "CompileCache",
           "EntryInfo", "cache_key", "default_cache", "default_cache_dir", "explain_key",
           "max_bytes_from_env", "parse_size"]

DEFAULT_LOCK_TIMEOUT = 600.0

CacheLockTimeout = LockTimeout

_SUBDIRS = ("entries", "locks", "tmp", "quarantine")
# What the cache may delete: only names it made, in case the root holds other files.
_OURS = {"entries": KEY_RE, "quarantine": re.compile(r"[0-9a-f]{16,128}\.\d+\.[0-9a-f]{8}\Z"),
         "tmp": re.compile(r"(?:[0-9a-f]{16,128}\.[a-z0-9_]{8}|trash\.[0-9a-f]{16})\Z"),
         "locks": re.compile(r"[0-9a-f]{16,128}\.lock\Z")}
# errnos that mean "this directory cannot take our files", not "the build is wrong"
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}
_DENIED_ERRNOS = {errno.EACCES, errno.EPERM}
_LOW_DISK_BYTES = 16 << 20


class CacheError(RuntimeError):
    """The cache cannot do what was asked (bad key, build output missing, ...)."""


class CacheWarning(UserWarning):
    """The cache is not used for a build (untrusted or unwritable); it ran elsewhere."""


class _Unavailable(Exception):
    """The cache cannot be written right now; the reason names the path."""


def _collect(directory, names):
    """The artifact names a build produced in `directory`, checked to be regular files."""
    if not names:
        names = tuple(sorted(e.name for e in os.scandir(directory)
                             if e.is_file(follow_symlinks=False) and NAME_RE.match(e.name)
                             and e.name != META))
        if not names:
            raise CacheError(f"the build wrote no files into {directory}")
    for name in names:
        try:
            st = os.lstat(directory / name)
        except FileNotFoundError:
            raise CacheError(f"the build did not produce {name!r} in {directory}") from None
        if not stat.S_ISREG(st.st_mode):
            raise CacheError(f"the build's {directory / name} is not a regular file")
    return names


def _dir_size(path):
    total = 0
    for dirpath, _dirs, filenames in os.walk(path):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _mtime(path):
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0.0


def _delete(path):
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def _write_new_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


_private_dirs = []  # (pid, path) of fallback build directories, removed at exit
_warned = set()
_state_lock = threading.Lock()


def _remove_private_dirs():
    for pid, path in _private_dirs:
        if pid == os.getpid():
            shutil.rmtree(path, ignore_errors=True)


def _build_private(key, build, names):
    directory = Path(tempfile.mkdtemp(prefix=f"symtheano-{key[:16]}-"))
    with _state_lock:
        if not _private_dirs:
            atexit.register(_remove_private_dirs)
        _private_dirs.append((os.getpid(), directory))
    build(directory)
    _collect(directory, names)
    return directory


def _warn_once(message):
    with _state_lock:
        if message in _warned:
            return
        _warned.add(message)
    warnings.warn(message, CacheWarning, stacklevel=4)


# --- the cache --------------------------------------------------------------------------------


EntryInfo = namedtuple("EntryInfo", "key path size created last_used description meta")
EntryInfo.__doc__ = """One published entry: times are Unix seconds; `meta` is the build's meta."""
CacheInfo = namedtuple("CacheInfo", "root exists problem entries total_bytes quarantined "
                                    "quarantined_bytes max_bytes")
CacheInfo.__doc__ = """A summary of a cache: where, whether usable, how many entries, how big."""


class CompileCache:
    """A compile cache rooted at `root` (created on first use).

    `max_bytes` caps the total size (None: no cap); `lock_timeout` bounds the
    wait for another process building the same key.
    """

    def __init__(self, root, *, max_bytes=DEFAULT_MAX_BYTES, lock_timeout=DEFAULT_LOCK_TIMEOUT):
        self.root = Path(os.path.abspath(os.path.expanduser(root)))
        self.max_bytes = max_bytes
        self.lock_timeout = lock_timeout

    def __repr__(self):
        return f"CompileCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    # -- the main entry point

    def get_or_build(self, key, build, files=(), meta=None):
        """The directory holding `files` for `key`, built by `build(directory)` if needed.

        `files` names the artifacts to keep (empty: every top-level file the
        build writes); `meta` is JSON-serialisable data stored with the entry
        (its "description" is shown by `python -m symtheano cache list`).
        Exceptions from `build` propagate; cache trouble never does, except a
        `CacheLockTimeout` when another process holds the key for too long.
        """
        names = self._check_request(key, files)
        meta = {} if meta is None else meta
        if not isinstance(meta, dict):
            raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
        _check_json_value(meta, "meta")
        problem = self._prepare_root()
        if problem:
            return self._refuse(f"not using the compile cache: {problem}", key, build, names)
        entry = self.root / "entries" / key
        if self._is_valid(entry, key, names):
            return entry
        unsafe = None
        try:
            with self._locked(key):
                try:
                    verify_entry(entry, key, names)
                    self._touch(entry)
                    return entry
                except Bad as bad:
                    if debug_enabled():
                        logger().debug("cache miss for %s: %s", key[:16], bad.reason)
                    if bad.state != "missing":
                        self._quarantine(entry, key, bad)
                    if bad.state == "unsafe":
                        unsafe = bad.reason
                    else:
                        entry = self._build_and_publish(key, build, names, meta)
        except _Unavailable as exc:
            return self._refuse(str(exc), key, build, names)
        if unsafe:
            return self._refuse(f"refused a compile-cache entry: {unsafe}", key, build, names)
        self._auto_prune(keep=key)
        return entry

    def lookup(self, key, files=()):
        """The directory of a published, verified entry for `key` holding `files`, or
        None. Never builds, never waits for a lock and never creates the cache: a
        caller that finds nothing decides what to build (get_or_build). An entry
        that fails verification is left alone here; get_or_build quarantines it."""
        names = self._check_request(key, files)
        if not os.path.lexists(self.root) or self.problem():
            return None
        entry = self.root / "entries" / key
        return entry if self._is_valid(entry, key, names) else None

    def problem(self):
        """Why this cache would not be used right now, or None (does not create it)."""
        try:
            return directory_problem(self.root, _SUBDIRS) if os.path.lexists(self.root) else None
        except OSError as exc:
            return f"cannot inspect {self.root} ({exc.strerror})"

    # -- inspection and cleanup

    def entries(self):
        """Every published entry, least recently used first."""
        found = []
        for path in self._listdir("entries"):
            try:
                st = os.lstat(path)
                doc = read_meta(path, path.name)
            except Bad:
                doc = {}
            except OSError:
                continue
            user = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
            description = str(user.get("description", "")) if doc else "(unreadable metadata)"
            created = doc.get("created")
            found.append(EntryInfo(
                key=path.name, path=path, size=_dir_size(path),
                created=created if isinstance(created, (int, float)) else st.st_mtime,
                last_used=st.st_mtime, description=description, meta=user))
        found.sort(key=lambda e: e.last_used)
        return found

    def info(self):
        entries = self.entries()
        quarantined = self._listdir("quarantine")
        return CacheInfo(
            root=self.root, exists=os.path.lexists(self.root), problem=self.problem(),
            entries=len(entries), total_bytes=sum(e.size for e in entries),
            quarantined=len(quarantined), quarantined_bytes=sum(map(_dir_size, quarantined)),
            max_bytes=self.max_bytes)

    def prune(self, max_bytes=None, keep=()):
        """Shrink the cache to `max_bytes` (default: the cap), least recently used first.

        Quarantined entries go first; entries being built or in `keep` stay.
        Returns the keys of the entries removed.
        """
        limit = self.max_bytes if max_bytes is None else max_bytes
        self._check_trusted()
        self._remove_stale_builds()
        if limit is None:
            return []
        quarantined = sorted(self._listdir("quarantine"), key=_mtime)
        entries = self.entries()
        total = sum(map(_dir_size, quarantined)) + sum(e.size for e in entries)
        removed = []
        for path in quarantined:
            if total <= limit:
                break
            size = _dir_size(path)
            self._discard(path)
            total -= size
        for entry in entries:
            if total <= limit:
                break
            if entry.key not in keep and self._remove_entry(entry.key):
                total -= entry.size
                removed.append(entry.key)
        if removed:
            logger().info("pruned %d compile-cache entries from %s", len(removed), self.root)
        return removed

    def clear(self):
        """Remove every entry not being built right now; returns the keys removed."""
        removed = self.prune(max_bytes=0)
        for path in self._listdir("locks"):
            lock = KeyLock(path)
            try:
                if not lock.acquire(blocking=False):
                    continue
            except OSError:
                continue
            try:
                os.unlink(path)  # safe while held: a waiter notices the orphaned inode
            finally:
                lock.release()
        return removed

    # -- internals

    def _check_request(self, key, files):
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise CacheError(f"invalid cache key {key!r}: expected lowercase hex from cache_key()")
        if isinstance(files, str):
            files = (files,)
        names = tuple(files)
        for name in names:
            if not isinstance(name, str) or not NAME_RE.match(name) or name == META:
                raise CacheError(f"invalid artifact name {name!r}: use a plain file name")
        return names

    def _prepare_root(self):
        """Create the root if needed; why it cannot be trusted, or None."""
        root = self.root
        if not os.path.lexists(root):
            try:
                # missing parents too are private (0700, as XDG asks of ~/.cache): under
                # a umask of 002 they would be group-writable, which parents_problem refuses
                for parent in reversed(root.parents):
                    if not os.path.isdir(parent):
                        with contextlib.suppress(FileExistsError):  # another process's
                            os.mkdir(parent, 0o700)
                os.mkdir(root, 0o700)
            except FileExistsError:
                pass
            except OSError as exc:
                return f"cannot create {root} ({exc.strerror})"
            else:
                os.chmod(root, 0o700)
                try:
                    _write_new_file(root / "CACHEDIR.TAG",
                                    b"Signature: 8a477f597d28d172789f06886806bc55\n"
                                    b"# This file is a cache directory tag created by symtheano.\n")
                except OSError:
                    pass
        try:
            return directory_problem(root, _SUBDIRS)
        except OSError as exc:
            return f"cannot inspect {root} ({exc.strerror})"

    def _check_trusted(self):
        problem = self.problem()
        if problem:
            raise CacheError(f"refusing to modify the compile cache: {problem}")

    def _subdir(self, name):
        path = self.root / name
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            problem = untrusted_reason(os.lstat(path), path, "dir")
            if problem:
                raise _Unavailable(f"not using the compile cache: {problem}") from None
        except OSError as exc:
            raise _Unavailable(f"the compile cache {self.root} is not writable "
                               f"(cannot create {path}: {exc.strerror})") from exc
        return path

    def _listdir(self, name):
        """The paths in a subdirectory that the cache made (it touches nothing else)."""
        try:
            return [Path(e.path) for e in os.scandir(self.root / name) if _OURS[name].match(e.name)]
        except OSError:
            return []

    def _is_valid(self, entry, key, names):
        try:
            verify_entry(entry, key, names)
        except Bad:
            return False
        except OSError:
            return False
        self._touch(entry)
        return True

    @staticmethod
    def _touch(entry):
        try:
            os.utime(entry)  # last use, for LRU pruning; a read-only cache still serves hits
        except OSError:
            pass

    @contextlib.contextmanager
    def _locked(self, key):
        locks = self._subdir("locks")
        lock = KeyLock(locks / f"{key}.lock", timeout=self.lock_timeout)
        try:
            lock.acquire()
        except LockTimeout:
            raise
        except OSError as exc:
            raise _Unavailable(f"the compile cache {self.root} is not usable (cannot take a "
                               f"lock in {locks}: {exc.strerror})") from exc
        try:
            yield lock
        finally:
            lock.release()

    def _quarantine(self, entry, key, bad):
        name = f"{key}.{int(time.time())}.{secrets.token_hex(4)}"
        destination = self._subdir("quarantine") / name
        try:
            os.rename(entry, destination)
        except OSError as exc:
            raise _Unavailable(f"cannot move the bad compile-cache entry {entry} aside "
                               f"({exc.strerror}); it was: {bad.reason}") from exc
        logger().warning("compile-cache entry %s failed verification (%s); moved to %s and "
                         "rebuilding", entry, bad.reason, destination)

    def _build_and_publish(self, key, build, names, meta):
        tmp = self._subdir("tmp")
        entries = self._subdir("entries")
        self._remove_stale_builds(key)  # a killed build of this key left its directory
        try:
            staging = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=tmp))
            workdir, assembled = staging / "build", staging / "entry"
            for d in (workdir, assembled):
                os.mkdir(d, 0o700)
                os.chmod(d, 0o700)
        except OSError as exc:
            raise _Unavailable(f"the compile cache {self.root} is not writable "
                               f"(cannot create a build directory in {tmp}: {exc.strerror})"
                               ) from exc
        try:
            started = time.time()
            try:
                build(workdir)
            except Exception as exc:
                why = self._cache_failure(exc, staging)
                if why:
                    raise _Unavailable(f"the compile cache {self.root} cannot hold the build "
                                       f"({why})") from exc
                raise
            elapsed = time.time() - started
            names = _collect(workdir, names)
            try:
                self._publish(key, workdir, assembled, names, meta, started, elapsed, entries)
            except OSError as exc:
                raise _Unavailable(f"cannot publish to the compile cache {self.root} "
                                   f"({exc.strerror or type(exc).__name__})") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return entries / key

    @staticmethod
    def _publish(key, workdir, assembled, names, meta, started, elapsed, entries):
        files = {}
        for name in names:
            path = assembled / name
            os.rename(workdir / name, path)
            os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & 0o700 | 0o600)
            try:
                fd, st = open_checked(path)
            except Bad as bad:
                raise CacheError(f"cannot publish the build's output: {bad.reason}") from None
            try:
                files[name] = {"size": st.st_size, "sha256": sha256_fd(fd)}
            finally:
                os.close(fd)
        doc = {"format": ENTRY_FORMAT, "key": key, "created": started,
               "build_seconds": round(elapsed, 6), "host": hostname(),
               "pid": os.getpid(), "files": files, "meta": meta}
        _write_new_file(assembled / META, json.dumps(doc, indent=1, sort_keys=True).encode())
        # No fsync: after a power loss a half-written entry fails its checksum and is rebuilt.
        os.rename(assembled, entries / key)

    @staticmethod
    def _cache_failure(exc, staging):
        """Why the build failed for want of a writable cache (full, denied), or None."""
        if isinstance(exc, OSError):
            inside = str(exc.filename or "").startswith(str(staging))
            if exc.errno in _FULL_ERRNOS or (exc.errno in _DENIED_ERRNOS and inside):
                return exc.strerror
        try:  # a compiler reports a full disk in its own words
            if shutil.disk_usage(staging).free < _LOW_DISK_BYTES:
                return f"its file system has less than {_LOW_DISK_BYTES >> 20} MiB free"
        except OSError:
            pass
        return None

    def _refuse(self, reason, key, build, names):
        _warn_once(f"{reason}; compiling into a private temporary directory instead")
        return _build_private(key, build, names)

    def _remove_stale_builds(self, key=None):
        """Remove build directories left by killed builds (of `key`, or of any idle key)."""
        for path in self._listdir("tmp"):
            owner = path.name.partition(".")[0]
            if owner == "trash" or owner == key:
                shutil.rmtree(path, ignore_errors=True)
            elif key is None:
                lock = KeyLock(self.root / "locks" / f"{owner}.lock")
                try:
                    if not lock.acquire(blocking=False):
                        continue
                except OSError:
                    continue
                try:
                    shutil.rmtree(path, ignore_errors=True)
                finally:
                    lock.release()

    def _remove_entry(self, key):
        """Remove an entry unless its key is locked (being built or checked)."""
        try:
            lock = KeyLock(self._subdir("locks") / f"{key}.lock")
            if not lock.acquire(blocking=False):
                return False
        except (_Unavailable, OSError) as exc:
            raise CacheError(f"cannot remove compile-cache entries from {self.root}: {exc}"
                             ) from None
        try:
            return self._discard(self.root / "entries" / key)
        finally:
            lock.release()

    def _discard(self, path):
        """Rename `path` into tmp/ (atomic, so readers see all or nothing), then delete it."""
        trash = self.root / "tmp" / f"trash.{secrets.token_hex(8)}"
        try:
            os.rename(path, trash)
        except OSError:
            if not os.path.lexists(path):
                return False
            trash = path  # no tmp/ to rename into: delete in place
        try:
            _delete(trash)
        except FileNotFoundError:
            pass
        return True

    def _auto_prune(self, keep):
        if self.max_bytes is None:
            return
        try:
            if _dir_size(self.root / "entries") + _dir_size(self.root / "quarantine") \
                    > self.max_bytes:
                self.prune(keep=(keep,))
        except (OSError, CacheError) as exc:
            if debug_enabled():
                logger().debug("automatic pruning of %s failed: %s", self.root, exc)


# --- the default cache ------------------------------------------------------------------------


_defaults = {}


def default_cache():
    """The process's cache for the current environment (one object per root and cap)."""
    root, max_bytes = default_cache_dir(), max_bytes_from_env()
    with _state_lock:
        cache = _defaults.get((root, max_bytes))
        if cache is None:
            cache = _defaults[(root, max_bytes)] = CompileCache(root, max_bytes=max_bytes)
    return cache
