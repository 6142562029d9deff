"""The 0-100 authority score shown to users, from raw PageRank.

Raw PageRank is a probability: on a crawl of a million pages the median page has
about one in a million, and the scores span several orders of magnitude. Users
want a bounded, comparable number (Moz's Domain Authority, Ahrefs' Domain
Rating), so the score is the position of ``log(raw)`` between a floor and the
top of the graph, scaled to 0-100.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import GraphInputError

__all__ = ["authority_scores"]


def authority_scores(raw: Any, *, alpha: float = 0.85, decimals: int = 1) -> np.ndarray:
    """Log-scale raw PageRank scores to 0-100.

    With ``r`` the raw scores of the ``n`` nodes::

        hi = max(r)
        lo = max(min(r), (1 - alpha) * sum(r) / n)
        score = 100 * ln(max(r, lo) / lo) / ln(hi / lo)      rounded to ``decimals``

    ``(1 - alpha) * sum(r) / n`` is the teleport baseline, the score every page
    gets from random jumps alone. The least-ranked page scores 0 (with uniform
    teleport that is a page nobody links to), the top page scores 100, and each
    further factor ``(hi / lo) ** 0.01`` of raw PageRank adds one point. The floor
    keeps pages below the baseline (possible with personalized PageRank, where
    non-seed pages get no teleport share) at 0 instead of stretching the scale
    down to them, or to ``log(0)``.

    The mapping is monotone (a higher raw score never gets a lower authority) and
    equal raw scores get equal authority. The scale is relative to the graph: the
    same page can score differently in a bigger crawl.

    Parameters
    ----------
    raw : array_like of float
        Non-negative raw scores, e.g. from :func:`graph.pagerank` (any scale: only
        ratios matter).
    alpha : float, optional
        The damping factor the scores were computed with; sets the floor.
    decimals : int, optional
        Decimal places kept.

    Returns
    -------
    numpy.ndarray
        float64 scores in ``[0, 100]``, all 0 when every raw score is the same
        (nothing stands out) or when ``raw`` is all zeros.

    Examples
    --------
    >>> from linkgraph.graph import authority_scores
    >>> authority_scores([0.05, 0.05, 0.1, 0.8]).tolist()
    [0.0, 0.0, 25.0, 100.0]
    """
    scores = np.array(raw, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(scores)) or np.any(scores < 0):
        raise GraphInputError("raw scores must be finite and non-negative")
    if not 0.0 <= alpha <= 1.0:
        raise GraphInputError(f"alpha must be in [0, 1], got {alpha}")
    if scores.size == 0:
        return scores
    hi = float(scores.max())
    lo = max(float(scores.min()), (1.0 - alpha) * float(scores.sum()) / scores.size)
    if not hi > lo:
        return np.zeros_like(scores)
    np.maximum(scores, lo, out=scores)
    scaled = 100.0 * np.log(scores / lo) / np.log(hi / lo)
    # The top page is exactly 100 and nothing leaves [0, 100], whatever the rounding.
    return np.clip(np.round(scaled, decimals), 0.0, 100.0)
