"""Every page with links has its domain in ``source_domains`` (storage.sources), and
``anchors``, which reads it, answers as the links themselves say.

The answer is checked against a plain reading of the store written here (links, urls,
hosts, anchors: no ``source_domains``), for every filter and target mode, after each kind
of write: a first crawl, a recrawl that loses links, a 304, a link that comes back, loose
links, an import.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from linkgraph.storage import schema
from linkgraph.storage.queries import iso
from linkgraph.storage.records import LOST_REASONS, PLACEMENTS, Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph

T = "http://www.t.test/"
T1 = 1_700_000_000
T2 = T1 + 86_400
T3 = T2 + 86_400


async def crawl(db: Path, pages: list[Page]) -> None:
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            page.final_url = page.final_url or page.url
            writer.add_page(page)


def domain_rows(db: Path) -> tuple[dict[int, int], dict[int, int]]:
    """(page -> domain as ``source_domains`` has it, as urls and hosts say) for link sources."""
    conn = sqlite3.connect(db)
    try:
        stored = dict(conn.execute("SELECT url_id, domain_id FROM source_domains"))
        truth = dict(
            conn.execute(
                "SELECT DISTINCT l.source_id, h.domain_id FROM links l"
                " JOIN urls s ON s.id = l.source_id JOIN hosts h ON h.id = s.host_id"
            )
        )
    finally:
        conn.close()
    return stored, truth


def plain_anchors(db: Path, target: str, mode: str, **where: Any) -> list[dict[str, Any]]:
    """What ``anchors`` must answer, worked out in Python from the rows of the store."""
    conn = sqlite3.connect(db)
    try:
        url_of = dict(conn.execute("SELECT id, url FROM urls"))
        host_of = dict(
            conn.execute("SELECT u.id, h.name FROM urls u JOIN hosts h ON h.id = u.host_id")
        )
        domain_of = dict(
            conn.execute(
                "SELECT u.id, d.name FROM urls u JOIN hosts h ON h.id = u.host_id"
                " JOIN domains d ON d.id = h.domain_id"
            )
        )
        text_of = dict(conn.execute("SELECT id, text FROM anchors"))
        links = conn.execute(
            "SELECT target_id, source_id, kind, anchor_id, placement, flags, lost_at, lost_reason"
            " FROM links"
        ).fetchall()
    finally:
        conn.close()

    def into(t: int) -> bool:
        if mode == "exact":
            return url_of[t] == target
        if mode == "host":
            return host_of[t] == target
        return domain_of[t] == target

    groups: dict[tuple[str, bool], list[tuple]] = {}
    for t, s, kind, anchor, placement, flags, lost_at, reason in links:
        if kind != 0 or not into(t):
            continue
        if lost_at is not None and not where.get("include_lost"):
            continue
        if flags & 16 and not where.get("include_internal"):
            continue
        if flags & 7 and where.get("follow_only"):
            continue
        if where.get("placement") and PLACEMENTS[placement] != where["placement"]:
            continue
        groups.setdefault((text_of[anchor], bool(flags & 8)), []).append(
            (t, s, not flags & 7, lost_at, reason)
        )
    records = []
    for (text, image), rows in groups.items():
        record = {
            "anchor": text,
            "backlinks": len({(t, s) for t, s, *_ in rows}),
            "follow_backlinks": len({(t, s) for t, s, follow, *_ in rows if follow}),
            "referring_domains": len({domain_of[s] for _, s, *_ in rows}),
            "image": image,
        }
        if where.get("include_lost"):
            all_lost = all(lost_at is not None for *_, lost_at, _ in rows)
            last = max(rows, key=lambda r: r[3] or 0)
            record["lost_at"] = iso(last[3]) if all_lost else None
            record["lost_reason"] = LOST_REASONS[last[4]] if all_lost else None
        records.append(record)
    records.sort(key=lambda r: (-r["referring_domains"], -r["backlinks"], r["anchor"]))
    return records


FILTERS = [
    dict(zip(("follow_only", "include_internal", "include_lost"), flags, strict=True))
    for flags in itertools.product((False, True), repeat=3)
] + [{"placement": "nav"}, {"placement": "content", "include_lost": True}]
TARGETS = [
    (T, "exact"),
    ("http://www.t.test/b", "exact"),
    ("www.t.test", "host"),
    ("t.test", "domain"),
]


def assert_anchors_as_the_links_say(db: Path) -> None:
    stored, truth = domain_rows(db)
    assert stored == truth
    for (target, mode), where in itertools.product(TARGETS, FILTERS):
        got = linkgraph.anchors(db, target, mode=mode, limit=None, **where)
        assert got == plain_anchors(db, target, mode, **where), (target, mode, where)


def first_crawl() -> list[Page]:
    return [
        Page("http://www.b.test/1", 0, T1, status=200,
             links=[Link(T, "a"), Link(T, "a", placement="nav"), Link(T, "b", ("nofollow",)),
                    Link("http://www.t.test/b", "a")]),
        Page("http://www.b.test/2", 0, T1, status=200, links=[Link(T, "a", ("nofollow",))]),
        Page("http://blog.b.test/x", 0, T1 + 100, status=200,
             links=[Link(T, "a"), Link(T, "", image=True)]),
        Page("http://www.c.test/", 0, T1 + 200, status=200,
             links=[Link(T, "a", placement="nav"), Link("http://www.t.test/b", "b")]),
        Page("http://www.t.test/about", 0, T1, status=200, links=[Link(T, "a")]),
    ]  # fmt: skip


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await crawl(db, first_crawl())
    return db


async def test_a_first_crawl_gives_every_linking_page_its_domain(store: Path) -> None:
    stored, truth = domain_rows(store)
    assert len(stored) == 5 and stored == truth
    top = linkgraph.anchors(store, T)[0]
    assert (top["anchor"], top["backlinks"], top["follow_backlinks"]) == ("a", 4, 3)
    assert top["referring_domains"] == 2  # b.test (three pages, two hosts) and c.test
    assert_anchors_as_the_links_say(store)


async def test_recrawls_that_lose_and_bring_back_links_keep_anchors_exact(store: Path) -> None:
    await crawl(
        store,
        [
            Page("http://www.b.test/1", 0, T2, status=200, links=[Link(T, "b", ("nofollow",))]),
            Page("http://blog.b.test/x", 0, T2, status=404),
            Page("http://www.c.test/", 0, T2, status=304, not_modified=True),
            Page("http://www.d.test/new", 0, T2, status=200, links=[Link(T, "a")]),
        ],
    )
    assert_anchors_as_the_links_say(store)
    await crawl(
        store,
        [Page("http://blog.b.test/x", 0, T3, status=200, links=[Link(T, "a")])],  # back
    )
    assert_anchors_as_the_links_say(store)


async def test_loose_links_add_their_pages(store: Path) -> None:
    async with await StoreWriter.open(store) as writer:
        writer.add_links("http://www.e.test/p", [Link(T, "a"), Link(T, "e")], T2)
        writer.add_links("http://www.b.test/1", [Link(T, "e")], T2)  # a page with links
    stored, _ = domain_rows(store)
    assert len(stored) == 6
    assert_anchors_as_the_links_say(store)


def test_an_import_adds_its_pages(store: Path, tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        f"source,target,anchor\nhttp://www.f.test/a,{T},a\nhttp://m.f.test/b,{T},a\n"
        f"http://www.b.test/9,http://www.t.test/b,b\nhttp://www.b.test/1,{T},f\n"
    )
    linkgraph.import_links(store, edges)
    stored, _ = domain_rows(store)
    assert len(stored) == 8
    assert_anchors_as_the_links_say(store)
    assert linkgraph.anchors(store, T)[0]["referring_domains"] == 3  # b.test, c.test, f.test


async def test_the_migration_adds_every_page_that_has_links(store: Path) -> None:
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("DROP TABLE source_domains")
    conn.execute("DELETE FROM migrations WHERE version >= 6")
    conn.execute("PRAGMA user_version = 5")  # as the previous release left it
    conn.close()
    schema.connect(store).close()
    stored, truth = domain_rows(store)
    assert len(stored) == 5 and stored == truth
    assert_anchors_as_the_links_say(store)
