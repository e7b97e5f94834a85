"""The text of a standalone C export (export.py): libraries made into parts of one
translation unit, constants as C literals, and user-facing text made safe.

Each compiled library of the C back end is a source that includes runtime
headers and defines its entries (`st_node`, `st_kernel`, ...) and its helpers
under the same names as every other library: separate shared objects keep them
apart. In one file they would collide, and template headers (elemwise_loop.h,
reduce.h) guarded against a second inclusion would be skipped. So each library
becomes a *part*: its source with the runtime headers it includes inlined
(a guarded header once per part), and every identifier of the runtime's
namespaces (`st_*`, `ST_*`, `SYMTHEANO_*`) prefixed with the part's own
prefix, as if each part were its own file. Only the node ABI (st_node.h: the
types `st_tensor` and `st_ctx`, so that one program can call every part) is
written once at the top and keeps its names. (Sharing more, such as the scalar
helpers of symtheano_rt.h, would need to know the names that headers build by
token pasting, `st_floordiv_##NAME`.) Functions and variables outside those
namespaces (the CBLAS declarations of blas.h) are defined by one part only.
"""

from __future__ import annotations

import math
import re

import numpy as np
from symtheano.codegen.c.build import RUNTIME_DIR

# Written once, unprefixed: the node ABI.
SHARED_HEADERS = ("st_node.h",)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"[^\n]*$', re.MULTILINE)
_TOKEN = re.compile(r"\b(?:st|ST|SYMTHEANO)_\w*")
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_GUARD = re.compile(r"\A\s*#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+(\w+)\b")
_CBLAS_PREFIX = re.compile(r"^#define ST_CBLAS_PREFIX (\w*)$", re.MULTILINE)


def header(name):
    """The text of runtime header `name`."""
    return (RUNTIME_DIR / name).read_text()


def _guarded(text):
    """Whether `text` is wrapped in an include guard (#ifndef X / #define X)."""
    m = _GUARD.match(_COMMENT.sub(" ", text))
    return m is not None and m.group(1) == m.group(2)


def inline_includes(text, skip, seen, transform=None):
    """`text` with its runtime includes replaced by the headers' text, recursively,
    and `transform` applied to every piece of source (not to the include lines,
    which become banners). Headers in `skip` are written elsewhere; a guarded
    header is inlined once (names in `seen`, updated), a template header at every
    inclusion."""
    pieces, at = [], 0
    for m in _INCLUDE.finditer(text):
        pieces.append(transform(text[at:m.start()]) if transform else text[at:m.start()])
        at = m.end()
        name = m.group(1)
        if not (RUNTIME_DIR / name).is_file():
            raise FileNotFoundError(f"export: {name} is not a runtime header")
        body = header(name)
        if name in skip or (name in seen and _guarded(body)):
            pieces.append(f"/* {name}: above */")
            continue
        seen.add(name)
        pieces.append(f"/* ---- {name} ---- */\n"
                      + inline_includes(body, skip, seen, transform))
    pieces.append(transform(text[at:]) if transform else text[at:])
    return "".join(pieces)


def shared_runtime():
    """(text of the shared headers, the runtime identifiers they define or use, the
    names of the headers written)."""
    seen = set()
    text = "\n".join(inline_includes(f'#include "{name}"', (), seen) for name in SHARED_HEADERS)
    kept = set(_TOKEN.findall(_COMMENT.sub(" ", text)))
    return text, kept, frozenset(seen)


def part(source, prefix, kept, shared, blas_prefix_macro):
    """Library `source` as a part of the translation unit: runtime headers inlined,
    runtime identifiers not in `kept` prefixed with `prefix`. A BLAS library's
    symbol prefix may be overridden by defining `blas_prefix_macro`."""
    source = _CBLAS_PREFIX.sub(
        lambda m: (f"#ifdef {blas_prefix_macro}\n#define ST_CBLAS_PREFIX {blas_prefix_macro}\n"
                   f"#else\n#define ST_CBLAS_PREFIX {m.group(1)}\n#endif"), source)
    return inline_includes(source, shared, set(), lambda text: _TOKEN.sub(
        lambda m: m.group(0) if m.group(0) in kept else prefix + m.group(0), text))


def renamed(symbol, prefix, kept):
    """The name `symbol` of a library has in its part."""
    return symbol if symbol in kept else prefix + symbol


# -- constants --------------------------------------------------------------------------------

C_TYPES = {"float64": "double", "float32": "float", "bool": "uint8_t", "int8": "int8_t",
           "int16": "int16_t", "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t",
           "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t"}


def _float(v, suffix):
    if math.isnan(v):
        return "-NAN" if math.copysign(1.0, v) < 0 else "NAN"
    if math.isinf(v):
        return "-INFINITY" if v < 0 else "INFINITY"
    return float(v).hex() + suffix  # exact: C99 hexadecimal floating constants


def _int(v, dtype):
    v = int(v)
    if dtype == "uint64":
        return f"UINT64_C({v})"
    return int64_literal(v) if dtype == "int64" else str(v)


def int64_literal(v):
    """An int64 value as a C constant of that type."""
    if v == -(2 ** 63):
        return "INT64_MIN"
    return str(v) if -(2 ** 31) <= v < 2 ** 31 else f"INT64_C({v})"


def literals(array):
    """The elements of `array` (C order) as C constants of its dtype."""
    dtype = array.dtype.name
    flat = np.ascontiguousarray(array).reshape(-1)
    if dtype == "float64":
        return [_float(float(v), "") for v in flat]
    if dtype == "float32":
        return [_float(float(v), "f") for v in flat]
    if dtype == "bool":
        return ["1" if v else "0" for v in flat]
    return [_int(v, dtype) for v in flat]


def c_array(ctype, name, items, per_line=8):
    """`static const ctype name[] = {...};` (one dummy element when empty: C has no
    empty arrays)."""
    items = list(items) or ["0"]
    line = f"static const {ctype} {name}[] = {{{', '.join(items)}}};"
    if len(line) <= 100:
        return line
    rows = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    body = ",\n    ".join(rows)
    return f"static const {ctype} {name}[] = {{\n    {body}\n}};"


# -- text from users ----------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9 _.,:;()\[\]{}=+<>-]")


def comment_text(text, limit=60):
    """`text` made safe inside a C comment or string: printable ASCII without `*`,
    `/`, quotes, backslashes, `?` (trigraphs) or `#`, on one line, shortened."""
    text = _SAFE.sub("_", str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."
