"""PageRank by power iteration over a sparse in-link matrix.

The model (Page, Brin, Motwani & Winograd 1999, with the usual repair for pages
without out-links): a surfer on page ``i`` follows one of ``i``'s out-links with
probability ``alpha`` and otherwise jumps to a page drawn from the *teleport*
distribution ``v``. A page with no out-links (a *dangling* page) sends the
surfer to a page drawn from the *dangling* distribution ``d`` instead of a link.
The scores are the stationary distribution of that walk::

    x_new[j] = alpha * sum(x[i] * w[i, j] / W[i] for each link i -> j)
             + alpha * (sum of x[i] over dangling i) * d[j]
             + (1 - alpha) * v[j]

where ``w[i, j]`` is 1 for each distinct link (or the link weight with
``weighted=True``) and ``W[i]`` is the sum of ``w`` over ``i``'s out-links.

Speed comes from building the in-link matrix once as CSR with int32 indices and
the factor ``alpha / W[i]`` folded into its values, so one iteration is a single
sparse product into a preallocated buffer plus a few in-place vector passes; the
rows are split into blocks that run on separate threads (scipy's kernel releases
the GIL). No array is allocated inside the iteration loop.

The values and the score vector stay float64. float32 was measured and rejected:
scipy's kernel accumulates in the storage type, and summing the thousands of
in-links of a hub in float32 left an L1 error of 3e-5 on cnr-2000 (the target is
1e-6). Iterating the *changes* in float32 and re-anchoring with float64 steps is
accurate, but a float32 product is no faster on cnr-2000 (3.8 vs 3.9 ms: its
crawl order keeps the reads local), and on a shuffled power-law graph, where it
is 2.5x faster, the float32 rounding excites slowly decaying modes that float64
never does (38 iterations instead of 21), so it did not earn its complexity.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from linkgraph.cores import usable_cores

from ._sparse import RowBlock, in_links, row_blocks
from .errors import ConvergenceError, GraphInputError

__all__ = ["pagerank"]

# Below this many distinct links an iteration takes well under a millisecond and
# handing half of it to a second thread costs more than it saves.
_THREADING_MIN_LINKS = 1 << 19
# More threads than this stop paying off: the product is limited by memory bandwidth.
_MAX_THREADS = 4
# With threads, the rows are cut into up to this many blocks per thread (one per
# million links), and each thread takes the next block when it finishes one, so a
# thread slowed down by another process on its core does less of the work.
_BLOCKS_PER_THREAD = 4


def pagerank(
    adjacency: Any,
    *,
    n: int | None = None,
    alpha: float = 0.85,
    personalization: Any = None,
    dangling: Any = None,
    weighted: bool = False,
    tol: float = 1e-10,
    max_iter: int = 1000,
    threads: int | None = None,
) -> np.ndarray:
    """PageRank of every node of a directed graph.

    Parameters
    ----------
    adjacency : scipy.sparse matrix or array_like of shape (m, 2)
        The links. Either a square sparse matrix whose entry ``(i, j)`` is the link
        ``i -> j`` (rows are sources; the stored value is the link's multiplicity or
        weight), or an integer array of ``(source, target)`` id pairs.
    n : int, optional
        Number of nodes. Required with an edge array when the highest ids have no
        links (otherwise it defaults to the highest id + 1); must match the shape of a
        sparse matrix.
    alpha : float, optional
        Damping factor: the probability of following a link rather than teleporting.
    personalization : array_like of length n or mapping {node id: weight}, optional
        The teleport distribution ``v`` (any non-negative weights; they are
        normalized). Uniform when omitted. A mapping gives weight only to its keys,
        which is how to run personalized PageRank or TrustRank from a seed set:
        ``personalization=dict.fromkeys(seeds, 1.0)``.
    dangling : array_like of length n or mapping {node id: weight}, optional
        Where the score of a page without out-links goes. Defaults to
        ``personalization`` when that is given (as NetworkX does: a personalized
        walk that hits a dead end restarts from the seeds, so dead ends cannot leak
        score to untrusted pages), and to uniform otherwise.
    weighted : bool, optional
        By default each page's score is split equally across its *distinct*
        out-links: repeated links from one page to the same target count once, and
        a sparse matrix's values are ignored. With ``weighted=True`` the split is
        proportional to the summed values (for an edge array: the number of times a
        pair is repeated).
    tol : float, optional
        Stop after the first iteration whose change, the L1 norm
        ``sum(abs(x_new - x_old))`` over all nodes, is below ``tol``; ``x_new`` is
        returned. Its L1 distance to the exact answer is then at most
        ``tol * alpha / (1 - alpha)`` (about ``5.7 * tol`` at ``alpha=0.85``).
        Note that NetworkX stops at ``n * tol`` instead.
    max_iter : int, optional
        Iterations allowed before :class:`~graph.errors.ConvergenceError` is raised.
    threads : int, optional
        Threads for the sparse products. Default: up to 4 (bounded by the CPUs
        available) on graphs with at least 2**19 distinct links, 1 otherwise.

    Returns
    -------
    numpy.ndarray
        float64 scores indexed by node id, summing to 1.

    Raises
    ------
    GraphInputError
        Malformed graph, ids out of range, or an invalid distribution or parameter.
    ConvergenceError
        The change was still at least ``tol`` after ``max_iter`` iterations.

    Notes
    -----
    Self-loops are ordinary links. Nodes without links get the teleport share
    only. Each iteration costs one sparse product over the distinct links plus a
    few passes over the node vector.

    Examples
    --------
    Three pages: 0 and 1 link to each other, both link to 2, and 2 has no links.

    >>> import numpy as np
    >>> from linkgraph.graph import pagerank
    >>> scores = pagerank(np.array([[0, 1], [1, 0], [0, 2], [1, 2]]))
    >>> scores.round(4).tolist()
    [0.292, 0.292, 0.4161]
    >>> float(scores.sum())
    1.0

    Personalized on node 0 (teleport and dead ends both return to 0):

    >>> links = np.array([[0, 1], [1, 0], [0, 2], [1, 2]])
    >>> pagerank(links, personalization={0: 1}).round(4).tolist()
    [0.4925, 0.2093, 0.2982]
    """
    if not tol > 0:
        raise GraphInputError(f"tol must be positive, got {tol}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise GraphInputError(f"max_iter must be a positive integer, got {max_iter!r}")
    chain = _prepare(
        adjacency,
        n=n,
        alpha=alpha,
        personalization=personalization,
        dangling=dangling,
        weighted=weighted,
        threads=threads,
    )
    scores, _, _ = _solve(chain, tol=tol, max_iter=int(max_iter))
    return scores


@dataclass(frozen=True)
class _Chain:
    """The random walk, ready to iterate: ``None`` distributions mean uniform."""

    n: int
    alpha: float
    threads: int
    blocks: list[RowBlock]
    teleport: np.ndarray | None
    sink: np.ndarray | None
    dangling_nodes: np.ndarray


def _prepare(
    adjacency: Any,
    *,
    n: int | None,
    alpha: float,
    personalization: Any,
    dangling: Any,
    weighted: bool,
    threads: int | None,
) -> _Chain:
    """Check the input and build the in-link matrix (the part done once per graph)."""
    indptr, indices, values, n = in_links(adjacency, n, values=weighted)
    if not 0.0 <= alpha <= 1.0:
        raise GraphInputError(f"alpha must be in [0, 1], got {alpha}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1
    ):
        raise GraphInputError(f"threads must be a positive integer, got {threads!r}")
    teleport = _distribution(personalization, n, "personalization")
    sink = teleport if dangling is None else _distribution(dangling, n, "dangling")

    if values is None:  # every distinct link weighs 1
        out_weight = np.bincount(indices, minlength=n).astype(np.float64)
    else:
        out_weight = np.bincount(indices, weights=values, minlength=n)
    # Fold alpha / W[source] into the matrix so an iteration is one product. Gathered
    # per node, in place: no temporary the size of the links (on ten million of them,
    # two such temporaries were the peak of the whole ranking).
    scale = np.divide(alpha, out_weight, out=np.zeros(n), where=out_weight > 0)
    if values is None:
        data = scale[indices]  # indexing: a quarter faster than np.take with int32 ids
    else:
        data = values
        for start in range(0, data.size, 1 << 20):
            part = slice(start, start + (1 << 20))
            data[part] *= scale[indices[part]]
    del scale
    threads = _default_threads(indices.size) if threads is None else int(threads)
    per_thread = 1 if threads == 1 else min(_BLOCKS_PER_THREAD, max(1, indices.size >> 20))
    return _Chain(
        n=n,
        alpha=alpha,
        threads=threads,
        blocks=row_blocks(indptr, indices, data, threads * per_thread),
        teleport=teleport,
        sink=sink,
        dangling_nodes=np.flatnonzero(out_weight == 0),
    )


def _solve(chain: _Chain, *, tol: float, max_iter: int) -> tuple[np.ndarray, int, float]:
    """The power iteration: ``(scores, iterations, last change)``."""
    n, alpha, blocks = chain.n, chain.alpha, chain.blocks
    teleport, sink, dangling_nodes = chain.teleport, chain.sink, chain.dangling_nodes
    if n == 0:
        return np.zeros(0), 0, 0.0
    x = np.full(n, 1.0 / n)
    y = np.empty(n)
    scratch = np.empty(n)
    # Each block sums the dangling score of its own rows, through its own buffer.
    block_dangling = []
    for block in blocks:
        lo, hi = np.searchsorted(dangling_nodes, [block.start, block.stop])
        ids = dangling_nodes[lo:hi]
        block_dangling.append((ids, np.empty(ids.size)))

    def step(k: int, x: np.ndarray, y: np.ndarray, dangling_mass: float) -> tuple[float, float]:
        block = blocks[k]
        rows = slice(block.start, block.stop)
        out, tmp = y[rows], scratch[rows]
        # The jump term (1 - alpha) * v + alpha * dangling_mass * d, then the links.
        _jumps(out, tmp, rows, n, 1.0 - alpha, teleport, alpha * dangling_mass, sink)
        block.accumulate(x, out)
        np.subtract(out, x[rows], out=tmp)
        np.abs(tmp, out=tmp)
        ids, buf = block_dangling[k]
        return float(tmp.sum()), float(np.take(y, ids, out=buf, mode="clip").sum())

    # Per-block (change, dangling score); summed in block order, so the answer does
    # not depend on which thread ran which block.
    results = [(0.0, 0.0)] * len(blocks)
    take_lock = threading.Lock()

    def work(x: np.ndarray, y: np.ndarray, dangling_mass: float, pending: Iterator[int]) -> None:
        while True:
            with take_lock:
                k = next(pending, None)
            if k is None:
                return
            results[k] = step(k, x, y, dangling_mass)

    dangling_mass = float(x[dangling_nodes].sum())
    error = np.inf
    with ThreadPoolExecutor(max_workers=max(1, chain.threads - 1)) as pool:
        for iteration in range(1, max_iter + 1):
            pending = iter(range(len(blocks)))
            helpers = [
                pool.submit(work, x, y, dangling_mass, pending) for _ in range(chain.threads - 1)
            ]
            work(x, y, dangling_mass, pending)
            for helper in helpers:
                helper.result()
            error = sum(r[0] for r in results)
            dangling_mass = sum(r[1] for r in results)
            x, y = y, x
            if error < tol:
                x /= x.sum()
                return x, iteration, error
    raise ConvergenceError(max_iter, error, tol)


def _jumps(
    out: np.ndarray,
    tmp: np.ndarray,
    rows: slice,
    n: int,
    teleport_mass: float,
    teleport: np.ndarray | None,
    sink_mass: float,
    sink: np.ndarray | None,
) -> None:
    """Write ``teleport_mass * v + sink_mass * d`` for ``rows`` into ``out``, in place."""
    if sink is teleport:
        if teleport is None:
            out.fill((teleport_mass + sink_mass) / n)
        else:
            np.multiply(teleport[rows], teleport_mass + sink_mass, out=out)
        return
    if teleport is None:
        out.fill(teleport_mass / n)
    else:
        np.multiply(teleport[rows], teleport_mass, out=out)
    if sink is None:
        out += sink_mass / n
    else:
        np.multiply(sink[rows], sink_mass, out=tmp)
        out += tmp


def _distribution(spec: Any, n: int, name: str) -> np.ndarray | None:
    """A normalized probability vector from a dense vector or a {node id: weight} map.

    ``None`` stays ``None`` (uniform), which the iteration handles without a vector.
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        vector = np.zeros(n)
        for node, value in spec.items():
            if isinstance(node, bool) or not isinstance(node, int | np.integer):
                raise GraphInputError(f"{name} keys must be integer node ids, got {node!r}")
            if not 0 <= node < n:
                raise GraphInputError(f"{name} node {node} is out of range for n={n}")
            vector[node] += float(value)
    else:
        try:
            vector = np.array(spec, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise GraphInputError(f"{name} must be a vector or a mapping: {exc}") from None
        if vector.size != n:
            raise GraphInputError(f"{name} has {vector.size} entries for {n} nodes")
    if not np.all(np.isfinite(vector)) or np.any(vector < 0):
        raise GraphInputError(f"{name} weights must be finite and non-negative")
    total = vector.sum()
    if n and not total > 0:
        raise GraphInputError(f"{name} weights sum to zero")
    if n:
        vector /= total
    return vector


def _default_threads(links: int) -> int:
    if links < _THREADING_MIN_LINKS:
        return 1
    return max(1, min(usable_cores(), _MAX_THREADS))
