"""PaddedSum (symtheano/tensor/padded_sum.py) on the device: one kernel, one pass
over the output, no array of zeros and no term materialised.

The C back end's entry (codegen/c/runtime/padded_sum_node.h) cuts the output
into regions and runs an elementwise kernel over each: where every term's box
covers the output, the Composite of the whole sum; elsewhere zeros, then per
term a Composite adding its contribution. On a GPU one launch does it all: each
thread takes output positions, finds which boxes cover each, and evaluates the
very same Composites (PaddedSum.kernels) there, so every element sees the
additions of the C back end, in its order, and float results are those of the
C back end and of the reference (up to CUDA's libm, as for every kernel).

The source (`render`) holds the Composites' scalar steps as device functions
(codegen/c/elemwise.composite_steps, as every CUDA kernel), `st_ps_value`
choosing between them by the coverage mask, and the template
runtime/padded_sum.cuh. It depends on the expression, the output's number of
dimensions and the number of terms and inputs (which size the argument
struct), never on shapes or boxes: the boxes are params (`Kernel.params`),
resolved against the sizes on the host at each call (`prepare`).

Declined (the reference then runs, and raises its error where there is one):
a term input whose size differs from its box's (and is not a declared
broadcast 1), a negative size, more than 64 terms, or an argument struct over
MAX_ARGS_BYTES.

`emulate` runs a launch on FakeDevice: it decodes the packed struct and does
what the kernel does (coordinates, coverage, offsets, the Composites) with
NumPy over the fake's memory, so the host's layout is tested without a GPU.
"""

from __future__ import annotations

import functools

import numpy as np
from symtheano.codegen.c.elemwise import composite_steps
from symtheano.codegen.c.scalar import C_TYPES, c_type
from symtheano.codegen.cuda import layout
from symtheano.codegen.cuda.device import DeviceArray

from symtheano.tensor.padded_sum import PaddedSum

KERNELS = ("padded_sum32", "padded_sum64")
MAX_TERMS = 64          # ST_PS_N_TERMS: one bit each in the coverage mask
MAX_ARGS_BYTES = 4096   # kernel parameters every CUDA version and GPU accepts


def args_dtype(ndim, n_terms, n_inputs):
    """st_ps_args (runtime/padded_sum.cuh) as a NumPy dtype."""
    return np.dtype([("p", np.uint64, (n_inputs + 1,)), ("n", np.int64),
                     ("shape", np.int64, (ndim,)),
                     ("lo", np.int64, (n_terms, ndim)), ("hi", np.int64, (n_terms, ndim)),
                     ("origin", np.int64, (n_inputs,)),
                     ("strides", np.int64, (n_inputs, ndim))], align=True)


# -- the source ----------------------------------------------------------------------------------


def _function(name, composite, out_type):
    """A device function evaluating `composite` (None when a step has no C)."""
    body, result = composite_steps(composite)
    if body is None:
        return None
    params = ", ".join(f"const {c_type(d)} i{k}" for k, (d, _) in enumerate(composite.input_types))
    return [f"static __device__ __forceinline__ {out_type} {name}({params})",
            "{",
            *["    " + line for line in body],
            f"    return ({out_type})({result});",
            "}"]


def _call(name, sources, dtypes):
    args = ", ".join("acc" if s < 0 else f"ST_PS_LD({s}, {c_type(dtypes[s])})" for s in sources)
    return f"{name}({args})"


