"""How the compile cache guards against other processes and other users.

Other processes: a `KeyLock` is an exclusive `flock` on a small file, one per
cache key. The kernel drops the lock when its holder exits for any reason,
SIGKILL included, so a waiter never waits on a dead process. While it holds
the lock, the holder writes its host, pid and start time into the lock file,
so a waiter that gives up can say who held it. Lock files are never truncated
or removed by a process that does not hold them. A holder may unlink its lock
file (`cache clear` does); a waiter that then wins the lock on the orphaned
inode notices and tries again on the path. Without `fcntl` (Windows) the
`filelock` package stands in.

Other users: `untrusted_reason`, `directory_problem`, `parent_problem` and
`open_private` say why a directory or file could have been written by someone
else (a symlink, another owner, group- or world-writable, a parent directory
that another user owns or may write), so that nothing is loaded from it.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_POSIX = hasattr(os, "geteuid")
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))
_OPEN_FLAGS = (os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
_CONTENDED = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}
_MAX_POLL_S = 0.05


class LockTimeout(TimeoutError):
    """A lock stayed held by another process for longer than the timeout."""

    def __init__(self, path, timeout, holder):
        self.path = Path(path)
        self.timeout = timeout
        self.holder = holder
        super().__init__(f"timed out after {timeout:g} s waiting for the compile-cache lock "
                         f"{self.path}, {describe_holder(holder)}")


def describe_holder(holder):
    """A phrase naming the process recorded in a lock file (a dict, or None)."""
    if not holder:
        return "held by an unknown process (no holder recorded)"
    host, pid = holder.get("host", "?"), holder.get("pid", "?")
    text = f"held by pid {pid} on host {host}"
    since = holder.get("since")
    if isinstance(since, (int, float)):
        text += f" for {max(0.0, time.time() - since):.1f} s"
    if host == hostname() and isinstance(pid, int) and not _pid_alive(pid):
        text += (" (that process no longer exists: the lock's file system does not release "
                 "the locks of dead processes; removing the lock file frees it)")
    return text


def hostname():
    """This machine's network name (os.uname: importing socket costs milliseconds)."""
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - Windows
        import socket

        return socket.gethostname()


def read_holder(path):
    """The holder record in a lock file, or None when absent or unreadable."""
    try:
        with open(path, "rb") as f:
            record = json.loads(f.read(4096) or b"null")
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class KeyLock:
    """An exclusive inter-process lock on `path`, usable as a context manager.

    Not reentrant: a second `KeyLock` on the same path, even in the same
    process (another thread), waits for the first to be released.
    """

    def __init__(self, path, timeout=300.0):
        self.path = Path(path)
        self.timeout = timeout
        self._fd = None
        self._fallback = None

    @property
    def held(self):
        return self._fd is not None or self._fallback is not None

    def acquire(self, timeout=None, blocking=True):
        """Take the lock; False when not blocking and it is held elsewhere.

        Raises `LockTimeout` (naming the holder) after `timeout` seconds, and
        OSError when the lock file cannot be created (read-only directory,
        symlink in its place).
        """
        if self.held:
            raise RuntimeError(f"lock {self.path} is already held by this KeyLock")
        timeout = self.timeout if timeout is None else timeout
        if fcntl is None:  # pragma: no cover - Windows
            return self._acquire_fallback(timeout, blocking)
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            if self._try_once():
                return True
            if not blocking:
                return False
            now = time.monotonic()
            if now >= deadline:
                raise LockTimeout(self.path, timeout, read_holder(self.path))
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, _MAX_POLL_S)

    def _try_once(self):
        fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in _CONTENDED:
                    os.close(fd)
                    return False
                raise
            # The holder before us may have unlinked or replaced the file: a lock on
            # an inode that no longer has this path excludes nobody, so start over.
            st = os.fstat(fd)
            try:
                current = os.lstat(self.path)
            except FileNotFoundError:
                current = None
            if (st.st_nlink == 0 or current is None
                    or (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino)):
                os.close(fd)
                return False
            self._fd = fd
            self._write_holder()
            return True
        except BaseException:
            if self._fd != fd:
                os.close(fd)
            raise

    def _write_holder(self):
        record = {"host": hostname(), "pid": os.getpid(), "since": time.time()}
        data = json.dumps(record).encode()
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, data, 0)
        except OSError:
            pass  # the record only improves a timeout message

    def release(self):
        if self._fallback is not None:  # pragma: no cover - Windows
            self._fallback.release()
            self._fallback = None
            return
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # before unlocking: the next holder writes its own record
        except OSError:
            pass
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _acquire_fallback(self, timeout, blocking):  # pragma: no cover - Windows
        import filelock

        lock = filelock.FileLock(str(self.path))
        try:
            lock.acquire(timeout=timeout if blocking else 0)
        except filelock.Timeout:
            if not blocking:
                return False
            raise LockTimeout(self.path, timeout, None) from None
        self._fallback = lock
        return True

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()

    def __repr__(self):
        return f"KeyLock({str(self.path)!r}, held={self.held})"


