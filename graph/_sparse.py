"""Array plumbing shared by the ranking functions: input checking, CSR building, the kernel.

Every public function in ``graph/`` accepts the same two graph forms, a square
scipy.sparse matrix (rows are sources) or an ``(m, 2)`` integer array of
``(source, target)`` ids, and turns them into plain arrays here. Node ids are
kept below 2**31 so every index array can be int32: it halves the memory
traffic of the sparse products, which is what PageRank's speed is made of.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import GraphInputError

__all__ = [
    "MAX_NODES",
    "RowBlock",
    "check_node_count",
    "edge_arrays",
    "in_links",
    "row_blocks",
    "transpose_csr",
]

# int32 indices (see the module docstring).
MAX_NODES = 2**31 - 1

try:  # scipy's C++ kernel: y += A @ x into a caller-owned y, without allocating
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - private API; the public fallback below is used
    _csr_matvec = None


def check_node_count(n: Any) -> int:
    """Return ``n`` as an int after checking it is a usable node count."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise GraphInputError(f"n must be an integer node count, got {n!r}")
    if not 0 <= n <= MAX_NODES:
        raise GraphInputError(f"n must be between 0 and {MAX_NODES}, got {n}")
    return int(n)


def edge_arrays(adjacency: Any, n: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Return ``(src, dst, weight, n)`` for either accepted graph form.

    ``src`` and ``dst`` are int64 id arrays, ``weight`` is float64 (ones for an edge
    array; the stored values for a sparse matrix, explicit zeros dropped). Raises
    :class:`GraphInputError` on a malformed graph.
    """
    if sp.issparse(adjacency):
        rows, cols = adjacency.shape
        if rows != cols:
            raise GraphInputError(f"adjacency must be square, got shape {adjacency.shape}")
        if n is not None and check_node_count(n) != rows:
            raise GraphInputError(f"n={n} does not match the adjacency shape {adjacency.shape}")
        n = check_node_count(rows)
        coo = sp.coo_array(adjacency)
        weight = np.asarray(coo.data, dtype=np.float64)
        if not np.all(np.isfinite(weight)) or np.any(weight < 0):
            raise GraphInputError("adjacency values must be finite and non-negative")
        keep = weight != 0
        src = np.asarray(coo.row, dtype=np.int64)[keep]
        dst = np.asarray(coo.col, dtype=np.int64)[keep]
        return src, dst, weight[keep], n

    edges = np.asarray(adjacency)
    if edges.size == 0:
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise GraphInputError(
            f"an edge array must have shape (m, 2), got {edges.shape}; "
            "pass a scipy.sparse matrix for weighted input"
        )
    if edges.size and not np.issubdtype(edges.dtype, np.integer):
        raise GraphInputError(f"edge ids must be integers, got dtype {edges.dtype}")
    src = edges[:, 0].astype(np.int64)
    dst = edges[:, 1].astype(np.int64)
    if src.size and min(src.min(), dst.min()) < 0:
        raise GraphInputError("edge ids must be non-negative")
    top = int(max(src.max(), dst.max())) + 1 if src.size else 0
    if n is None:
        n = top
    n = check_node_count(n)
    if top > n:
        raise GraphInputError(f"edge id {top - 1} is out of range for n={n}")
    return src, dst, np.ones(src.size, dtype=np.float64), n


def transpose_csr(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The in-link matrix in CSR form: row ``j`` lists the sources linking to ``j``.

    Repeated ``(src, dst)`` pairs are merged into one entry whose value is the sum of
    their weights (for an edge array: the multiplicity). Returns ``(indptr, indices,
    data)`` with int32 ``indptr`` and ``indices`` and float64 ``data``.
    """
    # scipy's COO -> CSR conversion is a linear-time counting sort in C++, and it
    # merges duplicates; this is much faster than sorting (src, dst) keys in numpy.
    matrix = sp.csr_array((weight, (dst, src)), shape=(n, n))
    matrix.sum_duplicates()
    if matrix.nnz > MAX_NODES:  # indptr would overflow int32
        raise GraphInputError(f"{matrix.nnz} distinct links is more than {MAX_NODES}")
    return (
        matrix.indptr.astype(np.int32, copy=False),
        matrix.indices.astype(np.int32, copy=False),
        np.asarray(matrix.data, dtype=np.float64),
    )


def in_links(
    adjacency: Any, n: int | None, *, values: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """The in-link matrix of either graph form: ``(indptr, indices, data, n)`` as
    :func:`transpose_csr` returns them for :func:`edge_arrays`' output (``data`` is
    ``None`` with ``values=False``, for callers that only need the structure).

    A CSR or CSC matrix in canonical form (sorted indices, no duplicates) whose values are
    all positive and finite is read as it is: its CSC form *is* the in-link CSR. That
    skips the int64 edge list and the second sort, which on a ten-million-link graph cost
    seconds and about 40 bytes per link; anything else takes the general path, which
    also raises the errors.
    """
    if (
        sp.issparse(adjacency)
        and adjacency.format in ("csr", "csc")
        and adjacency.shape[0] == adjacency.shape[1]
        and (n is None or n == adjacency.shape[0])
        and adjacency.shape[0] <= MAX_NODES
        and adjacency.nnz <= MAX_NODES
        and adjacency.has_canonical_format
    ):
        stored = np.asarray(adjacency.data)
        if stored.dtype.kind in "iuf" and bool(np.all(stored > 0) and np.all(np.isfinite(stored))):
            by_target = adjacency
            if adjacency.format == "csr":
                if not values:  # transpose the structure alone: 1 byte a link, not 8
                    adjacency = sp.csr_array(
                        (
                            np.ones(adjacency.nnz, dtype=np.int8),
                            adjacency.indices,
                            adjacency.indptr,
                        ),
                        shape=adjacency.shape,
                    )
                by_target = adjacency.tocsc()
            return (
                by_target.indptr.astype(np.int32, copy=False),
                by_target.indices.astype(np.int32, copy=False),
                np.array(by_target.data, dtype=np.float64) if values else None,
                int(adjacency.shape[0]),
            )
    src, dst, weight, n = edge_arrays(adjacency, n)
    indptr, indices, data = transpose_csr(src, dst, weight, n)
    return indptr, indices, data if values else None, n


class RowBlock:
    """Rows ``start:stop`` of a CSR matrix, multiplied into a preallocated output.

    ``accumulate(x, out)`` does ``out += A[start:stop] @ x`` where ``out`` is the
    ``stop - start`` slice of the result. With scipy's private ``csr_matvec`` it
    allocates nothing and releases the GIL, so two blocks can run on two threads;
    without it, a public-API fallback keeps the results identical, only slower.
    """

    def __init__(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        data: np.ndarray,
        start: int,
        stop: int,
        ncols: int,
    ) -> None:
        self.start = start
        self.stop = stop
        self._ncols = ncols
        self._indptr = indptr[start : stop + 1]
        self._indices = indices
        self._data = data
        self._fallback = None
        if not _KERNEL_OK:
            lo, hi = int(indptr[start]), int(indptr[stop])
            self._fallback = sp.csr_array(
                (data[lo:hi], indices[lo:hi], self._indptr - lo), shape=(stop - start, ncols)
            )

    def accumulate(self, x: np.ndarray, out: np.ndarray) -> None:
        if self._fallback is not None:
            out += self._fallback @ x
            return
        _csr_matvec(
            self.stop - self.start, self._ncols, self._indptr, self._indices, self._data, x, out
        )


def row_blocks(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, parts: int
) -> list[RowBlock]:
    """Split a square CSR matrix into ``parts`` row blocks of about equal work.

    The work of a row is its stored entries (the sparse product) plus a constant for
    the dense per-node operations each iteration also does on it.
    """
    n = indptr.size - 1
    work = indptr[1:].astype(np.int64) + 4 * np.arange(1, n + 1, dtype=np.int64)
    total = int(work[-1]) if n else 0
    cuts = [0]
    for k in range(1, parts):
        cuts.append(max(cuts[-1], int(np.searchsorted(work, total * k // parts))))
    cuts.append(n)
    return [RowBlock(indptr, indices, data, a, b, n) for a, b in itertools.pairwise(cuts)]


def _kernel_works() -> bool:
    """Check once that the private kernel exists and has the signature we rely on."""
    if _csr_matvec is None:
        return False
    try:
        indptr = np.array([0, 2, 3], dtype=np.int32)
        indices = np.array([0, 1, 0], dtype=np.int32)
        data = np.array([1.0, 2.0, 4.0])
        out = np.array([1.0, 1.0])
        _csr_matvec(2, 2, indptr, indices, data, np.array([1.0, 10.0]), out)
    except Exception:
        return False
    return bool(np.array_equal(out, [22.0, 5.0]))


_KERNEL_OK = _kernel_works()