@functools.lru_cache(maxsize=256)
def render(op, types):
    """CUDA source of the padded-sum library of PaddedSum `op` whose term inputs have
    TensorTypes `types`, or None when a step (or a dtype) has no C."""
    dtypes = [t.dtype for t in types]
    if op.dtype not in C_TYPES or any(d not in C_TYPES for d in dtypes):
        return None
    (fused, fused_sources), accs = op.kernels(types)
    functions = _function("st_ps_all", fused, "st_tout")
    if functions is None:
        return None
    value = ["    if (miss == 0)",
             f"        return {_call('st_ps_all', fused_sources, dtypes)};",
             "    st_tout acc = (st_tout)0;"]
    for k, (acc, sources) in enumerate(accs):
        lines = _function(f"st_ps_term{k}", acc, "st_tout")
        if lines is None:
            return None
        functions += ["", *lines]
        value += [f"    if (!((miss >> {k}) & 1u))",
                  f"        acc = {_call(f'st_ps_term{k}', sources, dtypes)};"]
    lines = [
        f"/* symtheano CUDA padded-sum kernels: {len(op.terms)} terms "
        f"({', '.join(t.kind for t in op.terms)}), {len(types)} inputs "
        f"({', '.join(dtypes)}) -> {op.ndim}-d {op.dtype} */",
        '#include "symtheano_rt.cuh"',
        "",
        f"#define ST_PS_NDIM {op.ndim}",
        f"#define ST_PS_N_TERMS {len(op.terms)}",
        f"#define ST_PS_N_IN {len(types)}",
        f"typedef {c_type(op.dtype)} st_tout;",
        "#define ST_PS_LD(j, T) (*(const T *)(p[j] + off[j]))",
        "",
        "/* The whole sum (every box covers the position), then each term's addition. */",
        *functions,
        "",
        "static __device__ __forceinline__ st_tout st_ps_value(char *const *p, const int64_t *off,",
        "                                                      uint64_t miss)",
        "{",
        *value,
        "    return acc;",
        "}",
        "",
        '#include "padded_sum.cuh"',
        "",
    ]
    return "\n".join(lines)


def kernel_parts(node):
    """(source, params) of `node`'s padded-sum library, or None. params: (ndim, per
    term its box ((start, stop), ...) over the leading axes, () for a full term,
    per term input the term it belongs to, per term input the mask of its
    declared-broadcastable dimensions)."""
    op = node.op
    if type(op) is not PaddedSum:
        return None
    types = tuple(v.type for v in node.inputs[op.ndim:])
    if (op.ndim < 1 or not types or len(op.terms) > MAX_TERMS
            or args_dtype(op.ndim, len(op.terms), len(types)).itemsize > MAX_ARGS_BYTES):
        return None
    source = render(op, types)
    if source is None:
        return None
    owners = tuple(k for k, t in enumerate(op.terms) for _ in range(t.n_inputs))
    masks = tuple(sum(1 << d for d, n in enumerate(t.shape) if n == 1) for t in types)
    return source, (op.ndim, tuple(t.box for t in op.terms), owners, masks)


# -- the host ------------------------------------------------------------------------------------


def _bounds(box, shape):
    """[lo, hi) per dimension of a box (Python's slice rules, step 1; empty boxes
    keep hi = lo), every dimension after the boxed ones spanned."""
    lo, hi = [0] * len(shape), list(shape)
    for d, (start, stop) in enumerate(box):
        a, b, _ = slice(start, stop).indices(shape[d])
        lo[d], hi[d] = a, max(a, b)
    return lo, hi


def _record(dtype, **values):
    record = np.zeros((), dtype=dtype)
    for name, value in values.items():
        record[name] = value
    return record.tobytes()


