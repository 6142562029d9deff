"""The readable reference PageRank on a published example, and beside the fast one."""

from __future__ import annotations

import numpy as np
import pytest
from linkgraph.graph import ConvergenceError, GraphInputError, pagerank, pagerank_reference

# The 11-page example of the Wikipedia "PageRank" article, damping 0.85: the figure
# https://en.wikipedia.org/wiki/File:PageRanks-Example.svg (public domain). The
# links are read off the figure; page A has none, so it spreads its score evenly.
# The file's description page publishes the exact solution as integers over
# 579,662,461 (≈ A 3.3%, B 38.4%, C 34.3%, D 3.9%, E 8.1%, F 3.9%, G-K 1.6%, the
# percentages printed in the figure).
WIKIPEDIA_PAGES = "ABCDEFGHIJK"
WIKIPEDIA_LINKS = [
    ("B", "C"),
    ("C", "B"),
    ("D", "A"),
    ("D", "B"),
    ("E", "B"),
    ("E", "D"),
    ("E", "F"),
    ("F", "B"),
    ("F", "E"),
    ("G", "B"),
    ("G", "E"),
    ("H", "B"),
    ("H", "E"),
    ("I", "B"),
    ("I", "E"),
    ("J", "E"),
    ("K", "E"),
]
WIKIPEDIA_DENOMINATOR = 579_662_461
WIKIPEDIA_NUMERATORS = [
    19_002_201,  # A
    222_822_800,  # B
    198_772_220,  # C
    22_657_320,  # D
    46_886_400,  # E
    22_657_320,  # F
    *[9_372_840] * 5,  # G to K
]
WIKIPEDIA_PERCENT = [3.3, 38.4, 34.3, 3.9, 8.1, 3.9, 1.6, 1.6, 1.6, 1.6, 1.6]


def _wikipedia_edges() -> list[tuple[int, int]]:
    index = {page: i for i, page in enumerate(WIKIPEDIA_PAGES)}
    return [(index[a], index[b]) for a, b in WIKIPEDIA_LINKS]


def test_published_numbers_are_a_distribution() -> None:
    assert sum(WIKIPEDIA_NUMERATORS) == WIKIPEDIA_DENOMINATOR


def test_reference_reproduces_the_wikipedia_example() -> None:
    scores = pagerank_reference(_wikipedia_edges(), len(WIKIPEDIA_PAGES), tol=1e-14)
    exact = [k / WIKIPEDIA_DENOMINATOR for k in WIKIPEDIA_NUMERATORS]
    assert max(abs(a - b) for a, b in zip(scores, exact, strict=True)) < 1e-12
    assert [round(100 * s, 1) for s in scores] == WIKIPEDIA_PERCENT


def test_fast_pagerank_reproduces_the_wikipedia_example() -> None:
    scores = pagerank(np.array(_wikipedia_edges()), n=len(WIKIPEDIA_PAGES), tol=1e-14)
    exact = np.array(WIKIPEDIA_NUMERATORS) / WIKIPEDIA_DENOMINATOR
    assert np.abs(scores - exact).max() < 1e-12
    assert np.round(100 * scores, 1).tolist() == WIKIPEDIA_PERCENT


@pytest.mark.parametrize("seed", range(8))
def test_reference_and_fast_agree_on_random_graphs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    edges = rng.integers(0, n, size=(int(rng.integers(0, 4 * n)), 2))
    alpha = float(rng.uniform(0.5, 0.95))
    slow = pagerank_reference([tuple(e) for e in edges.tolist()], n, alpha=alpha, tol=1e-13)
    fast = pagerank(edges, n=n, alpha=alpha, tol=1e-13)
    assert np.abs(np.array(slow) - fast).sum() < 1e-10


def test_reference_edge_cases() -> None:
    assert pagerank_reference([], 0) == []
    assert pagerank_reference([], 2) == [0.5, 0.5]
    with pytest.raises(GraphInputError):
        pagerank_reference([(0, 3)], 2)
    with pytest.raises(ConvergenceError) as caught:
        pagerank_reference(_wikipedia_edges(), 11, max_iter=2, tol=1e-15)
    assert caught.value.iterations == 2
