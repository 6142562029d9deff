"""PageRank on Spark with the score vector on the driver: the edges stay distributed and
cached, each iteration is one small job.

Up to a few million nodes the score vector (8 bytes a node) is smaller than one task's
share of the edges, so it is cheaper to broadcast it whole than to join it with the edges.
Each partition of the edges is turned once into numpy arrays (source index, position of the
target among the partition's distinct targets, those targets) and cached; an iteration
broadcasts ``x * alpha / outdeg`` and every task returns the sums for its own targets, which
the driver adds into the next vector. No DataFrame is planned, no shuffle is written and no
lineage grows between iterations: in local mode a step costs one job's scheduling (tens of
milliseconds), where the DataFrame formulation (rank.py) costs seconds.

The model and the stopping rule are graph/pagerank.py's: uniform teleport, the mass of dead
ends spread uniformly, stop after the first iteration whose L1 change is below ``tol``,
then normalize.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["broadcast_pagerank"]

# One partition's edges as arrays: source index, target slot, the slots' node indices.
Block = tuple[np.ndarray, np.ndarray, np.ndarray]
# Edges per block at least: a smaller graph is cut into fewer blocks, since every block is
# one task (tens of milliseconds of scheduling) in every iteration.
BLOCK_EDGES = 1 << 20
# Up to this size (128k nodes) the weights travel inside the tasks; a larger vector is
# broadcast (written once to the block manager, fetched once per executor).
INLINE_BYTES = 1 << 20


class _Inline:
    """The weights shipped with the task, with a broadcast's ``value``."""

    __slots__ = ("value",)

    def __init__(self, value: np.ndarray) -> None:
        self.value = value

    def unpersist(self) -> None:
        pass


def _blocks(rows: Iterable[Any], ids: Any) -> Iterator[Block]:
    """One partition's ``(src, dst)`` rows as a :data:`Block` (nothing for no rows)."""
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64)
    if flat.size == 0:
        return
    pairs = flat.reshape(-1, 2)
    order = ids.value
    src = np.searchsorted(order, pairs[:, 0]).astype(np.int32)
    targets, slot = np.unique(np.searchsorted(order, pairs[:, 1]), return_inverse=True)
    yield src, slot.astype(np.int32), targets


def _out_degrees(block: Block, n: int) -> np.ndarray:
    return np.bincount(block[0], minlength=n)


def _contributions(block: Block, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(target indices, sum of weights[source] over each target's in-links)``."""
    src, slot, targets = block
    return targets, np.bincount(slot, weights=weights.value[src], minlength=targets.size)


def _whole(
    block: Block, n: int, alpha: float, tol: float, max_iter: int
) -> tuple[np.ndarray | None, int, float]:
    """graph/pagerank.py's power iteration over a graph held in one block: ``(scores,
    iterations, last change)``, scores ``None`` when it did not converge (raised on the
    driver, where the error is the command's, not a task failure)."""
    # Its two halves, not graph.pagerank(): the iteration count is reported too.
    from linkgraph.graph.errors import ConvergenceError
    from linkgraph.graph.pagerank import _prepare, _solve

    src, slot, targets = block
    chain = _prepare(
        np.column_stack([src, targets[slot]]),
        n=n,
        alpha=alpha,
        personalization=None,
        dangling=None,
        weighted=False,
        threads=1,
    )
    try:
        return _solve(chain, tol=tol, max_iter=max_iter)
    except ConvergenceError as exc:
        return None, exc.iterations, exc.error


def broadcast_pagerank(
    nodes: Any,
    edges: Any,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    block_edges: int = BLOCK_EDGES,
) -> tuple[Any, int]:
    """PageRank of ``nodes`` (column ``id``) over distinct ``edges`` (``src``, ``dst``):
    a DataFrame ``(id, pagerank)`` and the iterations it took.

    A graph of at most ``block_edges`` edges is one block: one task then runs the whole
    iteration (graph/pagerank.py's), as one job, instead of one job per step."""
    from linkgraph.graph.errors import ConvergenceError

    spark = nodes.sparkSession
    sc = spark.sparkContext
    ids = np.sort(np.fromiter((row[0] for row in nodes.select("id").collect()), dtype=np.int64))
    n = int(ids.size)
    if n == 0:
        return spark.createDataFrame([], "id long, pagerank double"), 0
    shared_ids = sc.broadcast(ids)
    # As many blocks as task slots, fewer for a small graph: more only add scheduling to
    # every iteration.
    m = edges.count()
    parts = max(1, min(sc.defaultParallelism, -(-m // block_edges)))
    rows = edges.select("src", "dst").rdd.coalesce(parts)
    blocks = rows.mapPartitions(lambda part: _blocks(part, shared_ids))

    def table(x: np.ndarray) -> Any:
        return spark.createDataFrame(
            list(zip(ids.tolist(), x.tolist(), strict=True)), "id long, pagerank double"
        )

    if parts == 1:

        def run(part: Iterable[Any]) -> Iterator[tuple[np.ndarray | None, int, float]]:
            empty = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int64))
            block = next(_blocks(part, shared_ids), empty)
            yield _whole(block, n, alpha, tol, max_iter)

        try:
            ((scores, iterations, error),) = rows.mapPartitions(run).collect()
        finally:
            shared_ids.unpersist()
        if scores is None:
            raise ConvergenceError(max_iter, error, tol)
        return table(scores), iterations

    blocks = blocks.cache()
    try:
        outdeg = blocks.map(lambda block: _out_degrees(block, n)).fold(
            np.zeros(n, dtype=np.int64), np.add
        )
        dangling = outdeg == 0
        scale = np.divide(alpha, outdeg, out=np.zeros(n), where=~dangling)
        x = np.full(n, 1.0 / n)
        error = float("inf")
        for iteration in range(1, max_iter + 1):
            w = x * scale
            weights = _Inline(w) if w.nbytes <= INLINE_BYTES else sc.broadcast(w)
            pieces = blocks.map(lambda block, w=weights: _contributions(block, w)).collect()
            weights.unpersist()
            y = np.full(n, ((1.0 - alpha) + alpha * float(x[dangling].sum())) / n)
            for targets, sums in pieces:
                y[targets] += sums
            error = float(np.abs(y - x).sum())
            x = y
            if error < tol:
                x /= x.sum()
                return table(x), iteration
        raise ConvergenceError(max_iter, error, tol)
    finally:
        blocks.unpersist()
        shared_ids.unpersist()