def prepare(device, kernel, node, inputs, sm_count):
    """(the new output, the Launch computing it, or None when it is empty) for the
    node's inputs (the sizes as host values, the term inputs as DeviceArrays), or
    None to decline (see the module docstring)."""
    ndim, boxes, owners, masks = kernel.params
    shape = [int(np.asarray(v.get() if isinstance(v, DeviceArray) else v)) for v in inputs[:ndim]]
    if any(n < 0 for n in shape):
        return None
    bounds = [_bounds(box, shape) for box in boxes]
    terms = inputs[ndim:]
    pointers, origins, strides = [], [], []
    for a, owner, mask in zip(terms, owners, masks):
        if not isinstance(a, DeviceArray) or a.ndim > ndim:
            return None
        lo, hi = bounds[owner]
        lead = ndim - a.ndim
        full = [0] * ndim
        for d, n in enumerate(a.shape):
            want = hi[lead + d] - lo[lead + d]
            if n != want and not (n == 1 and mask >> d & 1):
                return None
            full[lead + d] = 0 if n == 1 else a.strides[d]
        pointers.append(a.gpudata)
        origins.append(sum(x * s for x, s in zip(lo, full)))
        strides.append(full[::-1])
    out = device.empty(shape, node.outputs[0].dtype)
    n = out.size
    if n == 0:
        return out, None
    dtype = args_dtype(ndim, len(boxes), len(terms))
    args = _record(dtype, p=[*pointers, out.gpudata], n=n, shape=shape[::-1],
                   lo=[lo[::-1] for lo, _ in bounds], hi=[hi[::-1] for _, hi in bounds],
                   origin=origins, strides=strides)
    grid = max(1, min(-(-n // layout.BLOCK), sm_count * layout.BLOCKS_PER_SM))
    symbol = "st_padded_sum32" if n + grid * layout.BLOCK < 2**32 else "st_padded_sum64"
    return out, layout.Launch(symbol, (grid, 1, 1), (layout.BLOCK, 1, 1), args)


def run(device, kernel, node, inputs):
    """The output of `node` computed on the GPU (driver.Runtime `device`), or None."""
    prepared = prepare(device, kernel, node, inputs, device.sm_count)
    if prepared is None:
        return None
    out, launch = prepared
    if launch is not None:
        device.launch(kernel.source, launch)
    return out


# -- the kernel on FakeDevice --------------------------------------------------------------------

EMULATED_SMS = 4


def emulate(device, kernel, node, inputs):
    """What `run` computes, on FakeDevice `device`: the launch `prepare` packs, run
    by `emulate_launch`."""
    prepared = prepare(device, kernel, node, inputs, EMULATED_SMS)
    if prepared is None:
        return None
    out, launch = prepared
    if launch is not None:
        arrays = [a for a in inputs if isinstance(a, DeviceArray)] + [out]
        emulate_launch(node, launch, arrays)
    return out


def _memory(arrays, pointer, lo, hi, dtype):
    """The values of `dtype` at byte offsets [lo, hi) from `pointer`, as a NumPy view of
    the FakeDevice buffer of one of `arrays` that holds them all (AssertionError when
    none does: the kernel would read or write outside its operands)."""
    for a in arrays:
        buffer = a.owner
        start = pointer + lo - buffer.ctypes.data
        if 0 <= start and start + (hi - lo) <= buffer.nbytes:
            return buffer[start:start + (hi - lo)].view(dtype)
    raise AssertionError(f"padded sum: bytes [{lo}, {hi}) from {pointer:#x} are in no operand")


def _gather(arrays, pointer, offsets, dtype):
    dtype = np.dtype(dtype)
    if offsets.size == 0:
        return np.empty(0, dtype)
    assert not np.any(offsets % dtype.itemsize), "offsets not aligned to the element size"
    lo, hi = int(offsets.min()), int(offsets.max()) + dtype.itemsize
    return _memory(arrays, pointer, lo, hi, dtype)[(offsets - lo) // dtype.itemsize]


def _evaluate(composite, values, m):
    with np.errstate(all="ignore"):
        result = np.asarray(composite.evaluate(values))
    return np.broadcast_to(result.reshape(-1) if result.size == m else result.reshape(-1)[:1],
                           (m,))


def emulate_launch(node, launch, arrays):
    """Run `launch` (a padded-sum Launch of `node`) as the kernel would, over the
    FakeDevice memory of `arrays` (its operands): every element's coordinates,
    coverage mask and input offsets from the packed struct, then st_ps_value."""
    op = node.op
    types = tuple(v.type for v in node.inputs[op.ndim:])
    dtypes = [t.dtype for t in types]
    n_in, n_terms = len(types), len(op.terms)
    a = np.frombuffer(launch.args, dtype=args_dtype(op.ndim, n_terms, n_in))[0]
    n = int(a["n"])
    i = np.arange(n, dtype=np.int64)
    miss = np.zeros((n_terms, n), dtype=bool)
    off = np.repeat(-a["origin"].astype(np.int64)[:, None], n, axis=1)
    for d in range(op.ndim):  # innermost first, as the kernel
        x = i
        if d + 1 < op.ndim:
            i, x = np.divmod(i, int(a["shape"][d]))
        for k in range(n_terms):
            miss[k] |= (x < a["lo"][k][d]) | (x >= a["hi"][k][d])
        off += x[None, :] * a["strides"][:, d][:, None]
    pointers = [int(p) for p in a["p"]]
    result = np.zeros(n, dtype=op.dtype)  # st_tout acc = 0
    (fused, fused_sources), accs = op.kernels(types)

    def load(sources, where, acc=None):
        return [acc if s < 0 else _gather(arrays, pointers[s], off[s][where], dtypes[s])
                for s in sources]

    every = ~miss.any(axis=0)
    m = int(every.sum())
    if m:
        result[every] = _evaluate(fused, load(fused_sources, every), m)
    for k, (acc, sources) in enumerate(accs):
        where = ~every & ~miss[k]
        m = int(where.sum())
        if m:
            result[where] = _evaluate(acc, load(sources, where, result[where]), m)
    out = _memory(arrays, pointers[n_in], 0, n * result.itemsize, result.dtype)
    out[...] = result
