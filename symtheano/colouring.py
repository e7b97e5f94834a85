"""Graph colourings that compress sparse derivatives, and the recovery of the
derivative from its compressed form.

A Jacobian J (m x n) whose columns are coloured so that two columns of one
colour never have a nonzero in the same row is recovered from B = J S, where
column c of the seed matrix S is the indicator of colour c: J[i, j] =
B[i, colour[j]]. One forward sweep (a Jacobian-vector product) per colour; the
same on J's rows gives one reverse sweep (a vector-Jacobian product) per colour.

A symmetric Hessian needs fewer colours with a *star colouring* of its
adjacency graph (vertices: variables; edges: off-diagonal nonzeros): a proper
colouring in which every path on four vertices uses at least three colours, so
that every two-coloured part of the graph is a star. Then every off-diagonal
H[i, j] is read directly from B = H S, at B[i, colour[j]] when j is the only
neighbour of i with j's colour (i is a leaf of a star centred on j, or the
star is one edge), else at B[j, colour[i]]. An arrow-shaped Hessian (one dense
row and column) takes 2 colours this way and n with a column colouring; a
tridiagonal one takes 3 either way.

The greedy colourings visit vertices by decreasing degree and give each the
smallest colour allowed. Recovery checks the colouring as it reads: a wrong
colouring raises instead of returning a wrong derivative.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["column_colouring", "star_colouring", "seed_matrix", "recover_columns",
           "recover_symmetric"]


def _order(degrees):
    return np.argsort(-np.asarray(degrees), kind="stable")


def column_colouring(pattern):
    """Colours of the columns of `pattern` (a boolean sparse matrix) such that two
    columns of one colour share no row: an int array, colours 0, 1, ..."""
    csc = sp.csc_matrix(pattern, dtype=bool)
    csr = csc.tocsr()
    n = csc.shape[1]
    colours = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    for j in _order(np.diff(csc.indptr)):
        for r in csc.indices[csc.indptr[j]:csc.indptr[j + 1]]:
            others = csr.indices[csr.indptr[r]:csr.indptr[r + 1]]
            used = colours[others]
            forbidden[used[used >= 0]] = j
        c = 0
        while forbidden[c] == j:
            c += 1
        colours[j] = c
    return colours


def _adjacency(pattern):
    """Neighbour lists of the symmetric pattern, diagonal left out."""
    sym = sp.csr_matrix(pattern, dtype=bool)
    sym = (sym + sym.T).tocsr()
    sym.setdiag(False)
    sym.eliminate_zeros()
    sym.sort_indices()
    return [sym.indices[sym.indptr[v]:sym.indptr[v + 1]] for v in range(sym.shape[0])]


def star_colouring(pattern):
    """A star colouring of the adjacency graph of the symmetric `pattern` (see the
    module docstring): an int array of colours 0, 1, ...

    When a vertex v is coloured, every path on four vertices that v completes
    (the other three already coloured) must not be two-coloured:
      v - w - x - y: v may not take x's colour if y has w's colour;
      w - v - x - y: v may not take y's colour if w and x share a colour.
    Paths completed later are checked when their last vertex is coloured."""
    adj = _adjacency(pattern)
    n = len(adj)
    colours = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    for v in _order([len(a) for a in adj]):
        coloured = [w for w in adj[v] if colours[w] >= 0]
        for w in coloured:
            forbidden[colours[w]] = v
        by_colour = {}
        for w in coloured:
            by_colour.setdefault(colours[w], []).append(w)
        for w in coloured:
            cw = colours[w]
            for x in adj[w]:
                if x == v or colours[x] < 0:
                    continue
                if any(y != w and colours[y] == cw for y in adj[x]):
                    forbidden[colours[x]] = v  # v - w - x - y
        for ws in by_colour.values():
            if len(ws) < 2:
                continue
            for x in ws:  # w - v - x - y with colour(w) == colour(x)
                for y in adj[x]:
                    if y != v and colours[y] >= 0:
                        forbidden[colours[y]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colours[v] = c
    return colours


def seed_matrix(colours, dtype="float64"):
    """S (n x number of colours): S[k, c] = 1 where colour[k] == c."""
    n = colours.size
    k = int(colours.max()) + 1 if n else 0
    seeds = np.zeros((n, k), dtype=dtype)
    seeds[np.arange(n), colours] = 1
    return seeds


def recover_columns(pattern, colours, compressed):
    """J (CSR, the structure of `pattern`) from B = J S for a column colouring:
    J[i, j] = B[i, colour[j]]."""
    coo = sp.coo_matrix(pattern, dtype=bool)
    values = compressed[coo.row, colours[coo.col]]
    return sp.csr_matrix((values, (coo.row, coo.col)), shape=pattern.shape)


def recover_symmetric(pattern, colours, compressed):
    """H (CSR, the symmetric structure of `pattern`) from B = H S for a star
    colouring (see the module docstring); raises if the colouring is not one."""
    sym = sp.csr_matrix(pattern, dtype=bool)
    sym = (sym + sym.T).tocsr()
    sym.sort_indices()
    coo = sym.tocoo()
    rows, cols = coo.row, coo.col
    n = sym.shape[0]
    k = compressed.shape[1]
    # count[i, c]: how many neighbours of i (itself excluded) have colour c
    off = rows != cols
    count = sp.csr_matrix((np.ones(int(off.sum())), (rows[off], colours[cols[off]])),
                          shape=(n, k)).toarray()
    values = np.empty(rows.size, dtype=compressed.dtype)
    diag = ~off
    if np.any(count[rows[diag], colours[rows[diag]]] != 0):
        raise ValueError("recover_symmetric: two neighbours share a colour (not a "
                         "distance-1 colouring)")
    values[diag] = compressed[rows[diag], colours[rows[diag]]]
    i, j = rows[off], cols[off]
    direct = count[i, colours[j]] == 1
    swapped = ~direct & (count[j, colours[i]] == 1)
    if not np.all(direct | swapped):
        raise ValueError("recover_symmetric: the colouring is not a star colouring")
    off_values = np.where(direct, compressed[i, colours[j]], compressed[j, colours[i]])
    values[off] = off_values
    return sp.csr_matrix((values, (rows, cols)), shape=sym.shape)
