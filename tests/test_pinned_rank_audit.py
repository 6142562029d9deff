"""`rank`, the graph export and the audit give the same answers after their SQL moved into
storage/ and their domain logic into graph/.

Every expected value below was recorded from the code before that refactor (main at
ef66706) on the hand-built store of this file, rounded to 1e-9: the refactor must not move
a single score, count, reason or row.

The web, crawled twice (T1, then T2 a month later):

- www.t.test (the target): /, /about, /gone (404); / links to the farm's first site (so
  it is reciprocal) and, nofollow, to news.a.test.
- news.a.test/article links to the target (brand anchor), /gone (broken) and blog.a.test;
  at T2 also to /about (a new link).
- www.b.test/post links with an exact-match anchor at T1, answers 404 at T2 (lost).
- www.c.test/old redirects to the target; www.m.test and blog.a.test only mention "Acme
  Widgets"; www.s.test's four pages carry a footer link (sitewide).
- three farm domains link to each other and to the target with "blue widgets"; the first
  carries 110 more outbound links (a link page); www.n.test appears at T2.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from linkgraph.storage.graphload import GraphArrays
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph.audit import anchor_profile, load_profile
from linkgraph.graphs import _level_edges, export_graph, to_networkx

T1 = 1_700_000_000  # 2023-11-14T22:13:20Z
T2 = T1 + 30 * 86_400  # 2023-12-14T22:13:20Z
T = "http://www.t.test/"
FARM = [
    "http://cheap-casino-links-1234.xyz/",
    "http://best-seo-backlink-farm.xyz/",
    "http://www.link-swap-club.top/",
]
OTHER_HOSTS = {f"x{j}.other.test" for j in range(110)}
PROFILE = load_profile(brand=["Acme"], keyword=["blue widgets"])


def gen1() -> list[Page]:
    pages = [
        Page(T, 0, T1, status=200, text="Acme makes blue widgets and widget repair kits for industrial gearboxes", links=[
            Link(T + "about", "About", placement="nav"),
            Link(FARM[0], "partner"),
            Link("http://news.a.test/article", "press", rel=("nofollow",)),
        ]),
        Page(T + "about", 1, T1, status=200, text="About Acme widgets company history",
             links=[Link(T, "Home", placement="nav")]),
        Page(T + "gone", 1, T1, status=404),
        Page("http://news.a.test/article", 0, T1, status=200,
             text="Review of Acme blue widgets for gearboxes and repair kits",
             links=[Link(T, "Acme"), Link(T + "gone", "old page"), Link("http://blog.a.test/", "blog")]),
        Page("http://blog.a.test/", 0, T1, status=200,
             text="Cooking recipes and garden tips, Acme Widgets mentioned",
             links=[Link("http://news.a.test/article", "news")]),
        Page("http://www.m.test/", 0, T1, status=200, text="We love Acme Widgets in our workshop"),
        Page("http://www.b.test/post", 0, T1, status=200, text="blue widgets post",
             links=[Link(T, "blue widgets"), Link(T + "about", "click here")]),
        Page("http://www.c.test/old", 0, T1, status=301, final_url=T, links=[Link(T, kind="redirect")]),
    ]  # fmt: skip
    for i in range(4):
        pages.append(
            Page(
                f"http://www.s.test/p{i}",
                0,
                T1,
                status=200,
                text=f"sports scores page {i}",
                links=[
                    Link(T, "Acme widgets", placement="footer"),
                    Link(f"http://www.s.test/p{(i + 1) % 4}", "next"),
                ],
            )
        )
    for k, farm in enumerate(FARM):
        links = [Link(T, "blue widgets", image=k == 2)] + [
            Link(other, "friend") for other in FARM if other != farm
        ]
        if k == 0:
            links += [Link(f"http://x{j}.other.test/", f"site {j}") for j in range(110)]
        pages.append(
            Page(farm, 0, T1, status=200, text="casino poker bonus slots jackpot", links=links)
        )
    return pages


def gen2() -> list[Page]:
    out = []
    for p in gen1():
        if p.url == "http://www.b.test/post":
            out.append(Page(p.url, 0, T2, status=404))
        elif p.url == "http://news.a.test/article":
            p.links.append(Link(T + "about", "Acme team"))
            p.fetched_at = T2
            out.append(p)
        else:
            p.fetched_at = T2
            out.append(p)
    out.append(
        Page(
            "http://www.n.test/",
            0,
            T2,
            status=200,
            text="new fan of blue widgets",
            links=[Link(T, "www.t.test"), Link("http://news.a.test/article", "via")],
        )
    )
    return out


async def write(db: Path, pages: list[Page]) -> None:
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            writer.add_page(page)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("pinned") / "web.db"
    asyncio.run(write(db, gen1()))
    asyncio.run(write(db, gen2()))
    return db


@pytest.fixture(scope="module")
def ranked(store: Path) -> tuple[Path, linkgraph.RankSummary]:
    return store, linkgraph.rank(store, trusted=["a.test", "www.s.test"])


def r9(value: object) -> object:
    return round(value, 9) if isinstance(value, float) else value


def score_rows(db: Path, table: str, key: str, names: str, column: str, cols: list[str]) -> dict:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            f"SELECT n.{column}, {', '.join('s.' + c for c in cols)} FROM {table} s"
            f" JOIN {names} n ON n.id = s.{key}"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: tuple(r9(v) for v in row[1:]) for row in rows}


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
HOSTS = {
    "best-seo-backlink-farm.xyz": (0.010349564, 20.3, 0.001634453, 4.083333333, 2, 2),
    "blog.a.test": (0.017773031, 49.2, 0.192990878, 1.5, 0, 0),
    "cheap-casino-links-1234.xyz": (0.046093086, 100.0, 0.155721669, 5.333333333, 3, 3),
    "news.a.test": (0.025182496, 67.8, 0.250549561, 2.0, 2, 2),
    "www.b.test": (0.00707047, 0.0, 0.0, 0.0, 0, 0),
    "www.c.test": (0.00707047, 0.0, 0.0, 0.0, 0, 0),
    "www.link-swap-club.top": (0.010349564, 20.3, 0.001634453, 4.083333333, 2, 2),
    "www.m.test": (0.00707047, 0.0, 0.0, 0.0, 0, 0),
    "www.n.test": (0.00707047, 0.0, 0.0, 0.0, 0, 0),
    "www.s.test": (0.00707047, 0.0, 0.086507315, 0.0, 0, 0),
    "www.t.test": (0.03900925, 91.1, 0.182112328, 7.5, 11, 6),
}
DOMAINS = {
    "a.test": (0.034112218, 14.2, 0.100891084, 1.0, 2, 2),
    "b.test": (0.023938398, 0.0, 0.0, 0.0, 0, 0),
    "best-seo-backlink-farm.xyz": (0.119223703, 64.4, 0.085004927, 3.833333333, 2, 2),
    "c.test": (0.023938398, 0.0, 0.0, 0.0, 0, 0),
    "cheap-casino-links-1234.xyz": (0.289436496, 100.0, 0.286683282, 5.0, 3, 3),
    "link-swap-club.top": (0.119223703, 64.4, 0.085004927, 3.833333333, 2, 2),
    "m.test": (0.023938398, 0.0, 0.0, 0.0, 0, 0),
    "n.test": (0.023938398, 0.0, 0.0, 0.0, 0, 0),
    "other.test": (0.085443654, 51.0, 0.060920198, 3.833333333, 110, 1),
    "s.test": (0.023938398, 0.0, 0.100891084, 0.0, 0, 0),
    "t.test": (0.232868234, 91.3, 0.280604499, 7.0, 11, 6),
}
# (pagerank, authority, trust, harmonic, backlinks, referring_domains); other.test hosts: OTHER_HOST
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


# -- audit ---------------------------------------------------------------------------------------

# (domain, score, signals, backlinks, authority, link_pages)
TOXIC = [
    (
        "cheap-casino-links-1234.xyz",
        100,
        ["link-farm", "reciprocal", "exact-anchor-unrelated", "link-page", "spammy-name"],
        1,
        100.0,
        ["http://cheap-casino-links-1234.xyz/"],
    ),
    (
        "best-seo-backlink-farm.xyz",
        70,
        ["link-farm", "exact-anchor-unrelated", "spammy-name"],
        1,
        64.4,
        [],
    ),
    ("link-swap-club.top", 40, ["link-farm", "spammy-name"], 1, 64.4, []),
    ("s.test", 30, ["sitewide-footer", "no-inbound-authority"], 4, 0.0, []),
    ("n.test", 15, ["no-inbound-authority"], 1, 0.0, []),
    ("a.test", 10, ["reciprocal"], 3, 14.2, []),
]
TOXIC_REASONS_0 = [
    "in 1 triangle(s) of domains all linking to each other",
    "the target links back to it",
    "1 exact-match anchor(s) from unrelated pages",
    "linking pages carry 113 outbound links (median)",
    'name: many digits, many hyphens, abused TLD .xyz, spam word "casino", spam word "cheap"',
]
# (source, target, quality, relevance, sitewide)
QUALITY = [
    ("http://cheap-casino-links-1234.xyz/", "http://www.t.test/", 66.8, 0.0, False),
    ("http://news.a.test/article", "http://www.t.test/", 66.5, 0.691, False),
    ("http://best-seo-backlink-farm.xyz/", "http://www.t.test/", 64.3, 0.0, False),
    ("http://www.link-swap-club.top/", "http://www.t.test/", 64.3, 0.0, False),
    ("http://news.a.test/article", "http://www.t.test/gone", 61.8, None, False),
    ("http://news.a.test/article", "http://www.t.test/about", 54.1, 0.192, False),
    ("http://www.n.test/", "http://www.t.test/", 49.6, 0.183, False),
    ("http://www.s.test/p0", "http://www.t.test/", 34.5, 0.0, True),
    ("http://www.s.test/p1", "http://www.t.test/", 34.5, 0.0, True),
    ("http://www.s.test/p2", "http://www.t.test/", 34.5, 0.0, True),
    ("http://www.s.test/p3", "http://www.t.test/", 34.5, 0.0, True),
]
ANCHOR_CLASSES = [
    ("branded", 6, 0.5455),
    ("exact", 2, 0.1818),
    ("naked_url", 1, 0.0909),
    ("image", 1, 0.0909),
    ("other", 1, 0.0909),
]
# (source, target, change, reason, date)
CHANGES = [
    (
        "http://best-seo-backlink-farm.xyz/",
        "http://www.t.test/",
        "new",
        None,
        "2023-11-14T22:13:20Z",
    ),
    (
        "http://cheap-casino-links-1234.xyz/",
        "http://www.t.test/",
        "new",
        None,
        "2023-11-14T22:13:20Z",
    ),
    ("http://news.a.test/article", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    ("http://news.a.test/article", "http://www.t.test/about", "new", None, "2023-12-14T22:13:20Z"),
    ("http://news.a.test/article", "http://www.t.test/gone", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.b.test/post", "http://www.t.test/", "lost", "page-404", "2023-12-14T22:13:20Z"),
    ("http://www.b.test/post", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    (
        "http://www.b.test/post",
        "http://www.t.test/about",
        "lost",
        "page-404",
        "2023-12-14T22:13:20Z",
    ),
    ("http://www.b.test/post", "http://www.t.test/about", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.link-swap-club.top/", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.n.test/", "http://www.t.test/", "new", None, "2023-12-14T22:13:20Z"),
    ("http://www.s.test/p0", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.s.test/p1", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.s.test/p2", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
    ("http://www.s.test/p3", "http://www.t.test/", "new", None, "2023-11-14T22:13:20Z"),
]
REFERRING_CHANGES = [
    {"change": "new", "date": "2023-12-14T22:13:20Z", "domain": "n.test"},
    {"change": "lost", "date": "2023-12-14T22:13:20Z", "domain": "b.test"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "s.test"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "link-swap-club.top"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "cheap-casino-links-1234.xyz"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "best-seo-backlink-farm.xyz"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "b.test"},
    {"change": "new", "date": "2023-11-14T22:13:20Z", "domain": "a.test"},
]
VELOCITY = [
    {"period": "2023-11-14", "new": 11, "lost": 0},
    {"period": "2023-12-14", "new": 2, "lost": 2},
]
BROKEN = [("http://news.a.test/article", "http://www.t.test/gone", 404, "2023-12-14T22:13:20Z")]
MENTIONS = [
    ("http://www.t.test/about", False),
    ("http://www.m.test/", False),
    ("http://blog.a.test/", False),
]
UNLINKED = [
    ("http://www.m.test/", "We love [Acme Widgets] in our workshop"),
    ("http://blog.a.test/", "Cooking recipes and garden tips, [Acme Widgets] mentioned"),
]


def test_toxic_scores_and_reasons_are_unchanged(
    ranked: tuple[Path, linkgraph.RankSummary],
) -> None:
    db, _ = ranked
    records = linkgraph.toxic(db, "www.t.test", profile=PROFILE)
    got = [
        (r["domain"], r["score"], r["signals"], r["backlinks"], r["authority"], r["link_pages"])
        for r in records
    ]
    assert got == TOXIC
    assert records[0]["reasons"] == TOXIC_REASONS_0
    assert [
        r["domain"] for r in linkgraph.toxic(db, "www.t.test", profile=PROFILE, min_score=40)
    ] == [t[0] for t in TOXIC[:3]]


def test_disavow_lists_the_same_domains(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    text = linkgraph.disavow(db, "www.t.test", profile=PROFILE, min_score=40)
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "domain:cheap-casino-links-1234.xyz",
        "domain:best-seo-backlink-farm.xyz",
        "domain:link-swap-club.top",
    ]
    # No domain reaches 101; the farm's link page scored at least half of it: a URL line.
    text = linkgraph.disavow(db, "www.t.test", profile=PROFILE, min_score=101)
    assert [line for line in text.splitlines() if not line.startswith("#")] == [
        "http://cheap-casino-links-1234.xyz/"
    ]
    text = linkgraph.disavow(db, "www.t.test", profile=PROFILE, min_score=201)
    assert [line for line in text.splitlines() if not line.startswith("#")] == []


def test_backlink_quality_is_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    records = linkgraph.backlink_quality(db, "www.t.test", profile=PROFILE, limit=None)
    got = [(r["source"], r["target"], r["quality"], r["relevance"], r["sitewide"]) for r in records]
    assert got == QUALITY


def test_anchor_classes_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    result = anchor_profile(db, "www.t.test", profile=PROFILE)
    assert [(c["class"], c["backlinks"], c["share"]) for c in result["classes"]] == ANCHOR_CLASSES


def test_changes_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    result = linkgraph.changes(db, "www.t.test")
    links = sorted(
        (r["source"], r["target"], r["change"], r["reason"], r["date"]) for r in result["links"]
    )
    assert links == CHANGES
    assert result["referring_domains"] == REFERRING_CHANGES
    assert result["velocity"] == VELOCITY


def test_broken_links_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    for target in (None, "www.t.test"):
        got = [
            (r["source"], r["target"], r["status"], r["checked"])
            for r in linkgraph.broken(db, target)
        ]
        assert got == BROKEN


def test_mentions_are_unchanged(ranked: tuple[Path, linkgraph.RankSummary]) -> None:
    db, _ = ranked
    assert [
        (r["url"], r["links_to_target"]) for r in linkgraph.mentions(db, "Acme Widgets")
    ] == MENTIONS
    unlinked = linkgraph.mentions(db, "Acme Widgets", exclude_linking="www.t.test")
    assert [(r["url"], r["snippet"]) for r in unlinked] == UNLINKED


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
