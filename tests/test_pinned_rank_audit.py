"""`rank` and the graph export give the same answers after their SQL moved into
storage/ and their domain logic into graph/.

Every expected value below was recorded from the code before that refactor (main at
ef66706) on the hand-built store of ``tests/pinned_web.py``, rounded to 1e-9: the refactor must
not move a single score, count, reason or row.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

import numpy as np
import pinned_web
import pytest
from linkgraph.storage.graphload import GraphArrays
from pinned_web import OTHER_HOSTS, gen1, gen2, r9, score_rows, write

import linkgraph
from linkgraph.graphs import _level_edges, export_graph, to_networkx

# The hand-built store, written and ranked once for this module.
store = pinned_web.store
ranked = pinned_web.ranked

# -- rank --------------------------------------------------------------------------------------

# (pagerank, authority, trust, backlinks, referring_domains) per page; the 110 pages of
# other.test all score OTHER_PAGE.
OTHER_PAGE = (0.006483826, 2.1, 0.000777903, 1, 1)
PAGES = {
    "http://best-seo-backlink-farm.xyz/": (0.009047199, 15.2, 0.001085446, 2, 2),
    "http://blog.a.test/": (0.009779899, 18.3, 0.058939187, 0, 0),
    "http://cheap-casino-links-1234.xyz/": (0.04426624, 77.8, 0.103415329, 3, 3),
    "http://news.a.test/article": (0.017077875, 40.3, 0.089927832, 2, 2),
    "http://www.b.test/post": (0.00615085, 0.0, 0.0, 0, 0),
    "http://www.c.test/old": (0.00615085, 0.0, 0.0, 0, 0),
    "http://www.link-swap-club.top/": (0.009047199, 15.2, 0.001085446, 2, 2),
    "http://www.m.test/": (0.00615085, 0.0, 0.0, 0, 0),
    "http://www.n.test/": (0.00615085, 0.0, 0.0, 0, 0),
    "http://www.s.test/p0": (0.010697131, 21.8, 0.069268736, 0, 0),
    "http://www.s.test/p1": (0.010697131, 21.8, 0.069268736, 0, 0),
    "http://www.s.test/p2": (0.010697131, 21.8, 0.069268736, 0, 0),
    "http://www.s.test/p3": (0.010697131, 21.8, 0.069268736, 0, 0),
    "http://www.t.test/": (0.077620338, 100.0, 0.241882925, 9, 6),
    "http://www.t.test/about": (0.042768542, 76.5, 0.121909907, 1, 1),
    "http://www.t.test/gone": (0.009779899, 18.3, 0.019109664, 1, 1),
}
# (pagerank, authority, trust, harmonic, backlinks, referring_domains) per host and domain.
# Those nobody links to (www.b, www.c, www.m and www.n.test) score alike, and so do the
# farm's second and third sites, which link and are linked alike.
UNLINKED_HOST = (0.00707047, 0.0, 0.0, 0.0, 0, 0)
UNLINKED_DOMAIN = (0.023938398, 0.0, 0.0, 0.0, 0, 0)
FARM_PAIR_HOST = (0.010349564, 20.3, 0.001634453, 4.083333333, 2, 2)
FARM_PAIR_DOMAIN = (0.119223703, 64.4, 0.085004927, 3.833333333, 2, 2)
HOSTS = {
    "best-seo-backlink-farm.xyz": FARM_PAIR_HOST,
    "blog.a.test": (0.017773031, 49.2, 0.192990878, 1.5, 0, 0),
    "cheap-casino-links-1234.xyz": (0.046093086, 100.0, 0.155721669, 5.333333333, 3, 3),
    "news.a.test": (0.025182496, 67.8, 0.250549561, 2.0, 2, 2),
    "www.b.test": UNLINKED_HOST,
    "www.c.test": UNLINKED_HOST,
    "www.link-swap-club.top": FARM_PAIR_HOST,
    "www.m.test": UNLINKED_HOST,
    "www.n.test": UNLINKED_HOST,
    "www.s.test": (0.00707047, 0.0, 0.086507315, 0.0, 0, 0),
    "www.t.test": (0.03900925, 91.1, 0.182112328, 7.5, 11, 6),
}
DOMAINS = {
    "a.test": (0.034112218, 14.2, 0.100891084, 1.0, 2, 2),
    "b.test": UNLINKED_DOMAIN,
    "best-seo-backlink-farm.xyz": FARM_PAIR_DOMAIN,
    "c.test": UNLINKED_DOMAIN,
    "cheap-casino-links-1234.xyz": (0.289436496, 100.0, 0.286683282, 5.0, 3, 3),
    "link-swap-club.top": FARM_PAIR_DOMAIN,
    "m.test": UNLINKED_DOMAIN,
    "n.test": UNLINKED_DOMAIN,
    "other.test": (0.085443654, 51.0, 0.060920198, 3.833333333, 110, 1),
    "s.test": (0.023938398, 0.0, 0.100891084, 0.0, 0, 0),
    "t.test": (0.232868234, 91.3, 0.280604499, 7.0, 11, 6),
}
# The 110 hosts of other.test all score OTHER_HOST.
OTHER_HOST = (0.007417188, 2.6, 0.001171358, 4.083333333, 1, 1)
SUMMARY = (126, 121, 11, 138, 138, 2)
TOP_DOMAINS = [
    ("cheap-casino-links-1234.xyz", 100.0),
    ("t.test", 91.3),
    ("link-swap-club.top", 64.4),
    ("best-seo-backlink-farm.xyz", 64.4),
    ("other.test", 51.0),
]


def test_rank_summary_is_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    _, s = ranked
    assert (s.pages, s.hosts, s.domains, s.backlinks, s.follow_edges, s.trusted) == SUMMARY
    assert [(name, r9(a)) for name, a in s.top_domains] == TOP_DOMAINS


def test_page_scores_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    cols = ["pagerank", "authority", "trust", "backlinks", "referring_domains"]
    rows = score_rows(db, "page_scores", "url_id", "urls", "url", cols)
    assert {u: v for u, v in rows.items() if "other.test" not in u} == PAGES
    assert {v for u, v in rows.items() if "other.test" in u} == {OTHER_PAGE}
    assert len(rows) == len(PAGES) + 110


@pytest.mark.parametrize(
    ("table", "key", "names", "expected"),
    [
        ("host_scores", "host_id", "hosts", HOSTS),
        ("domain_scores", "domain_id", "domains", DOMAINS),
    ],
)
def test_host_and_domain_scores_are_unchanged(
    ranked: tuple[Path, linkgraph.RankSummary], table: str, key: str, names: str, expected: dict
) -> None:
    db, _ = ranked
    cols = ["pagerank", "authority", "trust", "harmonic", "backlinks", "referring_domains"]
    rows = score_rows(db, table, key, names, "name", cols)
    # The 110 hosts of other.test score alike; they are one domain.
    assert {name: v for name, v in rows.items() if name not in OTHER_HOSTS} == expected
    assert {v for name, v in rows.items() if name in OTHER_HOSTS} <= {OTHER_HOST}
    assert len(rows) == len(expected) + (len(OTHER_HOSTS) if table == "host_scores" else 0)


def test_rank_without_trusted_sites_writes_no_trust(tmp_path: Path) -> None:
    db = tmp_path / "web.db"
    asyncio.run(write(db, gen1()))
    asyncio.run(write(db, gen2()))
    summary = linkgraph.rank(db)
    assert summary.trusted == 0
    cols = ["pagerank", "trust"]
    rows = score_rows(db, "domain_scores", "domain_id", "domains", "name", cols)
    assert {d: v for d, (v, _) in rows.items()} == {d: v[0] for d, v in DOMAINS.items()}
    assert {t for _, t in rows.values()} == {None}


# -- graph export --------------------------------------------------------------------------------

DOMAIN_EDGES = [
    ("a.test", "t.test", 3, 3),
    ("best-seo-backlink-farm.xyz", "cheap-casino-links-1234.xyz", 1, 1),
    ("best-seo-backlink-farm.xyz", "link-swap-club.top", 1, 1),
    ("best-seo-backlink-farm.xyz", "t.test", 1, 1),
    ("c.test", "t.test", 1, 1),
    ("cheap-casino-links-1234.xyz", "best-seo-backlink-farm.xyz", 1, 1),
    ("cheap-casino-links-1234.xyz", "link-swap-club.top", 1, 1),
    ("cheap-casino-links-1234.xyz", "other.test", 110, 110),
    ("cheap-casino-links-1234.xyz", "t.test", 1, 1),
    ("link-swap-club.top", "best-seo-backlink-farm.xyz", 1, 1),
    ("link-swap-club.top", "cheap-casino-links-1234.xyz", 1, 1),
    ("link-swap-club.top", "t.test", 1, 1),
    ("n.test", "a.test", 1, 1),
    ("n.test", "t.test", 1, 1),
    ("s.test", "t.test", 4, 4),
    ("t.test", "a.test", 1, 0),
    ("t.test", "cheap-casino-links-1234.xyz", 1, 1),
]
REDIRECT_EDGES = [("http://www.c.test/old", "http://www.t.test/")]
NOFOLLOW_PAGE_EDGES = [("http://www.t.test/", "http://news.a.test/article")]
# (edges, sha256 of the tab-separated edge list) per level
EDGELISTS = {
    "page": (139, "2aa1596bf7348b32b1e761e44c71374d6abbdf857d44a0727e61d85a49676245"),
    "host": (128, "3ae4fe446911f6c68b167c1c99b2b71a1e25c57ed945d7984cc27c94d0880442"),
    "domain": (17, "6804f4be3aa48df7117ac7290c473b0a9abddaab2af60cf5f5fbe224d8327178"),
}


def test_domain_graph_edges_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    g = to_networkx(db, level="domain")
    edges = sorted((u, v, d["links"], d["follow_links"]) for u, v, d in g.edges(data=True))
    assert edges == DOMAIN_EDGES
    assert r9(g.nodes["t.test"]["pagerank"]) == DOMAINS["t.test"][0]


def test_page_graph_marks_redirects_and_nofollow_as_before(
    ranked: tuple[Path, linkgraph.RankSummary],
) -> None:
    db, _ = ranked
    g = to_networkx(db, level="page")
    assert sorted((u, v) for u, v, d in g.edges(data=True) if d["kind"] == "redirect") == (
        REDIRECT_EDGES
    )
    assert sorted((u, v) for u, v, d in g.edges(data=True) if d["follow_links"] == 0) == (
        NOFOLLOW_PAGE_EDGES
    )


@pytest.mark.parametrize("level", ["page", "host", "domain"])
def test_edge_lists_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary], level: str) -> None:
    db, _ = ranked
    buf = io.StringIO()
    n = export_graph(db, buf, format="edgelist", level=level)
    assert (n, hashlib.sha256(buf.getvalue().encode()).hexdigest()) == EDGELISTS[level]


def level_edges(level: str) -> list[tuple[int, int, int, int, bool]]:
    """The edges of a hand-built graph: URLs 0, 1 on host 0, URL 2 on host 1, one domain.
    Links 0 -> 0 (to itself), 0 -> 1 nofollow, 0 -> 2 nofollow, 1 -> 2; 2 redirects to 1."""
    g = GraphArrays(
        n_urls=3,
        n_hosts=2,
        n_domains=1,
        src=np.array([0, 0, 0, 1], dtype=np.int32),
        dst=np.array([0, 1, 2, 2], dtype=np.int32),
        follow=np.array([True, False, False, True]),
        redirect_src=np.array([2], dtype=np.int32),
        redirect_dst=np.array([1], dtype=np.int32),
        url_host=np.array([0, 0, 1], dtype=np.int32),
        host_domain=np.array([0, 0], dtype=np.int32),
    )
    columns = (c.tolist() for c in _level_edges(g, level))
    return list(zip(*columns, strict=True))


def test_page_edges_keep_a_link_to_itself() -> None:
    assert level_edges("page") == [
        (0, 0, 1, 1, False),
        (0, 1, 1, 0, False),
        (0, 2, 1, 0, False),
        (1, 2, 1, 1, False),
        (2, 1, 1, 1, True),
    ]


def test_host_edges_merge_pairs_and_drop_links_inside_a_host() -> None:
    assert level_edges("host") == [(0, 1, 2, 1, False), (1, 0, 1, 1, True)]
    assert level_edges("domain") == []
