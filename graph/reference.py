"""A plain, readable PageRank to check the fast one against.

:func:`pagerank_reference` is written for a reader, not for speed: lists and
sets, one loop per term of the formula, the same model and stopping rule as
:func:`graph.pagerank` with uniform teleport and dangling distributions. The
tests run both on a published example and on random graphs and require them to
agree; use the fast one for anything bigger than a few thousand links.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._sparse import check_node_count
from .errors import ConvergenceError, GraphInputError

__all__ = ["pagerank_reference"]


def pagerank_reference(
    edges: Iterable[tuple[int, int]],
    n: int,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> list[float]:
    """PageRank by the textbook power iteration, in pure Python.

    Parameters
    ----------
    edges : iterable of (int, int)
        Links as ``(source, target)`` ids in ``range(n)``. A repeated link counts once;
        a self-loop is an ordinary link.
    n : int
        Number of nodes.
    alpha : float, optional
        Damping factor.
    tol : float, optional
        Stop after the first iteration whose L1 change ``sum(|new - old|)`` is below
        ``tol``, as :func:`graph.pagerank` does.
    max_iter : int, optional
        Iterations allowed before :class:`~graph.errors.ConvergenceError`.

    Returns
    -------
    list of float
        The score of each node, summing to 1.

    Examples
    --------
    >>> scores = pagerank_reference([(0, 1), (1, 0), (0, 2), (1, 2)], 3)
    >>> [round(s, 4) for s in scores]
    [0.292, 0.292, 0.4161]
    """
    n = check_node_count(n)
    out_links: list[set[int]] = [set() for _ in range(n)]
    for source, target in edges:
        if not (0 <= source < n and 0 <= target < n):
            raise GraphInputError(f"link ({source}, {target}) is out of range for n={n}")
        out_links[source].add(target)
    if n == 0:
        return []

    rank = [1.0 / n] * n
    change = float("inf")
    for _ in range(max_iter):
        # A page without out-links hands its score to every page equally.
        dangling_score = sum(rank[page] for page in range(n) if not out_links[page])
        base = (1.0 - alpha) / n + alpha * dangling_score / n
        new_rank = [base] * n
        # Every other page splits its score equally across its distinct out-links.
        for page, targets in enumerate(out_links):
            if targets:
                share = alpha * rank[page] / len(targets)
                for target in targets:
                    new_rank[target] += share
        change = sum(abs(new - old) for new, old in zip(new_rank, rank, strict=True))
        rank = new_rank
        if change < tol:
            total = sum(rank)
            return [score / total for score in rank]
    raise ConvergenceError(max_iter, change, tol)
