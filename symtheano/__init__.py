"""symtheano: a symbolic math compiler in the Theano tradition.

    import symtheano as theano
    import symtheano.tensor as T

    x = T.dscalar("x")
    f = theano.function([x], T.grad(x ** 2, x))
    f(4)  # array(8.)

Everything here is imported on first use, so `import symtheano` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_LAZY = {
    "function": ("symtheano.compile.function", "function"),
    "Function": ("symtheano.compile.function", "Function"),
    "In": ("symtheano.compile.io", "In"),
    "Out": ("symtheano.compile.io", "Out"),
    "shared": ("symtheano.compile.sharedvalue", "shared"),
    "SharedVariable": ("symtheano.compile.sharedvalue", "SharedVariable"),
    "Mode": ("symtheano.compile.mode", "Mode"),
    "config": ("symtheano.configuration", "config"),
    "grad": ("symtheano.gradient", "grad"),
    "scan": ("symtheano.scan_module", "scan"),
    "pp": ("symtheano.printing", "pp"),
    "debugprint": ("symtheano.printing", "debugprint"),
    "dprint": ("symtheano.printing", "debugprint"),
    "tensor": ("symtheano.tensor", None),
    "gradient": ("symtheano.gradient", None),
    "printing": ("symtheano.printing", None),
    "compile": ("symtheano.compile", None),
    "graph": ("symtheano.graph", None),
    "ifelse": ("symtheano.ifelse", None),  # theano.ifelse.ifelse
    "dask": ("symtheano.dask", None),  # needs the `dask` extra
    "sandbox": ("symtheano.sandbox", None),  # theano.sandbox.rng_mrg
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'symtheano' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return __all__
