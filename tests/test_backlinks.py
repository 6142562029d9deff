"""Backlink queries on a small hand-built store whose answers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from crawl_support import answered
from linkgraph.storage import queries
from linkgraph.storage.audit import backlink_details
from linkgraph.storage.backlinks import TargetError, backlinks, resolve_target
from linkgraph.storage.interface import LinkFilter
from linkgraph.storage.records import Link
from linkgraph.storage.writer import StoreWriter

import linkgraph

# source page -> [(target, anchor, rel, placement)]
LINKS = {
    "http://www.b.test/1": [
        ("http://www.t.test/", "T home", (), "content"),
        ("http://www.t.test/", "click here", ("nofollow",), "footer"),
    ],
    "http://www.b.test/2": [("http://www.t.test/pricing", "T pricing", ("ugc",), "content")],
    "http://blog.a.test/x": [("http://shop.t.test/item", "item", (), "sidebar")],
    "http://www.c.test/": [("http://www.t.test/", "T home", (), "content")],
    "http://www.t.test/about": [("http://www.t.test/", "home", (), "nav")],
    "http://shop.t.test/": [("http://www.t.test/pricing", "Pricing", (), "nav")],
    "http://www.a.test/": [("http://www.b.test/1", "B one", (), "content")],
}


async def build(db: Path) -> None:
    async with await StoreWriter.open(db) as writer:
        for source, links in LINKS.items():
            writer.add_page(answered(source, [Link(*link) for link in links]))


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await build(db)
    return db


def pairs(records: list[dict]) -> set[tuple[str, str]]:
    return {(r["source"], r["target"]) for r in records}


async def test_backlinks_of_a_domain_leave_internal_links_out(store: Path) -> None:
    records = linkgraph.backlinks(store, "t.test")
    assert len(records) == 5  # link rows: b1 has two links to the same URL
    assert pairs(records) == {
        ("http://www.b.test/1", "http://www.t.test/"),
        ("http://www.b.test/2", "http://www.t.test/pricing"),
        ("http://blog.a.test/x", "http://shop.t.test/item"),
        ("http://www.c.test/", "http://www.t.test/"),
    }
    assert all("source_authority" in r for r in records)
    internal = linkgraph.backlinks(store, "t.test", include_internal=True)
    assert len(pairs(internal)) == 6


async def test_target_modes(store: Path) -> None:
    host = linkgraph.backlinks(store, "www.t.test", mode="host")
    assert {r["target"] for r in host} == {"http://www.t.test/", "http://www.t.test/pricing"}
    exact = linkgraph.backlinks(store, "http://www.t.test/")
    assert pairs(exact) == {
        ("http://www.b.test/1", "http://www.t.test/"),
        ("http://www.c.test/", "http://www.t.test/"),
    }
    prefix = linkgraph.backlinks(store, "http://www.t.test/pri", mode="prefix")
    assert pairs(prefix) == {("http://www.b.test/2", "http://www.t.test/pricing")}
    sub = linkgraph.backlinks(store, "shop.t.test")  # a subdomain in domain mode: only it
    assert pairs(sub) == {("http://blog.a.test/x", "http://shop.t.test/item")}


async def test_filters_follow_and_placement(store: Path) -> None:
    follow = linkgraph.backlinks(store, "t.test", follow_only=True)
    assert {(r["source"], r["anchor"]) for r in follow} == {
        ("http://www.b.test/1", "T home"),
        ("http://blog.a.test/x", "item"),
        ("http://www.c.test/", "T home"),
    }
    footer = linkgraph.backlinks(store, "t.test", placement="footer")
    assert [(r["anchor"], r["follow"], r["rel"]) for r in footer] == [
        ("click here", False, ["nofollow"])
    ]


async def test_store_queries_read_one_link_filter(store: Path) -> None:
    """The backlink query and the audit's rows take the LinkFilter the façade builds."""
    where = LinkFilter(follow_only=True, placement="content")
    with queries.reader(store) as conn:
        target = resolve_target(conn, "t.test")
        links = backlinks(conn, target, where)
        details = backlink_details(conn, target, where)
    # Followable content links from other domains: b1 and c link "T home"; b2's is ugc.
    expected = {("http://www.b.test/1", "T home"), ("http://www.c.test/", "T home")}
    assert {(r["source"], r["anchor"]) for r in links} == expected
    assert {(d.source, d.anchor) for d in details} == expected


