"""Process-wide settings, for Theano compatibility at the edge.

Values come from defaults, then from `SYMTHEANO_FLAGS` (comma-separated
`key=value` pairs, like Theano's `THEANO_FLAGS`; `THEANO_FLAGS` is read too,
with lower priority). Ops never read this object: options travel as arguments,
and the front end reads `config` only where a user-facing default is needed
(floatX for Python floats, the default mode; `device="cuda"` makes the default
mode "CUDA", as Theano's device flag did).

`openmp_threads` is the one setting read by compiled code: how many threads an
elementwise kernel runs on above its size threshold (0: OMP_NUM_THREADS when
set, else every core this process may use). The C back end listens for its
changes (`Config.on_change`) and hands the count to already-loaded kernels.
"""

from __future__ import annotations

import os

_CHOICES = {
    "floatX": ("float64", "float32"),
    "mode": ("FAST_RUN", "FAST_COMPILE", "PY", "C", "DEBUG", "CUDA"),
    "on_unused_input": ("raise", "warn", "ignore"),
    "device": ("cpu", "cuda"),
    "compute_test_value": ("off", "ignore", "warn", "raise"),
}


def _count(value):
    """A non-negative int from an int or its text (SYMTHEANO_FLAGS gives text)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"expected a non-negative integer, got {value!r}") from None
    if n < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return n


# settings that are not strings: key -> conversion (raising ValueError)
_CONVERT = {"openmp_threads": _count}


class Config:
    """Attribute access to the settings; assignment checks allowed values."""

    def __init__(self):
        object.__setattr__(self, "_values", {
            "floatX": "float64",
            "mode": "C",
            "on_unused_input": "raise",
            "device": "cpu",
            "compute_test_value": "off",
            "openmp_threads": 0,
        })
        object.__setattr__(self, "_listeners", {})
        for var in ("THEANO_FLAGS", "SYMTHEANO_FLAGS"):
            self._apply_flags(os.environ.get(var, ""), source=var)

    def _apply_flags(self, text, source):
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"{source}: expected key=value, got {item!r}")
            key = key.strip()
            if key not in self._values:
                # Unknown Theano flags (e.g. optimizer tweaks) are ignored, like Theano did
                # for flags of other versions, but a typo of ours deserves a word.
                if source == "SYMTHEANO_FLAGS":
                    raise ValueError(f"{source}: unknown flag {key!r}; "
                                     f"known flags: {', '.join(sorted(self._values))}")
                continue
            setattr(self, key, value.strip())

    def __getattr__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"config has no setting {key!r}") from None

    def __setattr__(self, key, value):
        if key not in self._values:
            raise AttributeError(f"config has no setting {key!r}")
        allowed = _CHOICES.get(key)
        if allowed is not None and value not in allowed:
            raise ValueError(f"config.{key} must be one of {allowed}, got {value!r}")
        convert = _CONVERT.get(key)
        if convert is not None:
            try:
                value = convert(value)
            except ValueError as exc:
                raise ValueError(f"config.{key}: {exc}") from None
        self._values[key] = value
        for fn in self._listeners.get(key, ()):
            fn(value)

    def on_change(self, key, fn):
        """Call `fn(new value)` after every assignment to setting `key`."""
        if key not in self._values:
            raise AttributeError(f"config has no setting {key!r}")
        self._listeners.setdefault(key, []).append(fn)

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in sorted(self._values.items()))
        return f"Config({items})"


config = Config()
