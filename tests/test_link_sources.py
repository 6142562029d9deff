"""Every page with links has its row in ``link_sources`` (storage.linksources): its
domain, and its PageRank as ``page_scores`` has it; ``anchors`` and ``backlinks``, which
read it, answer as the links and scores themselves say.

The answers are checked against a plain reading of the store written here (links, urls,
hosts, anchors, page_scores: no ``link_sources``), for every filter and target mode,
after each kind of write: a first crawl, a recrawl that loses links, a 304, a link that
comes back, loose links, an import, ``rank``, and writes after ``rank``.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hub_support import T1, T2, T3, T, crawl
from linkgraph.storage import schema
from linkgraph.storage.queries import iso
from linkgraph.storage.records import LOST_REASONS, PLACEMENTS, Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph


def source_rows(db: Path) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """Per link source, (domain, PageRank) as ``link_sources`` has them, and as urls,
    hosts and page_scores say."""
    conn = sqlite3.connect(db)
    try:
        stored = {u: (d, p) for u, d, p in conn.execute("SELECT * FROM link_sources")}
        truth = {
            s: (d, p)
            for s, d, p in conn.execute(
                "SELECT DISTINCT l.source_id, h.domain_id, ps.pagerank FROM links l"
                " JOIN urls s ON s.id = l.source_id JOIN hosts h ON h.id = s.host_id"
                " LEFT JOIN page_scores ps ON ps.url_id = l.source_id"
            )
        }
    finally:
        conn.close()
    return stored, truth


def plain_backlinks(db: Path, target: str, sort: str) -> list[tuple]:
    """(source, anchor, placement, source authority, first seen) of the current external
    links into the URL ``target``, in the order ``backlinks`` must give (links with equal
    sort keys in any order), from links and page_scores."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.url, a.text, l.placement, ps.authority, l.first_seen, ps.pagerank"
            " FROM links l JOIN urls s ON s.id = l.source_id JOIN urls t ON t.id = l.target_id"
            " JOIN anchors a ON a.id = l.anchor_id"
            " LEFT JOIN page_scores ps ON ps.url_id = l.source_id"
            " WHERE t.url = ? AND l.kind = 0 AND l.lost_at IS NULL AND (l.flags & 16) = 0",
            (target,),
        ).fetchall()
    finally:
        conn.close()
    if sort == "authority":
        rows.sort(key=lambda r: (r[5] is None, -(r[5] or 0), -r[4]))
    else:
        rows.sort(key=lambda r: (-r[4], -(r[5] or 0)))
    return [(s, a, PLACEMENTS[p], authority, iso(seen)) for s, a, p, authority, seen, _ in rows]


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


def assert_answers_as_the_links_say(db: Path) -> None:
    stored, truth = source_rows(db)
    assert stored == truth
    for (target, mode), where in itertools.product(TARGETS, FILTERS):
        got = linkgraph.anchors(db, target, mode=mode, limit=None, **where)
        assert got == plain_anchors(db, target, mode, **where), (target, mode, where)
    for sort in ("authority", "first_seen"):
        got = [
            (r["source"], r["anchor"], r["placement"], r["source_authority"], r["first_seen"])
            for r in linkgraph.backlinks(db, T, sort=sort, limit=None)
        ]
        plain = plain_backlinks(db, T, sort)
        assert sorted(got, key=str) == sorted(plain, key=str)
        assert [r[3:] for r in got] == [r[3:] for r in plain]  # the order of the sort keys


def first_crawl() -> list[Page]:
    return [
        Page("http://www.b.test/1", 0, T1, status=200,
             links=[Link(T, "a"), Link(T, "a", placement="nav"), Link(T, "b", ("nofollow",)),
                    Link("http://www.t.test/b", "a"), Link("http://www.g.test/", "g")]),
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
    stored, truth = source_rows(store)
    assert len(stored) == 5 and stored == truth
    top = linkgraph.anchors(store, T)[0]
    assert (top["anchor"], top["backlinks"], top["follow_backlinks"]) == ("a", 4, 3)
    assert top["referring_domains"] == 2  # b.test (three pages, two hosts) and c.test
    assert_answers_as_the_links_say(store)


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
    assert_answers_as_the_links_say(store)
    await crawl(
        store,
        [Page("http://blog.b.test/x", 0, T3, status=200, links=[Link(T, "a")])],  # back
    )
    assert_answers_as_the_links_say(store)


async def test_loose_links_add_their_pages(store: Path) -> None:
    async with await StoreWriter.open(store) as writer:
        writer.add_links("http://www.e.test/p", [Link(T, "a"), Link(T, "e")], T2)
        writer.add_links("http://www.b.test/1", [Link(T, "e")], T2)  # a page with links
    stored, _ = source_rows(store)
    assert len(stored) == 6
    assert_answers_as_the_links_say(store)


def test_an_import_adds_its_pages(store: Path, tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        f"source,target,anchor\nhttp://www.f.test/a,{T},a\nhttp://m.f.test/b,{T},a\n"
        f"http://www.b.test/9,http://www.t.test/b,b\nhttp://www.b.test/1,{T},f\n"
    )
    linkgraph.import_links(store, edges)
    stored, _ = source_rows(store)
    assert len(stored) == 8
    assert_answers_as_the_links_say(store)
    assert linkgraph.anchors(store, T)[0]["referring_domains"] == 3  # b.test, c.test, f.test


async def test_the_migration_adds_every_page_that_has_links(store: Path) -> None:
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute("DROP TABLE link_sources")
    conn.execute("DELETE FROM migrations WHERE version >= 6")
    conn.execute("PRAGMA user_version = 5")  # as the previous release left it
    conn.close()
    schema.connect(store).close()
    stored, truth = source_rows(store)
    assert len(stored) == 5 and stored == truth
    assert_answers_as_the_links_say(store)


async def test_rank_copies_pagerank_and_later_pages_take_theirs(store: Path) -> None:
    linkgraph.rank(store)
    stored, _ = source_rows(store)
    assert all(pagerank is not None for _, pagerank in stored.values())
    assert_answers_as_the_links_say(store)
    await crawl(
        store,
        [  # a URL ranked as a target, now a page with links; and a URL new to the store
            Page("http://www.g.test/", 0, T2, status=200, links=[Link(T, "a")]),
            Page("http://www.h.test/", 0, T2, status=200, links=[Link(T, "h")]),
        ],
    )
    stored, _ = source_rows(store)
    assert [p for _, p in stored.values()].count(None) == 1  # www.h.test: no score yet
    assert_answers_as_the_links_say(store)
    linkgraph.rank(store)
    assert_answers_as_the_links_say(store)
