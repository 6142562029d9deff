"""graph.authority_scores: the documented formula, its range, order and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from linkgraph.graph import GraphInputError, authority_scores, pagerank


def test_formula_by_hand() -> None:
    # n = 5, sum = 1: the floor (1 - 0.85) / 5 = 0.03 is below min = 0.04, so lo = 0.04.
    raw = [0.04, 0.08, 0.16, 0.32, 0.40]
    expected = [round(100 * math.log(r / 0.04) / math.log(0.40 / 0.04), 1) for r in raw]
    assert expected == [0.0, 30.1, 60.2, 90.3, 100.0]
    assert authority_scores(raw).tolist() == expected


def test_the_floor_is_the_teleport_baseline() -> None:
    # n = 4, sum = 1: floor = 0.15 / 4 = 0.0375 is above min = 0.001 (a non-seed page
    # of a personalized PageRank), so everything at or below 0.0375 scores 0.
    raw = [0.001, 0.0375, 0.075, 0.8865]
    scores = authority_scores(raw)
    assert scores[0] == scores[1] == 0.0
    assert scores[2] == round(100 * math.log(2) / math.log(0.8865 / 0.0375), 1)
    assert scores[3] == 100.0
    # The floor follows alpha, and the raw scale does not matter.
    assert authority_scores(raw, alpha=0.5)[2] == 0.0
    assert np.array_equal(authority_scores(np.array(raw) * 1e6), scores)


def test_range_order_and_ties_on_a_real_pagerank() -> None:
    rng = np.random.default_rng(0)
    n = 500
    raw = pagerank(rng.integers(0, n, size=(2000, 2)), n=n)
    scores = authority_scores(raw)
    assert scores.min() == 0.0 and scores.max() == 100.0
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(scores[order]) >= 0), "monotone"
    for value in np.unique(raw):
        assert np.unique(scores[raw == value]).size == 1, "equal raw, equal score"
    assert np.all(scores == np.round(scores, 1))


def test_pages_without_inbound_links_score_zero() -> None:
    # 1 and 2 link to 0; nobody links to 1, 2 or 3.
    scores = authority_scores(pagerank([[1, 0], [2, 0]], n=4))
    assert scores.tolist() == [100.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "raw",
    [[0.25, 0.25, 0.25, 0.25], [1.0], [0.0, 0.0], [3.0, 3.0]],
)
def test_all_equal_or_all_zero_is_all_zero(raw: list[float]) -> None:
    assert authority_scores(raw).tolist() == [0.0] * len(raw)


def test_empty_decimals_and_bad_input() -> None:
    assert authority_scores([]).shape == (0,)
    assert authority_scores([0.1, 0.2, 0.7], decimals=3)[1] == round(
        100 * math.log(2) / math.log(7), 3
    )
    for bad in ([0.1, -0.1], [np.nan, 1.0], [np.inf, 1.0]):
        with pytest.raises(GraphInputError):
            authority_scores(bad)
    with pytest.raises(GraphInputError):
        authority_scores([0.5, 0.5], alpha=2.0)
