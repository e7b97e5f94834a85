"""`evaluate(f, *arrays)`: a compiled function applied to dask arrays, lazily.

The function's own output graph (as the user built it, before rewriting) is
walked once in topological order and cut at the nodes that cannot run block by
block:

- a connected group of elementwise nodes becomes one compiled kernel mapped
  over aligned blocks (`dask.array.map_blocks`: Dask's broadcasting and chunk
  alignment; Theano's rule that only declared dimensions broadcast still holds
  inside each block, since the kernel keeps the declared types);
- a reduction (sum, prod, max, min, all, any; mean is a sum divided by a size)
  becomes a Dask tree reduction: one compiled kernel reduces each block (the
  elementwise group feeding the reduction is fused into it, so the
  unreduced values are never stored), and compiled kernels combine the
  partial results and produce the final one;
- DimShuffle is Dask's transpose and indexing; a matrix product is Dask's own
  `dot` (NumPy per block, a tree sum over a chunked inner axis);
- shapes, and anything computed from constants and shapes only, are computed
  at once on the caller's side;
- any other op raises NotImplementedError naming it.

Kernels are `Kernel`s (kernel.py): graphs that each worker compiles into its
own cache. Sums combine partial sums in a tree, so a float result may differ
from the single-process function in the last bits.
"""

from __future__ import annotations

import numpy as np

from symtheano.dask.kernel import BlockReducer, Kernel, pass_through
from symtheano.graph.basic import Constant, toposort
from symtheano.tensor.type import TensorType

__all__ = ["evaluate"]


def evaluate(f, *arrays, split_every=None):
    """The outputs of the compiled function `f` at `arrays` (dask arrays, or
    anything `dask.array.asarray` takes), as lazy dask arrays: one array, or a
    list for a function with a list of outputs. Shared variables read by `f`
    enter with their current values. split_every: the fan-in of the tree
    reductions (Dask's default when None)."""
    from symtheano.compile.function import Function

    if not isinstance(f, Function):
        raise TypeError(f"evaluate: expected a compiled symtheano Function, got "
                        f"{type(f).__name__} (functions with sparse outputs are not supported)")
    if len(arrays) != len(f.inputs):
        names = ", ".join(str(v) for v in f.inputs)
        raise TypeError(f"evaluate: {f.name} takes {len(f.inputs)} argument(s) ({names}), "
                        f"got {len(arrays)}")
    lowering = _Lowering(f.mode, f.name, split_every)
    for pos, (var, value) in enumerate(zip(f.inputs, arrays)):
        lowering.arrays[var] = _as_dask(value, var, pos, f.name)
    lowering.run(f.outputs)
    outs = [lowering.dask(v) for v in f.outputs]
    return outs[0] if f._single else outs


def _as_dask(value, var, pos, name):
    import dask.array as da

    arr = da.asarray(value)
    label = f"input {pos} ({var})"
    if arr.ndim != var.ndim:
        raise ValueError(f"evaluate: {name}: {label} has {var.ndim} dimensions, the array "
                         f"given has {arr.ndim} (shape {arr.shape})")
    if arr.dtype != np.dtype(var.dtype):
        if not np.can_cast(arr.dtype, var.dtype, "safe"):
            raise TypeError(f"evaluate: {name}: {label} has dtype {var.dtype}; an array of "
                            f"dtype {arr.dtype} cannot be cast to it without loss")
        arr = arr.astype(var.dtype)
    for d, (want, got) in enumerate(zip(var.type.shape, arr.shape)):
        if want is not None and not np.isnan(got) and want != got:
            raise ValueError(f"evaluate: {name}: {label} has static size {want} in "
                             f"dimension {d}, the array given has {got}")
    return arr


def _is_elementwise(op):
    from symtheano.gradient import _GradientBlock
    from symtheano.tensor.elemwise import Elemwise

    return isinstance(op, Elemwise | _GradientBlock)


def _reductions():
    from symtheano.tensor import reduce as r

    return (r.Sum, r.Prod, r.Max, r.Min, r.All, r.Any)


def _block_type(var):
    """The type of one block of `var`: its dtype, with only the declared
    (size 1) dimensions kept static, since a block's other sizes are its own."""
    return TensorType(var.dtype, tuple(1 if s == 1 else None for s in var.type.shape))


def _meta(var_or_dtype, ndim):
    return np.empty((0,) * ndim, dtype=var_or_dtype)