async def test_referring_domains_count_pairs_not_links(store: Path) -> None:
    records = {r["domain"]: r for r in linkgraph.referring_domains(store, "t.test")}
    assert set(records) == {"a.test", "b.test", "c.test"}
    # b.test: pairs b1->/ (one follow link among two) and b2->/pricing (ugc only).
    assert (records["b.test"]["backlinks"], records["b.test"]["follow_backlinks"]) == (2, 1)
    assert (records["a.test"]["backlinks"], records["a.test"]["follow_backlinks"]) == (1, 1)
    assert records["c.test"]["first_seen"].endswith("Z")
    with_internal = {
        r["domain"] for r in linkgraph.referring_domains(store, "t.test", include_internal=True)
    }
    assert "t.test" in with_internal


async def test_anchors(store: Path) -> None:
    records = {r["anchor"]: r for r in linkgraph.anchors(store, "t.test")}
    assert (records["T home"]["backlinks"], records["T home"]["referring_domains"]) == (2, 2)
    assert records["click here"]["follow_backlinks"] == 0
    assert set(records) == {"T home", "click here", "T pricing", "item"}


async def test_intersect_is_the_link_gap(store: Path) -> None:
    gap = linkgraph.intersect(store, ["t.test", "b.test"], min=2)
    assert [(r["domain"], sorted(r["competitors"])) for r in gap] == [
        ("a.test", ["b.test", "t.test"])
    ]
    assert (
        linkgraph.intersect(store, ["t.test", "b.test"], min=2, exclude="c.test")[0]["domain"]
        == "a.test"
    )
    # a.test links to t.test, so excluding t.test (as "me") leaves nothing for min=1 over b.test.
    assert linkgraph.intersect(store, ["b.test"], min=1, exclude="t.test") == []


async def test_rank_then_top_and_sorted_backlinks(store: Path) -> None:
    linkgraph.rank(store)
    top = linkgraph.top(store, level="domain", limit=10)
    assert top[0]["domain"] == "t.test"  # three domains link to it
    assert top[0]["referring_domains"] == 3
    assert top[0]["authority"] == 100.0
    records = linkgraph.backlinks(store, "t.test")
    authorities = [r["source_authority"] for r in records]
    assert authorities == sorted(authorities, reverse=True)


async def test_top_without_a_limit_lists_every_domain(store: Path) -> None:
    linkgraph.rank(store)
    every = linkgraph.top(store, level="domain", limit=None)
    assert [r["domain"] for r in every] == [
        r["domain"] for r in linkgraph.top(store, level="domain", limit=10_000)
    ]
    assert len(every) == 4  # t.test and the three domains linking to it


async def test_to_networkx_levels(store: Path) -> None:
    linkgraph.rank(store)
    g = linkgraph.to_networkx(store, level="domain")
    assert set(g.edges) == {
        ("b.test", "t.test"),
        ("a.test", "t.test"),
        ("c.test", "t.test"),
        ("a.test", "b.test"),
    }
    assert g.edges["b.test", "t.test"]["links"] == 2  # backlink pairs: b1->/ and b2->/pricing
    assert g.edges["b.test", "t.test"]["follow_links"] == 1
    assert g.nodes["t.test"]["authority"] == 100.0
    pages = linkgraph.to_networkx(store, level="page")
    assert pages.edges["http://www.b.test/1", "http://www.t.test/"]["kind"] == "link"
    assert isinstance(pages, nx.DiGraph)


@pytest.mark.parametrize("bad", ["", "not a url://x", "ftp://x.test/", "a b"])
async def test_bad_targets_are_clear_errors(store: Path, bad: str) -> None:
    with pytest.raises(TargetError):
        linkgraph.backlinks(store, bad)


async def test_top_before_rank_says_what_to_do(store: Path) -> None:
    with pytest.raises(Exception, match="linkgraph rank"):
        linkgraph.top(store)
