"""The advanced-indexing kernels (runtime/advindex.cuh) emulated in NumPy, launch by
launch, for FakeDevice (device.py): `run_emulated` runs advindex.run, the very
host code a GPU runs (plans, packed structs, grids, the nonzero count read
back, the radix passes), against an `Emulator` whose `launch` decodes each
packed struct and does what the named kernel does to the memory its pointers
name (a FakeDevice's addresses are real host addresses): the same index
arithmetic (st_offsets, st_position), the same per-tile work of the radix sort
and the compaction (a block's tile, its digit counts, each element's rank among
its tile's equal digits), and the segmented sums in order of the sorted runs.
Every access is checked to lie inside an allocation the call may touch, as a
memory checker would, so a wrong offset fails a test instead of reading
somewhere else.

What it cannot show: races and synchronisation inside a block (a thread's
order within a warp is taken as the kernels compute it, not observed).
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
from symtheano.codegen.c.scalar import C_TYPES
from symtheano.codegen.cuda import advindex
from symtheano.codegen.cuda.build import RUNTIME_DIR
from symtheano.codegen.cuda.device import DeviceArray

_TEMPLATE = (pathlib.Path(RUNTIME_DIR) / "advindex.cuh").read_text()
_INDEX_DTYPES = {k: np.dtype(name) for name, k in advindex.INDEX_KINDS.items()}
_C_TO_DTYPE = {c: np.dtype(name) for name, c in C_TYPES.items()}


def _offsets(i, ndim, shape, strides):
    """st_offsets over arrays of positions i: byte offsets per operand (rows)."""
    i = np.asarray(i, np.int64)
    off = np.zeros((len(strides), i.size), np.int64)
    for d in range(int(ndim)):
        idx = i
        if d + 1 < ndim:
            i, idx = np.divmod(i, int(shape[d]))
        off += idx[None, :] * np.asarray(strides, np.int64)[:, d:d + 1]
    return off


def _position(raw, n):
    """st_position(raw, n, wrap=true) over an array of raw indices, -1 out of range."""
    if raw.dtype.kind == "u":
        big = raw.astype(np.uint64)
        return np.where(big < np.uint64(n), big.astype(np.int64), -1)
    v = raw.astype(np.int64)
    return np.where(v < 0, np.where(v >= -n, v + n, -1), np.where(v < n, v, -1))


class Emulator:
    """The device interface advindex.run needs, over a FakeDevice: allocations and
    copies are the fake's (and become memory the kernels may touch), launches are
    emulated."""

    sm_count = 4  # a small GPU: grid-stride loops take several rounds

    def __init__(self, fake, arrays=()):
        self.fake = fake
        self.counts = {}
        self._regions = {}
        for a in arrays:
            if isinstance(a, DeviceArray):
                self._track(a)

    def _track(self, array):
        self._regions[id(array.owner)] = array.owner
        return array

    def empty(self, shape, dtype):
        return self._track(self.fake.empty(shape, dtype))

    def copy(self, array):
        return self._track(self.fake.copy(array))

    def upload(self, host):
        return self._track(self.fake.upload(host))

    def download(self, array):
        return self.fake.download(array)

    # -- memory ----------------------------------------------------------------------------

    def _bytes(self, addresses, itemsize):
        lo, hi = int(addresses.min()), int(addresses.max()) + itemsize
        for owner in self._regions.values():
            start = owner.ctypes.data
            if start <= lo and hi <= start + owner.nbytes:
                return owner, (addresses - start)[:, None] + np.arange(itemsize)
        raise AssertionError(f"an emulated kernel touched [{lo:#x}, {hi:#x}), outside "
                             "every allocation of the call")

    def load(self, addresses, dtype):
        dtype = np.dtype(dtype)
        addresses = np.asarray(addresses, np.int64).ravel()
        if not addresses.size:
            return np.empty(0, dtype)
        owner, at = self._bytes(addresses, dtype.itemsize)
        return np.ascontiguousarray(owner[at]).view(dtype).reshape(-1)

    def store(self, addresses, values, dtype):
        dtype = np.dtype(dtype)
        addresses = np.asarray(addresses, np.int64).ravel()
        if not addresses.size:
            return
        owner, at = self._bytes(addresses, dtype.itemsize)
        values = np.asarray(values, dtype).ravel()
        values = np.ascontiguousarray(np.broadcast_to(values, addresses.shape))
        owner[at] = values.view(np.uint8).reshape(-1, dtype.itemsize)

    # -- launches --------------------------------------------------------------------------

    def launch(self, source, launch, *extra, extra_format=()):
        name = launch.symbol.removeprefix("st_")
        assert f"ST_SYM({name})" in _TEMPLATE, launch.symbol
        if name == advindex.ATOMIC_KERNEL:
            assert "#define ST_ATOMIC_ADD 1" in source
        assert launch.block == (advindex.BLOCK, 1, 1)
        self.counts[name] = self.counts.get(name, 0) + 1
        getattr(self, f"_{name}")(source, launch, *extra)

    def checked_launch(self, source, launch, *extra, extra_format=()):
        status = [0]
        self.launch(source, launch, status, *extra)
        return not status[0]

    @staticmethod
    def _args(launch, dtype):
        assert len(launch.args) == dtype.itemsize
        return np.frombuffer(launch.args, dtype=dtype)[0]

    @staticmethod
    def _st_t(source):
        (c,) = re.findall(r"typedef (\w+) st_t;", source)
        return _C_TO_DTYPE[c]

    # adv_* (st_adv_args)

    def _index(self, a, j, with_arrays=True):
        """st_adv_index over positions j: (dense offsets, x offsets, keys, in range)."""
        count = int(a["n_arrays"]) + 1 if with_arrays else 1
        off = _offsets(j, a["idx_ndim"], a["idx_shape"], a["idx_strides"][:count])
        x_off = np.zeros(j.size, np.int64)
        key = np.zeros(j.size, np.int64)
        ok = np.ones(j.size, bool)
        for k in range(count - 1):
            raw = self.load(int(a["index"][k]) + off[k + 1], _INDEX_DTYPES[int(a["index_kind"][k])])
            pos = _position(raw, int(a["axis_size"][k]))
            ok &= pos >= 0
            x_off += np.maximum(pos, 0) * int(a["axis_stride"][k])
            key += np.maximum(pos, 0) * int(a["key_scale"][k])
        return off[0], x_off, key, ok

    @staticmethod
    def _rest(a, q):
        o, r = np.divmod(q, int(a["n_inner"]))
        outer = _offsets(o, a["outer_ndim"], a["outer_shape"], a["outer_strides"])
        inner = _offsets(r, a["inner_ndim"], a["inner_shape"], a["inner_strides"])
        return outer + inner

    def _dense_elements(self, a, status):
        """Every dense element e of a grid-stride kernel as (o * n_inner + r, j), the
        index positions checked (out of range: the status flag, and skipped)."""
        e = np.arange(int(a["n"]), dtype=np.int64)
        t, r = np.divmod(e, int(a["n_inner"]))
        o, j = np.divmod(t, int(a["n_idx"]))
        dense_j, x_j, _, ok = self._index(a, j)
        if not ok.all():
            status[0] = 1
        q = (o * int(a["n_inner"]) + r)[ok]
        rest = self._rest(a, q)
        return rest, dense_j[ok], x_j[ok]

    def _adv_gather(self, source, launch, status):
        a = self._args(launch, advindex.adv_dtype())
        rest, dense_j, x_j = self._dense_elements(a, status)
        dtype = self._st_t(source)
        values = self.load(int(a["x"]) + rest[0] + x_j, dtype)
        self.store(int(a["dense"]) + rest[1] + dense_j, values, dtype)

    def _adv_scatter_add(self, source, launch, status):
        a = self._args(launch, advindex.adv_dtype())
        rest, dense_j, x_j = self._dense_elements(a, status)
        dtype = self._st_t(source)
        values = self.load(int(a["dense"]) + rest[1] + dense_j, dtype)
        targets, which = np.unique(int(a["x"]) + rest[0] + x_j, return_inverse=True)
        sums = self.load(targets, dtype)
        with np.errstate(over="ignore"):
            np.add.at(sums, which, values)  # atomics: integers, any order
        self.store(targets, sums, dtype)

    def _adv_keys(self, source, launch, status):
        a = self._args(launch, advindex.adv_dtype())
        j = np.arange(int(a["n_idx"]), dtype=np.int64)
        _, x_j, key, ok = self._index(a, j)
        if not ok.all():
            status[0] = 1
        key[~ok] = x_j[~ok] = 0
        for field, values in (("keys", key), ("vals", j), ("xoffs", x_j)):
            self.store(int(a[field]) + 8 * j, values, np.int64)

    def _adv_scatter_sorted(self, source, launch):
        a = self._args(launch, advindex.adv_dtype())
        n_idx, n_rest = int(a["n_idx"]), int(a["n_rest"])
        e = np.arange(int(a["n"]), dtype=np.int64)
        p, q = np.divmod(e, n_rest)
        keys = self.load(int(a["keys"]) + 8 * np.arange(n_idx), np.int64)
        vals = self.load(int(a["vals"]) + 8 * np.arange(n_idx), np.int64)
        xoffs = self.load(int(a["xoffs"]) + 8 * vals, np.int64)  # by sorted position
        if a["set_values"]:
            writer = (p + 1 == n_idx) | (keys[np.minimum(p + 1, n_idx - 1)] != keys[p])
        else:
            writer = (p == 0) | (keys[np.maximum(p - 1, 0)] != keys[p])
        p, q = p[writer], q[writer]
        rest = self._rest(a, q)
        dtype = self._st_t(source)
        target = int(a["x"]) + rest[0] + xoffs[p]

        def value(s):
            dense_s = self._index(a, vals[s], with_arrays=False)[0]
            return self.load(int(a["dense"]) + rest[1][live] + dense_s, dtype)

        if a["set_values"]:
            live = np.ones(p.size, bool)
            self.store(target, value(p), dtype)
            return
        acc = self.load(target, dtype)
        s, live = p.copy(), np.ones(p.size, bool)
        while live.any():  # each run added in order, one step of every run at a time
            with np.errstate(over="ignore"):
                if dtype == np.bool_:
                    acc[live] |= value(s[live])
                else:
                    acc[live] = acc[live] + value(s[live])
            s = s + 1
            live &= s < n_idx
            live[live] &= keys[s[live]] == keys[p[live]]
        self.store(target, acc, dtype)

    # sorting and scanning (st_sort_args, st_scan_args)

    @staticmethod
    def _tiles(launch, n):
        """Each element of a one-block-per-tile kernel, and its block."""
        covered = min(n, launch.grid[0] * advindex.TILE)
        p = np.arange(covered, dtype=np.int64)
        return p, p // advindex.TILE

    def _radix_count(self, source, launch):
        a = self._args(launch, advindex.sort_dtype())
        p, block = self._tiles(launch, int(a["n"]))
        digit = (self.load(int(a["keys_in"]) + 8 * p, np.int64) >> int(a["shift"])) & 255
        blocks = launch.grid[0]
        counts = np.zeros((advindex.RADIX, blocks), np.int64)
        np.add.at(counts, (digit, block), 1)
        d, b = np.meshgrid(np.arange(advindex.RADIX), np.arange(blocks), indexing="ij")
        self.store(int(a["counts"]) + 8 * (d * int(a["n_blocks"]) + b), counts, np.int64)

    def _radix_scatter(self, source, launch):
        a = self._args(launch, advindex.sort_dtype())
        p, block = self._tiles(launch, int(a["n"]))
        keys = self.load(int(a["keys_in"]) + 8 * p, np.int64)
        vals = self.load(int(a["vals_in"]) + 8 * p, np.int64)
        digit = (keys >> int(a["shift"])) & 255
        group = block * advindex.RADIX + digit
        order = np.argsort(group, kind="stable")  # within a tile, equal digits keep their order
        ranked = np.arange(p.size) - np.searchsorted(group[order], group[order], "left")
        rank = np.empty(p.size, np.int64)
        rank[order] = ranked
        start = self.load(int(a["counts"]) + 8 * (digit * int(a["n_blocks"]) + block), np.int64)
        dest = start + rank
        self.store(int(a["keys_out"]) + 8 * dest, keys, np.int64)
        self.store(int(a["vals_out"]) + 8 * dest, vals, np.int64)

    def _scan(self, source, launch):
        assert launch.grid == (1, 1, 1)
        a = self._args(launch, advindex.scan_dtype())
        m = int(a["m"])
        at = int(a["a"]) + 8 * np.arange(m)
        values = self.load(at, np.int64)
        self.store(at, np.cumsum(values) - values, np.int64)
        self.store(np.array([int(a["a"]) + 8 * m]), values.sum(), np.int64)

    # stream compaction (st_nonzero_args)

    def _flags(self, a, launch):
        p, block = self._tiles(launch, int(a["n"]))
        (off,) = _offsets(p, a["ndim"], a["shape"], a["strides"])
        return p, block, self.load(int(a["mask"]) + off, np.uint8) != 0

    def _nonzero_count(self, source, launch):
        a = self._args(launch, advindex.nonzero_dtype())
        _, block, flag = self._flags(a, launch)
        counts = np.bincount(block[flag], minlength=launch.grid[0])
        self.store(int(a["counts"]) + 8 * np.arange(launch.grid[0]), counts, np.int64)

    def _nonzero_write(self, source, launch):
        a = self._args(launch, advindex.nonzero_dtype())
        p, block, flag = self._flags(a, launch)
        start = self.load(int(a["counts"]) + 8 * block, np.int64)
        before = np.cumsum(flag) - flag  # true elements before p ...
        first = np.searchsorted(p, block * advindex.TILE)
        rank = start + before - before[first]  # ... in p's own tile
        p, rank = p[flag], rank[flag]
        ndim, total = int(a["ndim"]), int(a["total"])
        for d in range(ndim):
            p, c = np.divmod(p, int(a["shape"][d]))
            self.store(int(a["coords"]) + 8 * ((ndim - 1 - d) * total + rank), c, np.int64)


def run_emulated(fake, kernel, node, inputs):
    """FakeDevice.kernel for an advanced-indexing node: [output] or None."""
    found = advindex.run(Emulator(fake, inputs), kernel, node, inputs)
    if found is None:
        return None
    fake.counts["kernel"] += 1
    return [found]
