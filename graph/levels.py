"""From page-level links to the graphs that rankings run on: redirects, hosts, domains.

Two rules live here:

- **A redirect passes its authority to its target.** :func:`fold_redirects`
  gives a page that redirects exactly one out-link, to its target, in place of
  whatever links were recorded for it. PageRank then moves all of the page's
  score through that link (damped by ``alpha`` like any other link), and the
  links pointing at the redirecting page still count for it.
- **Host and domain graphs have one edge per ordered pair.** :func:`group_graph`
  maps both ends of every link to its group (host or registrable domain) and keeps
  one edge ``A -> B`` for each pair of different groups joined by at least one
  (followed) link; links inside a group are dropped. PageRank on that graph
  splits each group's score equally across the groups it links to, however many
  pages or links it has: the documented basis of Ahrefs' Domain Rating, and the
  same rule is used for hosts. The link counts are kept as the matrix values for
  callers that want them (``pagerank(..., weighted=True)`` would weight by them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ._sparse import MAX_NODES, check_node_count
from .errors import GraphInputError

__all__ = ["fold_redirects", "group_graph"]

try:  # scipy's C++ counting sorts: COO -> CSR and CSR -> CSC, each one linear pass
    from scipy.sparse._sparsetools import coo_tocsr as _coo_tocsr
    from scipy.sparse._sparsetools import csr_tocsc as _csr_tocsc
except ImportError:  # pragma: no cover - private API; the public path below is used
    _coo_tocsr = _csr_tocsc = None

# Links whose groups are compared at a time in group_graph.
_MASK_SLICE = 1 << 20


def group_graph(
    src: Any,
    dst: Any,
    group_of: Any,
    *,
    follow: Any = None,
    n_groups: int | None = None,
    format: str = "csr",
) -> sp.csr_array | sp.csc_array:
    """Aggregate page-level links into a host- or domain-level graph.

    Parameters
    ----------
    src, dst : array_like of int
        Page ids of the link sources and targets (same length).
    group_of : array_like of int
        ``group_of[page]`` is the page's group id (host id or registrable-domain id),
        for every page id that occurs in ``src`` or ``dst``.
    follow : array_like of bool, optional
        Which links count (e.g. not ``rel=nofollow``). Default: all of them.
    n_groups : int, optional
        Number of groups. Default: the highest group id + 1.
    format : {"csr", "csc"}, optional
        The matrix's format: CSC is the in-links as they stand, what rankings read.

    Returns
    -------
    scipy.sparse.csr_array or scipy.sparse.csc_array
        ``n_groups x n_groups`` in canonical form, rows are sources. Entry ``(A, B)`` is stored exactly
        when some counted link goes from a page of ``A`` to a page of ``B != A``; its
        value is the number of such page-level links. Pass it straight to
        :func:`graph.pagerank`, which by default gives every stored entry equal weight.

    Examples
    --------
    Pages 0 and 1 are on domain 0, page 2 on domain 1, page 3 on domain 2. Page 0
    links to 1 (internal: dropped) and to 2; page 1 also links to 2 (same pair,
    counted in the value); page 2 links to 3 with a nofollow link (dropped).

    >>> import numpy as np
    >>> from linkgraph.graph import group_graph
    >>> g = group_graph([0, 0, 1, 2], [1, 2, 2, 3], [0, 0, 1, 2],
    ...                 follow=[True, True, True, False])
    >>> g.toarray()
    array([[0, 2, 0],
           [0, 0, 0],
           [0, 0, 0]])
    """
    src_ids, dst_ids = _link_arrays(src, dst)
    groups = np.asarray(group_of)
    if groups.ndim != 1 or (groups.size and not np.issubdtype(groups.dtype, np.integer)):
        raise GraphInputError("group_of must be a 1-d array of integer group ids")
    if groups.size and groups.min() < 0:
        raise GraphInputError("group ids must be non-negative")
    if src_ids.size and max(src_ids.max(), dst_ids.max()) >= groups.size:
        raise GraphInputError("a page id in src or dst has no entry in group_of")
    if format not in ("csr", "csc"):
        raise GraphInputError(f"format must be 'csr' or 'csc', got {format!r}")
    top = int(groups.max()) + 1 if groups.size else 0
    n_groups = top if n_groups is None else check_node_count(n_groups)
    if top > n_groups:
        raise GraphInputError(f"group id {top - 1} is out of range for n_groups={n_groups}")

    # Group ids in int32 (they fit: n_groups <= MAX_NODES), and no group id array over all
    # the links: the mask is computed a slice at a time, and only the kept links' group
    # ids are made. On ten million links each full-length copy is 40-80 MB of peak memory.
    keep = np.empty(src_ids.size, dtype=bool)
    for start in range(0, src_ids.size, _MASK_SLICE):
        part = slice(start, start + _MASK_SLICE)
        np.not_equal(groups[src_ids[part]], groups[dst_ids[part]], out=keep[part])
    if follow is not None:
        follow_mask = np.asarray(follow, dtype=bool).reshape(-1)
        if follow_mask.size != src_ids.size:
            raise GraphInputError("follow must have one entry per link")
        keep &= follow_mask
    # Group ids of the kept links, source and target, handed over (the list is emptied
    # as they are used, so they are freed as soon as they are sorted).
    ends = [groups[ids[keep]].astype(np.int32, copy=False) for ids in (src_ids, dst_ids)]
    del keep
    graph = _pair_counts(ends, n_groups, format)
    graph.data = graph.data.astype(np.int64)
    return graph


def _pair_counts(ends: list[np.ndarray], n: int, format: str) -> sp.csr_array | sp.csc_array:
    """The canonical ``n x n`` matrix whose entry ``(r, c)`` counts the pairs ``(r, c)``
    of ``ends = [rows, cols]`` (emptied), in int32 (at most one per link: no overflow
    below 2**31 links).

    Two stable counting sorts, by the minor key and then by the major one, leave each
    row (column) sorted: scipy's own COO conversion sorts every row with a comparison
    sort instead, which on the 10M-link store's host graph took twice as long. Every
    value is 1 until the duplicates are summed, so one array of ones serves as the
    values of the input and of both sorts (a sort moves a 1 onto a 1).
    """
    cols = ends.pop()
    rows = ends.pop()
    ones = np.ones(rows.size, dtype=np.int32)
    if _coo_tocsr is None or ones.size > MAX_NODES:  # pragma: no cover - see the import
        graph = sp.csr_array((ones, (rows, cols)), shape=(n, n))
        del rows, cols
        graph.sum_duplicates()
        return graph if format == "csr" else graph.tocsc()
    # First by the minor key (a CSR of it), then by the major key (the CSC of that CSR).
    minor, major = (cols, rows) if format == "csr" else (rows, cols)
    del rows, cols
    minor_ptr, majors = np.empty(n + 1, dtype=np.int32), np.empty_like(ones)
    _coo_tocsr(n, n, ones.size, minor, major, ones, minor_ptr, majors, ones)
    del minor, major
    indptr, indices = np.empty(n + 1, dtype=np.int32), np.empty_like(ones)
    _csr_tocsc(n, n, minor_ptr, majors, ones, indptr, indices, ones)
    del minor_ptr, majors
    kind = sp.csr_array if format == "csr" else sp.csc_array
    graph = kind((ones, indices, indptr), shape=(n, n))
    graph.has_sorted_indices = True  # the second pass leaves every row (column) sorted
    graph.sum_duplicates()  # one entry per ordered pair, valued by its count
    return graph


def fold_redirects(
    src: Any, dst: Any, redirects: Any, *, follow: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make every redirecting page link only to its redirect target.

    Parameters
    ----------
    src, dst : array_like of int
        Page-level links.
    redirects : array_like of shape (r, 2)
        ``(page, target)`` pairs: ``page`` answered with a redirect to ``target``.
        A page may appear at most once.
    follow : array_like of bool, optional
        Follow mask of the links, carried through to the result.

    Returns
    -------
    src, dst : numpy.ndarray
        The links of pages that do not redirect, unchanged and in order, followed by
        one link ``page -> target`` per redirect (without redirects: views of the
        input arrays, not copies); int32 when every id fits, else int64. A page that
        redirects to itself gets no out-link: it is a dead end, like a page without
        links.
    follow : numpy.ndarray of bool
        The follow mask of the result (all true when ``follow`` is omitted); a
        redirect link is always followed.

    Examples
    --------
    Page 1 redirects to page 3; the link 1 -> 2 recorded from its body is dropped.

    >>> from linkgraph.graph import fold_redirects
    >>> src, dst, follow = fold_redirects([0, 1], [1, 2], [[1, 3]])
    >>> src.tolist(), dst.tolist(), follow.tolist()
    ([0, 1], [1, 3], [True, True])
    """
    src_ids, dst_ids = _link_arrays(src, dst)
    pairs = np.asarray(redirects)
    if pairs.size == 0:
        pairs = pairs.reshape(0, 2)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise GraphInputError(f"redirects must have shape (r, 2), got {pairs.shape}")
    if pairs.size and (not np.issubdtype(pairs.dtype, np.integer) or pairs.min() < 0):
        raise GraphInputError("redirects must hold non-negative integer page ids")
    pages, targets = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    if np.unique(pages).size != pages.size:
        raise GraphInputError("a page appears more than once in redirects")
    if follow is None:
        follow_mask = np.ones(src_ids.size, dtype=bool)
    else:
        follow_mask = np.asarray(follow, dtype=bool).reshape(-1)
        if follow_mask.size != src_ids.size:
            raise GraphInputError("follow must have one entry per link")

    if pages.size == 0:  # nothing to fold: no pass over the links, no copy of them
        return src_ids, dst_ids, follow_mask
    # A lookup table over the source ids: one pass, where np.isin sorts both sides.
    redirecting = np.zeros(int(src_ids.max(initial=-1)) + 1, dtype=bool)
    redirecting[pages[pages < redirecting.size]] = True
    keep = ~redirecting[src_ids]
    del redirecting
    real = pages != targets
    if src_ids.dtype == np.int32 and pages.max() <= MAX_NODES and targets.max() <= MAX_NODES:
        pages, targets = pages.astype(np.int32), targets.astype(np.int32)
    return (
        np.concatenate([src_ids[keep], pages[real]]),
        np.concatenate([dst_ids[keep], targets[real]]),
        np.concatenate([follow_mask[keep], np.ones(int(real.sum()), dtype=bool)]),
    )


def _link_arrays(src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    src_ids = np.asarray(src).reshape(-1)
    dst_ids = np.asarray(dst).reshape(-1)
    if src_ids.size != dst_ids.size:
        raise GraphInputError("src and dst must have the same length")
    for ids in (src_ids, dst_ids):
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0):
            raise GraphInputError("page ids must be non-negative integers")
    # int32 when every id fits (a store's always do): half the memory of int64.
    wide = any(ids.size and ids.max() > MAX_NODES for ids in (src_ids, dst_ids))
    dtype = np.int64 if wide else np.int32
    return src_ids.astype(dtype, copy=False), dst_ids.astype(dtype, copy=False)
