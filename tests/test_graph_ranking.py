"""graph/ranking.py, the level-ranking pipeline, on graphs small enough to solve by hand.

The graphs are storage's own GraphArrays, which graph.ranking.LinkArrays describes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from linkgraph.graph import ranking
from linkgraph.graph.levels import fold_redirects
from linkgraph.graph.pagerank import pagerank
from linkgraph.graph.ranking import (
    level_backlink_counts,
    pair_counts,
    rank_levels,
    score_level,
    seed_vector,
    trusted_seeds,
)
from linkgraph.storage.graphload import GraphArrays

ALPHA = 0.85


def test_pair_counts_count_backlinks_and_distinct_domains_per_target() -> None:
    # Target 0: three backlinks from domains 5, 5, 6; target 2: one from 5; target 1: none.
    backlinks, referring = pair_counts(np.array([0, 0, 0, 2]), np.array([5, 5, 6, 5]), 3)
    assert backlinks.tolist() == [3, 0, 1]
    assert referring.tolist() == [2, 0, 1]


# Hosts 0 and 2 on domain 1, host 1 on domain 0, host 3 on domain 2: neither the hosts
# of a domain nor the pages of a host have neighbouring ids.
HOST_DOMAIN = np.array([1, 0, 1, 2], dtype=np.int32)
URL_HOST = np.array([1, 0, 2, 0, 3, 1], dtype=np.int32)  # page domains: 0 1 1 1 2 0
BACKLINKS = [
    (0, 1),  # domain 0 -> page 1
    (5, 1),  # domain 0 -> page 1 again, from another page: one referring domain
    (4, 1),  # domain 2 -> page 1
    (0, 3),  # domain 0 -> page 3, on page 1's host: still domain 0 once for that host
    (4, 2),  # domain 2 -> page 2
    (1, 3),  # inside domain 1: not counted
    (2, 0),  # domain 1 -> page 0
    (3, 5),  # domain 1 -> page 5, on page 0's host
    (0, 4),  # domain 0 -> page 4
]


@pytest.mark.parametrize("slice_size", [1 << 20, 1, 2])
def test_level_backlink_counts_by_hand(monkeypatch: pytest.MonkeyPatch, slice_size: int) -> None:
    monkeypatch.setattr(ranking, "_COUNT_SLICE", slice_size)  # runs cut across slices
    src, dst = (np.array(ids, dtype=np.int32) for ids in zip(*BACKLINKS, strict=True))
    counts = level_backlink_counts(src, dst, URL_HOST, HOST_DOMAIN, 3)
    got = {level: (b.tolist(), r.tolist()) for level, (b, r) in counts.items()}
    assert got == {
        "page": ([1, 3, 1, 1, 1, 1], [1, 2, 1, 1, 1, 1]),
        "host": ([4, 2, 1, 1], [2, 1, 1, 1]),
        "domain": ([2, 5, 1], [1, 2, 1]),
    }


def test_level_backlink_counts_count_two_source_domains_of_one_host() -> None:
    # Pages 0 and 1 on host 0 (domain 0); page 2 on host 1 (domain 1), page 3 on host 2
    # (domain 2). Domain 1 links to page 0, domain 2 to page 1: host 0 and domain 0 have
    # two referring domains, though the two pairs' keys follow each other.
    counts = level_backlink_counts(
        np.array([2, 3], dtype=np.int32),
        np.array([0, 1], dtype=np.int32),
        np.array([0, 0, 1, 2], dtype=np.int32),
        np.array([0, 1, 2], dtype=np.int32),
        3,
    )
    assert counts["host"][1].tolist() == [2, 0, 0]
    assert counts["domain"][1].tolist() == [2, 0, 0]
    assert counts["page"][1].tolist() == [1, 1, 0, 0]


def random_site_graph(
    seed: int, domains: int, hosts: int, urls: int, links: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(host_domain, url_host, src, dst)`` of a random graph, int32 as the store gives."""
    rng = np.random.default_rng(seed)
    host_domain = rng.integers(0, domains, size=hosts).astype(np.int32)
    url_host = rng.integers(0, hosts, size=urls).astype(np.int32)
    src = rng.integers(0, urls, size=links).astype(np.int32)
    dst = rng.integers(0, urls, size=links).astype(np.int32)
    return host_domain, url_host, src, dst


