"""Compile-cache keys: the sha256 of per-part hashes, canonical and stable across
interpreters and PYTHONHASHSEED, with `explain_key` to say which part changed."""

from __future__ import annotations

import hashlib
import json
import sys

KEY_FORMAT = 1  # the hashing scheme of cache_key
LOGGER = "symtheano.codegen.cache"


def logger():
    """The compile cache's logger (logging is imported on first need, not with the cache)."""
    import logging

    return logging.getLogger(LOGGER)


def debug_enabled():
    """Whether the cache logs at debug: never while logging is not even imported."""
    logging = sys.modules.get("logging")
    return logging is not None and logging.getLogger(LOGGER).isEnabledFor(logging.DEBUG)


def _canonical_json(value):
    _check_json_value(value, "value")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _check_json_value(value, where):
    # Exact types only: JSON would silently turn {1: x} into {"1": x} and a set has no order.
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be str, got {k!r}")
            _check_json_value(item, f"{where}[{k!r}]")
        return
    raise TypeError(f"{where}: {type(value).__name__} cannot be hashed into a cache key "
                    f"(use str, bytes, numbers, lists and dicts with str keys)")


def explain_key(parts):
    """{part name: sha256 hex of that part}: what `cache_key` hashes, to explain a miss.

    A str part is hashed as UTF-8, a bytes part as is, anything else as
    canonical JSON (sorted keys, no whitespace, ASCII), so the result does not
    depend on the interpreter, dict order or PYTHONHASHSEED.
    """
    if not isinstance(parts, dict) or not parts:
        raise TypeError("cache_key parts must be a non-empty dict {name: value}")
    hashes = {}
    for name, value in parts.items():
        if not isinstance(name, str):
            raise TypeError(f"cache_key part names must be str, got {name!r}")
        memo = _memo_key(value)
        found = _part_hashes.get(memo) if memo is not None else None
        if found is None:
            if isinstance(value, str):
                data = b"s:" + value.encode("utf-8", "surrogatepass")
            elif isinstance(value, (bytes, bytearray, memoryview)):
                data = b"b:" + bytes(value)
            else:
                _check_json_value(value, f"cache_key part {name!r}")
                data = b"j:" + _canonical_json(value)
            found = hashlib.sha256(data).hexdigest()
            if memo is not None:
                if len(_part_hashes) >= _MEMO_SIZE:
                    _part_hashes.clear()
                _part_hashes[memo] = found
        hashes[name] = found
    return hashes


# Hashes of large str parts and of {str: str} parts (a source's runtime headers, ~65 KB
# of JSON each time), remembered by value: the texts are the same objects from call to
# call, so the lookup costs a dict probe rather than encoding and hashing them again.
_part_hashes = {}
_MEMO_SIZE = 512
_MEMO_MIN = 4096  # smaller parts hash faster than they would be looked up


def _memo_key(value):
    if type(value) is str:
        return ("s", value) if len(value) >= _MEMO_MIN else None
    if type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items()):
        if sum(map(len, value.values())) >= _MEMO_MIN:
            return ("d", tuple(sorted(value.items())))
    return None


def cache_key(parts):
    """sha256 hex over the named parts (see `explain_key`); logs each part's hash at debug."""
    hashes = explain_key(parts)
    key = hashlib.sha256(_canonical_json({"key_format": KEY_FORMAT, "parts": hashes})).hexdigest()
    if debug_enabled():
        logger().debug("cache key %s from parts %s", key, json.dumps(hashes, sort_keys=True))
    return key


# --- entries ----------------------------------------------------------------------------------
