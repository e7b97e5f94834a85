"""Compiled kernels that travel to Dask workers as graphs, never as native code.

A `Kernel` holds a small symbolic graph (fresh inputs -> outputs) and the mode
to compile it with. Pickled, it is that graph, pickled once into bytes whose
sha256 is its key; unpickled in another process, it compiles the graph the
first time it is called there, into that process's own compile cache
(`SYMTHEANO_CACHE_DIR` or the default), and remembers the compiled function
under the key for every later task. No shared library, ctypes address or
compiled `Function` is ever part of what is sent.

A compile that fails raises `KernelCompileError` naming the kernel, the worker
and the compiler's message; it is not remembered, so a worker whose compiler is
repaired compiles on the next task.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import threading

import numpy as np

_compiled = {}  # key -> compiled Function, per process
_lock = threading.Lock()


class KernelCompileError(RuntimeError):
    """A process (a Dask worker) could not compile a kernel it was sent."""


def where():
    """This process, as an error message names it: the Dask worker's address when
    it is one, else its pid and host."""
    try:
        from distributed import get_worker

        return f"worker {get_worker().address} (pid {os.getpid()})"
    except (ImportError, ValueError):
        return f"pid {os.getpid()} on {socket.gethostname()}"


class Kernel:
    """`outputs` as a function of `inputs`, compiled with `mode` in whichever
    process calls it. Called with arrays, returns an array (one output) or a list."""

    def __init__(self, inputs, outputs, mode, name="kernel"):
        self.inputs = list(inputs)
        self.single = not isinstance(outputs, list | tuple)
        self.outputs = [outputs] if self.single else list(outputs)
        self.mode = mode
        self.name = name
        self._payload = None
        self._key = None

    @property
    def payload(self):
        """The graph, the mode and the name, pickled (what a worker receives)."""
        if self._payload is None:
            self._payload = pickle.dumps(
                (self.inputs, self.outputs, self.single, self.mode, self.name),
                protocol=pickle.HIGHEST_PROTOCOL)
            self._key = hashlib.sha256(self._payload).hexdigest()
        return self._payload

    @property
    def key(self):
        """sha256 of the payload: equal graphs sent twice compile once per process."""
        if self._key is None:
            _ = self.payload
        return self._key

    def __reduce__(self):
        return (_rebuild, (self.payload,))

    def __dask_tokenize__(self):
        return ("symtheano.dask.Kernel", self.key)

    def function(self):
        """The compiled function (compiled at the first call in this process)."""
        fn = _compiled.get(self.key)
        if fn is None:
            with _lock:
                fn = _compiled.get(self.key)
                if fn is None:
                    fn = _compiled[self.key] = self._compile()
        return fn

    def _compile(self):
        from symtheano.compile.function import function

        try:
            return function(self.inputs, self.outputs, mode=self.mode,
                            on_unused_input="ignore", name=self.name)
        except Exception as exc:  # any failure: the compiler's message travels back
            raise KernelCompileError(
                f"symtheano.dask: kernel {self.name!r} did not compile on {where()}: "
                f"{type(exc).__name__}: {exc}") from None

    def __call__(self, *arrays):
        # A block deserialised from a transfer may start at any byte: the compiled
        # kernels decline unaligned data to the NumPy reference (slower, and its libm
        # may differ in the last bit), so such a block is copied once instead.
        arrays = [a.copy() if isinstance(a, np.ndarray) and not a.flags.aligned else a
                  for a in arrays]
        out = self.function()(*arrays)
        return out[0] if self.single else out

    def __repr__(self):
        return f"<Kernel {self.name} {self.key[:12]}>"


_rebuilt = {}  # key -> Kernel: a graph sent with many tasks is unpickled once


def _rebuild(payload):
    key = hashlib.sha256(payload).hexdigest()
    kernel = _rebuilt.get(key)
    if kernel is None:
        inputs, outputs, single, mode, name = pickle.loads(payload)
        kernel = Kernel(inputs, outputs[0] if single else outputs, mode, name)
        kernel._payload, kernel._key = payload, key
        _rebuilt[key] = kernel
    return kernel


def is_compiled_here(kernel):
    """Whether this process has compiled `kernel` already (for tests and tools)."""
    return kernel.key in _compiled


class BlockReducer:
    """A kernel in the calling convention of `dask.array.reduction`'s combine and
    aggregate steps: the axes and keepdims are part of the kernel's graph, so
    those arguments are only checked to be the ones it was built for."""

    def __init__(self, kernel, axis, keepdims):
        self.kernel = kernel
        self.axis = tuple(axis)
        self.keepdims = keepdims

    def __call__(self, x, axis=None, keepdims=None, computing_meta=False, **_):
        if computing_meta:
            return x
        if isinstance(x, list):  # concatenate=False is never asked for; be explicit
            raise TypeError("symtheano.dask: a reduction step received a list of blocks")
        return self.kernel(np.asarray(x))

    def __dask_tokenize__(self):
        return ("symtheano.dask.BlockReducer", self.kernel.key, self.axis, self.keepdims)


def pass_through(x, axis=None, keepdims=None, computing_meta=False, **_):
    """The chunk step of a reduction whose blocks are already reduced."""
    return x
