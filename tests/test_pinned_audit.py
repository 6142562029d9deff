"""The audit gives the same answers after its SQL moved into storage/ and its domain
logic into graph/.

Every expected value below was recorded from the code before that refactor (main at
ef66706) on the hand-built store of ``tests/pinned_web.py``, rounded to 1e-9: the refactor must
not move a single score, count, reason or row.
"""

from __future__ import annotations

from pathlib import Path

import pinned_web
from pinned_web import PROFILE

import linkgraph
from linkgraph.audit import anchor_profile

# The hand-built store, written and ranked once for this module.
store = pinned_web.store
ranked = pinned_web.ranked

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
