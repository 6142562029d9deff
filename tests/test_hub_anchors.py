"""The anchor texts of hub URLs, counted ahead (storage.hubanchors), stay exact.

Hand-built crawls of one target, T, made a hub with a threshold of one link; the rows are
worked out by hand, and ``anchors`` read through them must equal what it reads from the
links themselves (the hubs set aside), after each write: a first crawl, a recrawl that
loses links, a 304, a link that comes back, loose links, an import, random recrawls.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hub_support import T1, T2, T3, T, crawl, make_hubs
from linkgraph.storage import inlinks, schema
from linkgraph.storage.anchortexts import anchors
from linkgraph.storage.backlinks import resolve_target
from linkgraph.storage.interface import LinkFilter
from linkgraph.storage.pg.copy import copy_store
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph


def anchor_rows(db: Path, target: str = T) -> set[tuple]:
    """(anchor text, image, linking domain, backlinks, follow backlinks) of ``target``."""
    conn = sqlite3.connect(db)
    try:
        return set(
            conn.execute(
                "SELECT a.text, r.anchor & 1, d.name, r.backlinks, r.follow_backlinks"
                " FROM hub_anchors r JOIN urls u ON u.id = r.target_id"
                " JOIN anchors a ON a.id = r.anchor >> 1 JOIN domains d ON d.id = r.domain_id"
                " WHERE u.url = ?",
                (target,),
            )
        )
    finally:
        conn.close()


def both_ways(
    db: Path, target: str = T, mode: str | None = None, limit: int | None = None
) -> tuple[list[dict], list[dict]]:
    """``anchors`` of ``target`` through the hub rows, and from the links alone."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        t = resolve_target(conn, target, mode)
        assert inlinks.hubs_among(conn, t.url_ids_sql, t.params)
        through_hubs = anchors(conn, t, LinkFilter(), limit=limit)
        conn.execute("BEGIN")
        conn.execute("DELETE FROM hub_targets")  # the same question, from the links
        from_links = anchors(conn, t, LinkFilter(), limit=limit)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return through_hubs, from_links


def assert_same_both_ways(db: Path) -> None:
    for target in (T, "http://www.t.test/b"):
        through_hubs, from_links = both_ways(db, target)
        assert through_hubs == from_links, target


def first_crawl() -> list[Page]:
    return [
        Page("http://www.b.test/1", 0, T1, status=200,
             links=[Link(T, "a"), Link(T, "a", ("nofollow",), placement="nav"),
                    Link(T, "b", ("nofollow",)), Link("http://www.t.test/b", "a")]),
        Page("http://www.b.test/2", 0, T1, status=200, links=[Link(T, "a", ("nofollow",))]),
        Page("http://blog.b.test/x", 0, T1 + 100, status=200,
             links=[Link(T, "a"), Link(T, "a", image=True)]),
        Page("http://www.c.test/", 0, T1 + 200, status=200,
             links=[Link(T, "a"), Link("http://www.t.test/b", "a")]),
        Page("http://www.t.test/about", 0, T1, status=200, links=[Link(T, "a")]),
    ]  # fmt: skip