@pytest.mark.parametrize("slice_size", [1 << 20, 7])
def test_level_backlink_counts_agree_with_pair_counts_per_level(
    monkeypatch: pytest.MonkeyPatch, slice_size: int
) -> None:
    monkeypatch.setattr(ranking, "_COUNT_SLICE", slice_size)  # runs cut across slices
    host_domain, url_host, src, dst = random_site_graph(5, 40, 90, 3000, 20_000)
    counts = level_backlink_counts(src, dst, url_host, host_domain, 41)
    url_domain = host_domain[url_host]
    external = url_domain[src] != url_domain[dst]
    source_domain = url_domain[src[external]]
    for level, group, n in (
        ("page", np.arange(3000), 3000),
        ("host", url_host, 90),
        ("domain", url_domain, 41),
    ):
        expected = pair_counts(group[dst[external]], source_domain, n)
        assert [c.tolist() for c in counts[level]] == [e.tolist() for e in expected]


def test_rank_levels_page_pagerank_is_that_of_the_folded_edge_list() -> None:
    # The page graph goes to PageRank as a CSC matrix; the scores must be those of the
    # edge list it stands for, to the last bit.
    rng = np.random.default_rng(7)
    n = 500
    src = rng.integers(0, n, size=4000).astype(np.int32)
    dst = rng.integers(0, n, size=4000).astype(np.int32)
    follow = rng.random(4000) < 0.8
    pages = rng.choice(n, size=20, replace=False).astype(np.int32)
    targets = rng.integers(0, n, size=20).astype(np.int32)
    g = GraphArrays(
        n, 50, 10, src, dst, follow, pages, targets,
        (np.arange(n) % 50).astype(np.int32), (np.arange(50) % 10).astype(np.int32),
    )  # fmt: skip
    ranked = rank_levels(g, alpha=ALPHA).levels["page"]["pagerank"]
    p_src, p_dst, _ = fold_redirects(src[follow], dst[follow], np.column_stack([pages, targets]))
    expected = pagerank(np.column_stack([p_src, p_dst]).astype(np.int64), n=n, alpha=ALPHA)
    assert ranked.tolist() == expected.tolist()


def test_seed_vector_is_one_on_seeds_and_none_without() -> None:
    assert seed_vector(np.array([2]), 3).tolist() == [0.0, 0.0, 1.0]
    assert seed_vector(np.array([], dtype=np.int64), 3) is None


def test_trusted_seeds_take_every_page_of_a_trusted_host() -> None:
    url_host = np.array([0, 1, 1, 2, 1])
    seeds = trusted_seeds(np.array([3]), np.array([1]), url_host)
    assert seeds["page"].tolist() == [1, 2, 4]
    assert seeds["host"].tolist() == [1]
    assert seeds["domain"].tolist() == [3]


def test_score_level_solves_a_star_by_hand() -> None:
    # 0 <-> 1, 0 <-> 2. PageRank: p0 = 0.05 + 0.85 (p1 + p2), p1 = p2 = 0.05 + 0.85 p0 / 2
    # gives p0 = 0.135 / 0.2775. TrustRank seeded on 0: t0 = 0.15 + 0.85^2 t0.
    edges = np.array([[0, 1], [0, 2], [1, 0], [2, 0]])
    cols = score_level(
        edges,
        3,
        target_of=np.array([1, 1]),
        source_domain=np.array([4, 4]),
        alpha=ALPHA,
        seeds=np.array([0]),
    )
    p0 = 0.135 / 0.2775
    assert cols["pagerank"] == pytest.approx([p0, (1 - p0) / 2, (1 - p0) / 2], abs=1e-9)
    t0 = 0.15 / (1 - 0.85**2)
    assert cols["trust"] == pytest.approx([t0, (1 - t0) / 2, (1 - t0) / 2], abs=1e-9)
    assert cols["backlinks"].tolist() == [0, 2, 0]
    assert cols["referring_domains"].tolist() == [0, 1, 0]
    assert cols["authority"].argmax() == 0
    assert "harmonic" not in cols


def test_score_level_without_seeds_has_no_trust_and_harmonic_when_asked() -> None:
    matrix = sp.csr_array(([1, 1, 1, 1], ([0, 0, 1, 2], [1, 2, 0, 0])), shape=(3, 3))
    empty = np.array([], dtype=np.int64)
    cols = score_level(matrix, 3, target_of=empty, source_domain=empty, harmonic=True)
    assert "trust" not in cols
    # Into 0: from 1 and 2 at distance 1; into 1: from 0 at 1, from 2 at 2 (2 -> 0 -> 1).
    assert cols["harmonic"].tolist() == [2.0, 1.5, 1.5]


def tiny_web() -> GraphArrays:
    """URLs 0 (host 0), 1 (host 1), 2 and 3 (host 2); hosts 0, 1 on domain 0, host 2 on
    domain 1. Links 0 -> 2, 1 -> 2 (nofollow), 2 -> 0; URL 3 redirects to 0."""
    return GraphArrays(
        n_urls=4,
        n_hosts=3,
        n_domains=2,
        src=np.array([0, 1, 2], dtype=np.int32),
        dst=np.array([2, 2, 0], dtype=np.int32),
        follow=np.array([True, False, True]),
        redirect_src=np.array([3], dtype=np.int32),
        redirect_dst=np.array([0], dtype=np.int32),
        url_host=np.array([0, 1, 2, 2], dtype=np.int32),
        host_domain=np.array([0, 0, 1], dtype=np.int32),
    )


