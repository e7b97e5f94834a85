"""Where the compile cache lives and how large it may grow: SYMTHEANO_CACHE_DIR
(else the user cache directory) and SYMTHEANO_CACHE_MAX_BYTES."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

CACHE_DIR_ENV = "SYMTHEANO_CACHE_DIR"
MAX_BYTES_ENV = "SYMTHEANO_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 1 << 30


def parse_size(text):
    """Bytes from "1073741824", "500M", "1.5GiB", "64k" (binary units); None for "none"."""
    text = str(text).strip()
    if text.lower() in ("none", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"invalid size {text!r}: expected bytes, or a number with K, M, G "
                         f"or T (binary units), or 'none'")
    number, unit = match.groups()
    return int(float(number) * 1024 ** " kmgt".index(unit.lower() or " "))


def max_bytes_from_env():
    """The size cap from SYMTHEANO_CACHE_MAX_BYTES, else DEFAULT_MAX_BYTES."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(text)
    except ValueError as exc:
        raise ValueError(f"{MAX_BYTES_ENV}: {exc}") from None


def default_cache_dir():
    """SYMTHEANO_CACHE_DIR, else the user cache directory (platformdirs) + symtheano."""
    chosen = os.environ.get(CACHE_DIR_ENV, "").strip()
    if chosen:
        return Path(os.path.abspath(os.path.expanduser(chosen)))
    if sys.platform.startswith("linux") and not _android():
        # What platformdirs answers on Linux (XDG_CACHE_HOME when absolute, else
        # ~/.cache), without importing it: a few ms of every process's first compile.
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.cache")
        return Path(base) / "symtheano"
    try:
        import platformdirs
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        return Path(base) / "symtheano"
    return Path(platformdirs.user_cache_dir("symtheano", appauthor=False))


def _android():
    """Whether this is Android, where platformdirs has its own cache directory."""
    return hasattr(sys, "getandroidapilevel") or (
        os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system")
