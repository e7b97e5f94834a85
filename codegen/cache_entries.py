"""One compile-cache entry on disk: its metadata (`meta.json`: the format, the
key, and each artifact's size and sha256) and its verification before anything
in it is loaded. Shared by the cache itself (cache.py), which writes entries and
verifies every hit, and by the read-only bundle of entries built when the
package is installed (`bundled_entry`), which is verified the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

from .cache_keys import debug_enabled, logger
from .locks import Untrusted, open_private, untrusted_reason

ENTRY_FORMAT = 1  # the layout of meta.json; an entry of another format is rebuilt
META = "meta.json"
KEY_RE = re.compile(r"[0-9a-f]{16,128}\Z")
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,200}\Z")
SHA_RE = re.compile(r"[0-9a-f]{64}\Z")
MAX_META_BYTES = 1 << 20


class Bad(Exception):
    """An entry that must not be used: state is "missing", "corrupt" or "unsafe"."""

    def __init__(self, state, reason):
        super().__init__(reason)
        self.state, self.reason = state, reason


def open_checked(path, owners=None):
    """(fd, stat) of a private regular file of an entry; `Bad` otherwise."""
    try:
        return open_private(path, owners)
    except FileNotFoundError:
        raise Bad("corrupt", f"{path} is missing") from None
    except Untrusted as exc:
        raise Bad("unsafe", str(exc)) from None
    except OSError as exc:
        raise Bad("corrupt", f"{path} cannot be read ({exc.strerror})") from None


def sha256_fd(fd):
    digest = hashlib.sha256()
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def read_meta(entry, key, owners=None):
    fd, st = open_checked(entry / META, owners)
    try:
        if st.st_size > MAX_META_BYTES:
            raise Bad("corrupt", f"{entry / META} is implausibly large ({st.st_size} bytes)")
        data = os.read(fd, MAX_META_BYTES + 1)
    finally:
        os.close(fd)
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise Bad("corrupt", f"{entry / META} is not valid JSON ({exc})") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if (not isinstance(doc, dict) or doc.get("format") != ENTRY_FORMAT or doc.get("key") != key
            or not isinstance(files, dict)
            or not all(isinstance(n, str) and NAME_RE.match(n) and n != META
                       and isinstance(f, dict) and type(f.get("size")) is int
                       and isinstance(f.get("sha256"), str) and SHA_RE.match(f["sha256"])
                       for n, f in files.items())):
        raise Bad("corrupt", f"{entry / META} is not metadata of format {ENTRY_FORMAT} "
                              f"for key {key[:16]}")
    return doc


def verify_entry(entry, key, names, owners=None):
    """Raise `Bad` unless `entry` is a complete, intact, private entry for `key`
    (`owners`: see locks.untrusted_reason)."""
    try:
        st = os.lstat(entry)
    except FileNotFoundError:
        raise Bad("missing", f"{entry} does not exist") from None
    if not stat.S_ISLNK(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        raise Bad("corrupt", f"{entry} is not a directory")
    problem = untrusted_reason(st, entry, "dir", owners)
    if problem:
        raise Bad("unsafe", problem)
    files = read_meta(entry, key, owners)["files"]
    absent = [n for n in names if n not in files]
    if absent:
        raise Bad("corrupt", f"{entry} is incomplete: no {', '.join(absent)}")
    for name, record in files.items():
        fd, st = open_checked(entry / name, owners)
        try:
            if st.st_size != record["size"]:
                raise Bad("corrupt", f"{entry / name} has {st.st_size} bytes, "
                                      f"expected {record['size']} (truncated or overwritten)")
            if sha256_fd(fd) != record["sha256"]:
                raise Bad("corrupt", f"{entry / name} does not match its recorded sha256")
        finally:
            os.close(fd)


def bundled_entry(root, key, files=()):
    """The entry for `key` in a read-only bundle of entries built when the package
    was installed (`root`/entries/<key>, the layout of a cache), or None.

    The bundle is part of the installed package: it may belong to this user or
    to root (like the package's Python files), but nothing in it may be a symlink
    or writable by group or others, and every file must match the size and
    sha256 in its meta.json, as for a cache hit. A bundle is never written to."""
    if not isinstance(key, str) or not KEY_RE.match(key):
        return None
    entry = Path(root) / "entries" / key
    owners = {0, os.geteuid()} if hasattr(os, "geteuid") else None
    try:
        for folder in (Path(root), Path(root) / "entries"):  # nobody else may swap entries
            problem = untrusted_reason(os.lstat(folder), folder, "dir", owners)
            if problem:
                raise Bad("unsafe", problem)
        verify_entry(entry, key, tuple(files), owners)
    except (Bad, OSError) as exc:
        if debug_enabled() and not (isinstance(exc, Bad) and exc.state == "missing"):
            logger().debug("bundled entry %s not used: %s", key[:16], exc)
        return None
    return entry