def test_rank_levels_fold_redirects_and_group_hosts_and_domains() -> None:
    said: list[str] = []
    ranking = rank_levels(tiny_web(), alpha=ALPHA, progress=said.append)
    # Page edges: 0 -> 2, 2 -> 0 and the redirect 3 -> 0 (the nofollow link drops out).
    assert ranking.follow_edges == 3
    assert said == ["ranking 4 pages", "ranking 3 hosts", "ranking 2 domains"]
    page, host, domain = (ranking.levels[level] for level in ("page", "host", "domain"))
    # Backlinks between domains: 0 -> 2, 1 -> 2 (nofollow counts), 2 -> 0; redirects don't.
    assert page["backlinks"].tolist() == [1, 0, 2, 0]
    assert page["referring_domains"].tolist() == [1, 0, 1, 0]
    assert host["backlinks"].tolist() == [1, 0, 2]
    assert domain["backlinks"].tolist() == [1, 2]
    assert domain["referring_domains"].tolist() == [1, 1]
    # Domains 0 <-> 1 link both ways: equal PageRank. Hosts 0 <-> 2 (host 1 links only
    # nofollow, so it is dangling): p1 = 0.05 + 0.85 p1 / 3.
    assert domain["pagerank"] == pytest.approx([0.5, 0.5], abs=1e-9)
    p1 = 0.05 / (1 - 0.85 / 3)
    assert host["pagerank"] == pytest.approx([(1 - p1) / 2, p1, (1 - p1) / 2], abs=1e-9)
    assert host["harmonic"].tolist() == [1.0, 0.0, 1.0]
    assert "harmonic" not in page and "trust" not in page


def test_rank_levels_time_each_step_and_call_the_hook_after_it() -> None:
    timings: dict[str, float] = {}
    seen: list[list[str]] = []
    rank_levels(tiny_web(), timings=timings, after_step=lambda: seen.append(list(timings)))
    steps = ["counts"] + [f"{level} {part}" for level in ("page", "host", "domain")
                          for part in ("graph", "scores")]  # fmt: skip
    assert list(timings) == steps
    # The hook runs after a step's work and before its time is recorded.
    assert seen == [steps[:i] for i in range(len(steps))]


def test_rank_levels_trust_lands_only_on_seeds() -> None:
    g = tiny_web()
    seeds = trusted_seeds(np.array([1]), np.array([2]), g.url_host)
    ranking = rank_levels(g, alpha=ALPHA, seeds=seeds)
    # Domain level: t1 = 0.15 + 0.85 t0, t0 = 0.85 t1.
    t1 = 0.15 / (1 - 0.85**2)
    assert ranking.levels["domain"]["trust"] == pytest.approx([0.85 * t1, t1], abs=1e-9)
    assert ranking.levels["host"]["trust"][1] == 0.0


def test_rank_levels_leave_an_empty_level_empty() -> None:
    empty = np.array([], dtype=np.int32)
    g = GraphArrays(0, 0, 0, empty, empty, np.array([], dtype=bool), empty, empty, empty, empty)
    ranking = rank_levels(g)
    assert ranking.levels == {"page": {}, "host": {}, "domain": {}}
    assert ranking.follow_edges == 0


@pytest.mark.parametrize("top", [1, 300, 1 << 16, (1 << 16) + 1, 1 << 31])
def test_stable_order_is_numpys_stable_argsort(top: int) -> None:
    keys = np.random.default_rng(top).integers(0, top, size=5000)
    keys[:50] = top - 1  # ties at the top key, kept in their order
    assert ranking.stable_order(keys, top).tolist() == np.argsort(keys, kind="stable").tolist()


def test_backlinks_sorted_by_target_count_as_unsorted_ones_do() -> None:
    host_domain, url_host, src, dst = random_site_graph(11, 30, 60, 2000, 10_000)
    order = np.lexsort((src, dst))  # as the store gives them: by target, then source
    by_target = level_backlink_counts(src[order], dst[order], url_host, host_domain, 30)
    unsorted = level_backlink_counts(src, dst, url_host, host_domain, 30)
    url_domain = host_domain[url_host]
    external = url_domain[src] != url_domain[dst]
    expected = np.bincount(dst[external], minlength=2000)
    for level in ("page", "host", "domain"):
        for mine, theirs in zip(by_target[level], unsorted[level], strict=True):
            assert mine.tolist() == theirs.tolist() and mine.dtype == theirs.dtype
    assert by_target["page"][0].tolist() == expected.tolist()