# --- trust checks -----------------------------------------------------------------------------


class Untrusted(Exception):
    """A path that someone else could have written; the message names it and says why."""


def untrusted_reason(st, path, kind, owners=None):
    """Why an lstat result is not ours alone to write, or None (kind: "dir" or "file").

    `owners`: the uids that may own it (default: this user only); the package's own
    bundled libraries may also belong to root, like the rest of an installed package."""
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link"
    if kind == "dir" and not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory"
    if kind == "file" and not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if _POSIX:
        uid = os.geteuid()
        if st.st_uid != uid and (owners is None or st.st_uid not in owners):
            return f"{path} is owned by uid {st.st_uid}, not by this user (uid {uid})"
        if st.st_mode & 0o022:
            return (f"{path} is writable by other users "
                    f"(mode {stat.S_IMODE(st.st_mode):04o}; expected 0700)")
    return None


def parent_problem(st, parent, root, uid):
    """Why the directory `parent` (`st`: its stat result), above the cache `root`, would
    let someone other than this user (`uid`) replace the cache, or None.

    OpenSSH's StrictModes rule: a parent belongs to this user or to root, and no one
    else may write it, unless its sticky bit keeps them from renaming what is not
    theirs (as on /tmp)."""
    if st.st_uid not in (uid, 0):
        return (f"{parent}, a parent of {root}, is owned by uid {st.st_uid}, not by this "
                f"user (uid {uid}) or root")
    mode = st.st_mode
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and not mode & stat.S_ISVTX:
        who = "all users" if mode & stat.S_IWOTH else "its group"
        return (f"{parent}, a parent of {root}, is writable by {who} (mode "
                f"{stat.S_IMODE(mode):04o}, owner uid {st.st_uid}; this user is uid {uid})")
    return None


def parents_problem(root):
    """The first `parent_problem` of the existing directories above `root` (which need
    not exist), both as written and with symbolic links resolved, or None."""
    if not _POSIX:
        return None
    uid = os.geteuid()
    path = Path(os.path.abspath(root))
    parents = dict.fromkeys([*path.parents, *Path(os.path.realpath(path)).parents])
    for parent in parents:
        try:
            st = os.stat(parent)
        except FileNotFoundError:
            continue
        problem = parent_problem(st, parent, root, uid)
        if problem:
            return problem
    return None


def directory_problem(root, subdirs=()):
    """Why an existing directory `root` (and its existing `subdirs`) is untrusted, or None.

    `root` itself may be a symlink, if the link and its target are both the
    user's own (a deliberate relocation); nothing below it may be. A parent that
    someone else owns or may write could swap `root`, so it is refused too
    (`parent_problem`).
    """
    root = Path(root)
    st = os.lstat(root)
    if stat.S_ISLNK(st.st_mode):
        if _POSIX and st.st_uid != os.geteuid():
            return (f"{root} is a symbolic link owned by uid {st.st_uid}, not by this user "
                    f"(uid {os.geteuid()})")
        target = os.path.realpath(root)
        problem = untrusted_reason(os.stat(root), f"{root} (a link to {target})", "dir")
    else:
        problem = untrusted_reason(st, root, "dir")
    if problem:
        return problem
    problem = parents_problem(root)
    if problem:
        return problem
    for name in subdirs:
        try:
            problem = untrusted_reason(os.lstat(root / name), root / name, "dir")
        except FileNotFoundError:
            continue
        if problem:
            return problem
    return None


def open_private(path, owners=None):
    """(fd, fstat) of the regular file `path`, ours alone, opened without following a symlink.

    Checking the open descriptor rather than the path leaves no window for a
    swap between the check and the read. Raises FileNotFoundError, Untrusted
    or another OSError.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        try:  # unreadable because it is a link or someone else's: say so
            problem = untrusted_reason(os.lstat(path), path, "file", owners)
        except OSError:
            problem = None
        if problem:
            raise Untrusted(problem) from None
        raise exc
    st = os.fstat(fd)
    problem = untrusted_reason(st, path, "file", owners)
    if problem:
        os.close(fd)
        raise Untrusted(problem)
    return fd, st