@pytest.fixture
async def hub(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await crawl(db, first_crawl())
    assert make_hubs(db) == 2
    return db


async def test_hub_rows_count_pages_per_anchor_and_linking_domain(hub: Path) -> None:
    # b.test: three pages with "a" (two hosts), b/2's link nofollow; the internal one is out.
    assert anchor_rows(hub) == {
        ("a", 0, "b.test", 3, 2),
        ("a", 0, "c.test", 1, 1),
        ("a", 1, "b.test", 1, 1),
        ("b", 0, "b.test", 1, 0),
    }
    through_hubs, from_links = both_ways(hub)
    assert through_hubs == from_links
    assert [
        (r["anchor"], r["image"], r["backlinks"], r["referring_domains"]) for r in through_hubs
    ] == [
        ("a", False, 4, 2),
        ("a", True, 1, 1),
        ("b", False, 1, 1),
    ]
    assert_same_both_ways(hub)


async def test_recrawls_move_the_rows_by_the_pages_that_changed(hub: Path) -> None:
    await crawl(
        hub,
        [
            # keeps only its nofollow "a" link: still one page of b.test, no longer followable
            Page("http://www.b.test/1", 0, T2, status=200,
                 links=[Link(T, "a", ("nofollow",), placement="nav")]),
            Page("http://blog.b.test/x", 0, T2, status=404),  # every link lost
            Page("http://www.c.test/", 0, T2, status=304, not_modified=True),
        ],
    )  # fmt: skip
    assert anchor_rows(hub) == {("a", 0, "b.test", 2, 0), ("a", 0, "c.test", 1, 1)}
    assert_same_both_ways(hub)
    await crawl(
        hub,
        [Page("http://blog.b.test/x", 0, T3, status=200, links=[Link(T, "b")])],  # back, new text
    )
    assert ("b", 0, "b.test", 1, 1) in anchor_rows(hub)
    assert_same_both_ways(hub)


async def test_loose_links_into_a_hub_add_to_its_rows(hub: Path) -> None:
    async with await StoreWriter.open(hub) as writer:
        writer.add_links("http://www.d.test/p", [Link(T, "a"), Link(T, "a", ("nofollow",))], T2)
        writer.add_links("http://www.b.test/2", [Link(T, "a")], T2)  # now followable too
    rows = anchor_rows(hub)
    assert ("a", 0, "d.test", 1, 1) in rows and ("a", 0, "b.test", 3, 3) in rows
    assert_same_both_ways(hub)


def test_an_import_into_a_hub_adds_to_its_rows(hub: Path, tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        f"source,target,anchor\nhttp://www.d.test/a,{T},a\nhttp://m.d.test/b,{T},a\n"
        f"http://www.b.test/9,{T},e\n"
    )
    linkgraph.import_links(hub, edges)
    rows = anchor_rows(hub)
    assert ("a", 0, "d.test", 2, 2) in rows and ("e", 0, "b.test", 1, 1) in rows
    assert_same_both_ways(hub)


async def test_a_page_written_twice_in_one_batch_keeps_the_rows_exact(hub: Path) -> None:
    page = "http://www.d.test/p"
    await crawl(hub, [Page(page, 0, T1, status=200, links=[])])
    before = anchor_rows(hub)
    await crawl(
        hub,
        [
            Page(page, 0, T2, status=200, links=[Link(T, "x")]),
            Page(page, 0, T2 + 10, status=200, links=[]),
        ],
    )
    assert anchor_rows(hub) == before
    assert_same_both_ways(hub)


async def test_random_recrawls_keep_the_rows_equal_to_the_links(tmp_path: Path) -> None:
    rng = random.Random(11)
    db = tmp_path / "links.db"
    targets = [T, "http://www.t.test/b"]
    sources = [
        f"http://{h}.s{d}.test/{p}" for d in range(6) for h in ("www", "m") for p in range(4)
    ]

    def page(url: str, at: int) -> Page:
        status = rng.choice([200] * 8 + [404, 301])
        links = [
            Link(rng.choice(targets), rng.choice("xyz"), rng.choice([(), ("nofollow",)]),
                 image=rng.random() < 0.2)
            for _ in range(rng.randrange(5))
        ]  # fmt: skip
        return Page(url, 0, at, status=status, links=links if status == 200 else [],
                    final_url=T if status == 301 else url)  # fmt: skip

    await crawl(db, [page(url, T1) for url in sources])
    make_hubs(db)
    for step in range(1, 6):
        await crawl(db, [page(url, T1 + step * 1000) for url in rng.sample(sources, 12)])
        for limit in (None, 2):
            assert_same_both_ways(db)
            for target in targets:
                through_hubs, from_links = both_ways(db, target, limit=limit)
                assert through_hubs == from_links, (step, limit)
    # ... and a count from scratch finds the same rows.
    kept = anchor_rows(db) | anchor_rows(db, targets[1])
    conn = schema.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    inlinks.rebuild(conn, min_links=1)
    conn.execute("COMMIT")
    conn.close()
    assert anchor_rows(db) | anchor_rows(db, targets[1]) == kept


async def test_a_url_that_stops_being_a_hub_loses_its_rows(hub: Path) -> None:
    assert make_hubs(hub, min_links=7) == 1  # T has 7 counted links, www.t.test/b 2
    assert anchor_rows(hub, "http://www.t.test/b") == set()
    assert anchor_rows(hub) != set()
    assert make_hubs(hub, min_links=8) == 0
    assert anchor_rows(hub) == set()
    assert linkgraph.anchors(hub, T)[0]["backlinks"] == 4  # from the links


async def test_the_migration_counts_the_rows_of_every_hub(hub: Path) -> None:
    kept = anchor_rows(hub)
    conn = sqlite3.connect(hub, isolation_level=None)
    conn.execute("DROP TABLE hub_anchors")
    conn.execute("DELETE FROM migrations WHERE version >= 7")
    conn.execute("PRAGMA user_version = 6")  # as the previous release left it
    conn.close()
    schema.connect(hub).close()
    assert anchor_rows(hub) == kept
    assert_same_both_ways(hub)


async def test_a_host_of_hubs_counts_a_domain_once_and_each_url_a_page_links(
    tmp_path: Path,
) -> None:
    db = tmp_path / "links.db"
    home, about = "http://www.h.test/", "http://www.h.test/about"
    await crawl(
        db,
        [
            Page(
                "http://www.a.test/1", 0, T1, status=200, links=[Link(home, "h"), Link(about, "h")]
            ),
            Page("http://m.a.test/2", 0, T1, status=200, links=[Link(about, "h", ("nofollow",))]),
            Page("http://www.b.test/", 0, T1, status=200, links=[Link(home, "h")]),
        ],
    )
    assert make_hubs(db) == 2
    through_hubs, from_links = both_ways(db, "www.h.test", "host")
    assert through_hubs == from_links
    assert [(r["anchor"], r["backlinks"], r["follow_backlinks"], r["referring_domains"])
            for r in through_hubs] == [("h", 4, 3, 2)]  # fmt: skip


def test_a_copy_of_the_store_counts_its_anchor_rows_and_link_sources_again(
    hub: Path, tmp_path: Path
) -> None:
    # A copy (from PostgreSQL, or here from SQLite) brings links and hubs, not these.
    copy = tmp_path / "copy.db"
    copy_store(hub, copy)
    for table in ("hub_anchors", "link_sources"):
        conn = sqlite3.connect(hub)
        kept = sorted(conn.execute(f"SELECT * FROM {table}"))
        conn.close()
        conn = sqlite3.connect(copy)
        assert sorted(conn.execute(f"SELECT * FROM {table}")) == kept != []
        conn.close()
    assert both_ways(copy) == both_ways(hub)