class _Lowering:
    """Symbolic variables -> dask arrays (or NumPy values when they are known)."""

    def __init__(self, mode, name, split_every):
        self.mode = mode
        self.name = name
        self.split_every = split_every
        self.arrays = {}  # variable -> dask array
        self.values = {}  # variable -> NumPy value (constants, shapes and what follows)
        self.counter = 0

    # -- the walk ------------------------------------------------------------------------------

    def run(self, outputs):
        from symtheano.tensor.blas import Dot
        from symtheano.tensor.elemwise import DimShuffle
        from symtheano.tensor.shape import Shape, ShapeI

        self._check_roots(outputs)
        for node in toposort(outputs):
            op, out = node.op, node.outputs[0]
            if all(self.known(i) for i in node.inputs) and not _is_random(op):
                self._perform(node)
            elif isinstance(op, Shape | ShapeI):
                shape = self.dask(node.inputs[0]).shape
                if any(np.isnan(s) for s in shape):
                    raise NotImplementedError(
                        f"evaluate: {self.name}: {out} reads the shape of {node.inputs[0]}, "
                        "whose chunk sizes are unknown (call compute_chunk_sizes() first)")
                full = np.asarray(shape, dtype="int64")
                self.values[out] = full if isinstance(op, Shape) else full[op.i]
            elif _is_elementwise(op):
                continue  # part of a group, built when something needs it
            elif isinstance(op, DimShuffle):
                self.arrays[out] = _dimshuffle(self.dask(node.inputs[0]), op)
            elif isinstance(op, _reductions()):
                self.arrays[out] = self._reduce(node)
            elif isinstance(op, Dot):
                import dask.array as da

                a, b = (self.dask(i) for i in node.inputs)
                self.arrays[out] = da.dot(a, b).astype(out.dtype)
            else:
                raise NotImplementedError(
                    f"evaluate: {self.name}: {op} (computing {out}) has no blockwise form: "
                    "symtheano.dask.evaluate splits elementwise ops, DimShuffle, reductions "
                    "(sum, prod, max, min, all, any, and mean) and matrix products (Dask's "
                    "dot); for other costs over chunked data, see SumOverSamples")

    def _check_roots(self, outputs):
        from symtheano.compile.sharedvalue import SharedVariable
        from symtheano.graph.basic import graph_inputs

        for v in graph_inputs(outputs):
            if v in self.arrays or isinstance(v, Constant):
                continue
            if isinstance(v, SharedVariable):
                import dask.array as da

                self.arrays[v] = da.asarray(v.get_value(borrow=True))
                continue
            raise NotImplementedError(
                f"evaluate: {self.name}: an output reads {v}, which is not an input of the "
                "function (a function compiled with givens= is not supported)")

    def known(self, var):
        if isinstance(var, Constant):
            return True
        return var in self.values

    def value(self, var):
        return var.data if isinstance(var, Constant) else self.values[var]

    def _perform(self, node):
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [self.value(i) for i in node.inputs], storage)
        for out, cell in zip(node.outputs, storage):
            self.values[out] = np.asarray(cell[0], dtype=out.dtype)

    # -- dask arrays ---------------------------------------------------------------------------

    def dask(self, var):
        """The dask array of `var`, building its elementwise group when needed."""
        import dask.array as da

        found = self.arrays.get(var)
        if found is not None:
            return found
        if self.known(var):
            arr = da.from_array(np.asarray(self.value(var)))
        elif var.owner is not None and _is_elementwise(var.owner.op):
            kernel, leaves = self._group(var, reduce_node=None)
            arr = da.blockwise(kernel, tuple(range(var.ndim)),
                               *self._aligned(leaves, var.ndim), dtype=var.dtype,
                               meta=_meta(var.dtype, var.ndim), align_arrays=False,
                               token=f"symtheano-{kernel.name}")
        else:
            raise AssertionError(f"evaluate: no dask array for {var}")  # run() covers it
        self.arrays[var] = arr
        return arr

    def _group(self, target, reduce_node):
        """A kernel computing `target` (then `reduce_node`'s reduction of it, with
        the reduced axes kept) from the group's leaves, and the leaves."""
        inside, leaves = set(), []
        stack = [target]
        while stack:
            v = stack.pop()
            if v in inside or v in leaves:
                continue
            if (v.owner is not None and _is_elementwise(v.owner.op) and not self.known(v)
                    and (v is target or v not in self.arrays)):
                inside.add(v)
                stack.extend(v.owner.inputs)
            elif not isinstance(v, Constant):
                leaves.append(v)
        nodes = [n for n in toposort([target]) if n.outputs[0] in inside]
        fresh = [_block_type(v).make_variable(f"block{i}") for i, v in enumerate(leaves)]
        memo = dict(zip(leaves, fresh))
        for node in nodes:
            ins = [memo.get(i, i) if not self.known(i) or isinstance(i, Constant)
                   else _constant(self.value(i), i) for i in node.inputs]
            new = node.clone_with_new_inputs(ins, strict=False)
            memo.update(zip(node.outputs, new.outputs))
        out = memo[target]
        self.counter += 1
        name = f"{self.name}_block{self.counter}"
        if reduce_node is not None:
            from symtheano.tensor.reduce import expand_reduced

            out = expand_reduced(reduce_node.op(out), out.ndim, reduce_node.op.axis)
            name = f"{self.name}_{type(reduce_node.op).__name__.lower()}{self.counter}"
        return Kernel(fresh, out, self.mode, name), leaves

    def _aligned(self, leaves, ndim):
        """(array, index) pairs for blockwise, the arrays rechunked to common
        blocks: along each dimension, the boundaries of every array that is not
        broadcast there (size 1 broadcasts, as in Dask and NumPy)."""
        arrays = [self.dask(v) for v in leaves]
        chunks = []
        for d in range(ndim):
            sizes = {a.shape[d] for a in arrays} - {1}
            if len(sizes) > 1:
                shapes = ", ".join(f"{v} {a.shape}" for v, a in zip(leaves, arrays))
                raise ValueError(f"evaluate: {self.name}: shapes do not broadcast in "
                                 f"dimension {d}: {shapes}")
            bounds = set()
            for a in arrays:
                if a.shape[d] != 1:
                    bounds.update(np.cumsum(a.chunks[d]).tolist())
            chunks.append(tuple(np.diff([0, *sorted(bounds)]).tolist()) if bounds else None)
        index = tuple(range(ndim))
        pairs = []
        for a in arrays:
            want = {d: c for d, c in enumerate(chunks) if c is not None and a.shape[d] != 1}
            if any(a.chunks[d] != c for d, c in want.items()):
                a = a.rechunk(want)
            pairs.extend((a, index))
        return pairs

    def _reduce(self, node):
        """A tree reduction: compiled partials per block, compiled combine steps."""
        import dask.array as da

        op, (x,), out = node.op, node.inputs, node.outputs[0]
        axes = op.axis
        kernel, leaves = self._group(x, reduce_node=node)
        partial = da.blockwise(kernel, tuple(range(x.ndim)), *self._aligned(leaves, x.ndim),
                               dtype=out.dtype, adjust_chunks={a: _one for a in axes},
                               meta=_meta(out.dtype, x.ndim), align_arrays=False,
                               token=f"symtheano-{kernel.name}")
        combine = self._combine_kernel(op, out, x.ndim, keepdims=True)
        aggregate = self._combine_kernel(op, out, x.ndim, keepdims=False)
        return da.reduction(partial, chunk=pass_through, combine=combine, aggregate=aggregate,
                            axis=axes, keepdims=False, dtype=out.dtype,
                            split_every=self.split_every, concatenate=True,
                            meta=_meta(out.dtype, out.ndim),
                            name=f"symtheano-{type(op).__name__.lower()}")

    def _combine_kernel(self, op, out, ndim, keepdims):
        """Reduce partial results (of `out`'s dtype, axes kept) over `op`'s axes."""
        from symtheano.tensor import reduce as r
        from symtheano.tensor.reduce import expand_reduced

        # Concatenated partial results: as many along the reduced axes as blocks combined.
        p = TensorType(out.dtype, (None,) * ndim).make_variable("partial")
        if isinstance(op, r.Sum | r.Prod):
            step = type(op)(op.axis, dtype=out.dtype)(p)
        else:
            step = type(op)(op.axis)(p)
        if keepdims:
            step = expand_reduced(step, ndim, op.axis)
        kind = "combine" if keepdims else "aggregate"
        kernel = Kernel([p], step, self.mode, f"{self.name}_{type(op).__name__.lower()}_{kind}")
        return BlockReducer(kernel, op.axis, keepdims)


def _one(_size):
    return 1


def _constant(value, like):
    from symtheano.tensor.var import constant

    return constant(np.asarray(value, dtype=like.dtype), dtype=like.dtype)


def _is_random(op):
    return type(op).__module__.endswith("tensor.random")


def _dimshuffle(arr, op):
    """DimShuffle on a dask array: drop the size-1 dimensions, order the rest,
    insert new ones."""
    kept = arr.transpose(op.kept + op.drop)
    if op.drop:
        kept = kept[(slice(None),) * len(op.kept) + (0,) * len(op.drop)]
    index = tuple(None if d == "x" else slice(None) for d in op.new_order)
    return kept[index] if "x" in op.new_order else kept
