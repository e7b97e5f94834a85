"""Process-wide settings, for Theano compatibility at the edge.

Values come from defaults, then from `SYMTHEANO_FLAGS` (comma-separated
`key=value` pairs, like Theano's `THEANO_FLAGS`; `THEANO_FLAGS` is read too,
with lower priority). Ops never read this object: options travel as arguments,
and the front end reads `config` only where a user-facing default is needed
(floatX for Python floats, the default mode).
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


class Config:
    """Attribute access to the settings; assignment checks allowed values."""

    def __init__(self):
        object.__setattr__(self, "_values", {
            "floatX": "float64",
            "mode": "PY",
            "on_unused_input": "raise",
            "device": "cpu",
            "compute_test_value": "off",
        })
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
        self._values[key] = value

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in sorted(self._values.items()))
        return f"Config({items})"


config = Config()
