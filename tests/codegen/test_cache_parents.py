"""The directories above the compile cache (issue 9): OpenSSH's StrictModes rule.

The cache directory must be the user's own; every directory above it must belong to
the user or to root and be writable by no one else unless its sticky bit is set (as
on /tmp). Otherwise another user could rename the cache away and put their own in its
place, so the cache is refused: the build runs in a private temporary directory, with
one CacheWarning naming the directory, its owner and this user.

Other owners cannot be made without root, so the rule is tested on stat results made
by hand (`parent_problem`, `untrusted_reason`) and through a real fetch with `os.stat`
patched to report another owner for one directory. tests/reliability/test_security.py
gives a real directory away when the tests run as root.
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from pathlib import Path

import pytest
from symtheano.codegen.cache import CacheWarning, CompileCache, cache_key
from symtheano.codegen.locks import parent_problem, parents_problem, untrusted_reason

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership and modes")

KEY = cache_key({"source": "test entry for parent directories"})
ME = os.geteuid() if hasattr(os, "geteuid") else 1000
OTHER = 12345 if ME != 12345 else 12346


def dir_stat(uid, mode):
    """A stat result of a directory owned by `uid` with permission bits `mode`."""
    return os.stat_result((stat.S_IFDIR | mode, 1, 1, 2, uid, uid, 4096, 0, 0, 0))


# --- the decision, on stat results made by hand --------------------------------------------

@pytest.mark.parametrize("owner,mode,refused", [
    (ME, 0o755, None),                    # the user's own home
    (ME, 0o700, None),
    (0, 0o755, None),                     # /home, /
    (0, 0o1777, None),                    # /tmp: writable by all, but sticky
    (0, 0o1775, None),                    # group-writable and sticky
    (ME, 0o1777, None),
    (OTHER, 0o755, "owned by uid"),       # another user's directory
    (OTHER, 0o1777, "owned by uid"),      # sticky, but its owner may rename anything
    (0, 0o777, "writable by all users"),  # no sticky bit: anyone may rename the cache
    (ME, 0o757, "writable by all users"),
    (0, 0o775, "writable by its group"),
    (ME, 0o770, "writable by its group"),
])
def test_parent_rule(owner, mode, refused):
    problem = parent_problem(dir_stat(owner, mode), Path("/p"), Path("/p/cache"), ME)
    if refused is None:
        assert problem is None
    else:
        assert refused in problem
        # names the directory, its owner and this user
        assert problem.startswith("/p, a parent of /p/cache")
        assert f"uid {owner}" in problem and f"uid {ME}" in problem


def test_the_cache_itself_must_be_the_users():
    """Root may own a parent, not the cache (unless the user is root)."""
    for owner in {OTHER, 0} - {ME}:
        problem = untrusted_reason(dir_stat(owner, 0o700), "/p/cache", "dir")
        assert f"owned by uid {owner}, not by this user (uid {ME})" in problem
    assert untrusted_reason(dir_stat(ME, 0o700), "/p/cache", "dir") is None


# --- through a real fetch ---------------------------------------------------------------------

@contextlib.contextmanager
def reported_as(monkeypatch, directory, uid=None, mode=None):
    """os.stat reports `directory` with another owner and/or permission bits."""
    real = os.stat
    target = os.path.realpath(directory)

    def fake(path, *args, **kwargs):
        st = real(path, *args, **kwargs)
        if (isinstance(path, int) or not stat.S_ISDIR(st.st_mode)
                or os.path.realpath(path) != target):
            return st
        fields = list(st)
        if uid is not None:
            fields[stat.ST_UID] = uid
        if mode is not None:
            fields[stat.ST_MODE] = stat.S_IFDIR | mode
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", fake)
    yield
    monkeypatch.setattr(os, "stat", real)


def build(directory):
    (Path(directory) / "module.so").write_bytes(b"library")


def fetch(cache):
    return cache.get_or_build(KEY, build, files=("module.so",))


def inside(path, root):
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def quiet_fetch(cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        return fetch(cache)


def test_a_parent_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    parent = tmp_path / "theirs"
    parent.mkdir()
    cache = CompileCache(parent / "sub" / "cache")
    assert inside(quiet_fetch(cache), cache.root)  # healthy first
    with reported_as(monkeypatch, parent, uid=OTHER):
        with pytest.warns(CacheWarning) as record:
            path = fetch(cache)
        assert not inside(path, cache.root) and (Path(path) / "module.so").exists()
        assert len(record) == 1
        message = str(record[0].message)
        assert f"{parent}, a parent of {cache.root}, is owned by uid {OTHER}" in message
        assert f"not by this user (uid {ME})" in message
        assert "private temporary directory" in message
        assert cache.problem() is not None


@pytest.mark.parametrize("uid,mode", [(0, 0o755), (0, 0o1777), (ME, 0o1777), (ME, 0o700)])
def test_parents_of_root_or_the_user_are_accepted(tmp_path, monkeypatch, uid, mode):
    parent = tmp_path / "fine"
    parent.mkdir()
    cache = CompileCache(parent / "cache")
    with reported_as(monkeypatch, parent, uid=uid, mode=mode):
        assert inside(quiet_fetch(cache), cache.root)
        assert cache.problem() is None


@pytest.mark.parametrize("mode,words", [(0o775, "writable by its group"),
                                        (0o777, "writable by all users")])
def test_a_parent_others_may_write_is_refused(tmp_path, monkeypatch, mode, words):
    parent = tmp_path / "open"
    parent.mkdir()
    cache = CompileCache(parent / "cache")
    with reported_as(monkeypatch, parent, mode=mode):
        with pytest.warns(CacheWarning, match=words):
            assert not inside(fetch(cache), cache.root)


def test_the_parents_of_a_symlinked_cache_are_checked_too(tmp_path, monkeypatch):
    """Whoever may write the folder holding the link may swap the link."""
    target = tmp_path / "private" / "cache"
    target.parent.mkdir(mode=0o700)
    target.mkdir(mode=0o700)
    holder = tmp_path / "links"
    holder.mkdir()
    (holder / "cache").symlink_to(target)
    cache = CompileCache(holder / "cache")
    assert inside(quiet_fetch(cache), target)
    with reported_as(monkeypatch, holder, uid=OTHER):
        assert f"{holder}, a parent of" in parents_problem(holder / "cache")
        with pytest.warns(CacheWarning, match=f"owned by uid {OTHER}"):
            assert not inside(fetch(cache), target)


def test_missing_parents_are_made_private_under_any_umask(tmp_path):
    """A umask of 002 (user-private groups) must not make the new parents group-writable,
    which the rule would then refuse."""
    old = os.umask(0o002)
    try:
        cache = CompileCache(tmp_path / "a" / "b" / "cache")
        assert inside(quiet_fetch(cache), cache.root)
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", cache.root):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_the_default_locations_are_accepted(tmp_path):
    """What CI containers use: root's (or the user's) ~/.cache, a folder under /tmp."""
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    for root in (home / ".cache" / "symtheano", tmp_path / "tmp-cache"):
        cache = CompileCache(root)
        assert inside(quiet_fetch(cache), root)
