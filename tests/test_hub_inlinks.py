"""The linking hosts of hub URLs, counted ahead (storage.inlinks), stay exact.

Hand-built crawls of one target, T, made a hub with a threshold of one link; the rows are
worked out by hand, and ``referring_domains`` read through them must equal what it reads
from the links themselves (the hub rows set aside), after each write: a first crawl, a
recrawl that loses links (including the one holding a group's oldest time), a 304, a
link that comes back, an import.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hub_support import T1, T2, T3, T, crawl, make_hubs
from linkgraph.storage import inlinks, schema
from linkgraph.storage.backlinks import referring_domains, resolve_target
from linkgraph.storage.interface import LinkFilter
from linkgraph.storage.queries import reader
from linkgraph.storage.records import Link, Page

import linkgraph


def hub_rows(db: Path) -> set[tuple]:
    """(target URL, host, backlinks, follow backlinks, first seen, last seen or None)."""
    with reader(db) as conn:
        return set(
            conn.execute(
                "SELECT u.url, h.name, r.backlinks, r.follow_backlinks, r.first_seen, r.last_seen"
                " FROM hub_inlinks r JOIN urls u ON u.id = r.target_id JOIN hosts h ON h.id = r.host_id"
            )
        )


def both_ways(db: Path, target: str = T, limit: int | None = None) -> tuple[list[dict], list[dict]]:
    """``referring_domains`` of ``target`` through the hub rows, and from the links alone."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        t = resolve_target(conn, target)
        assert inlinks.hubs_among(conn, t.url_ids_sql, t.params)
        through_hubs = referring_domains(conn, t, LinkFilter(), limit=limit)
        conn.execute("BEGIN")
        conn.execute("DELETE FROM hub_targets")  # the same question, from the links
        from_links = referring_domains(conn, t, LinkFilter(), limit=limit)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return through_hubs, from_links


def first_crawl() -> list[Page]:
    return [
        Page("http://www.b.test/1", 0, T1, status=200,
             links=[Link(T, "a"), Link(T, "b", ("nofollow",))]),
        Page("http://www.b.test/2", 0, T1, status=200, links=[Link(T, "c", ("nofollow",))]),
        Page("http://blog.b.test/x", 0, T1 + 100, status=200, links=[Link(T, "d")]),
        Page("http://www.c.test/", 0, T1 + 200, status=200, links=[Link(T, "e")]),
        Page("http://www.t.test/about", 0, T1, status=200, links=[Link(T, "home")]),
    ]  # fmt: skip


@pytest.fixture
async def hub(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await crawl(db, first_crawl())
    assert make_hubs(db) >= 1
    return db


async def test_hub_rows_count_distinct_pages_per_linking_host(hub: Path) -> None:
    # www.b.test: two pages (one with a followable link); the internal link is left out.
    assert {r for r in hub_rows(hub) if r[0] == T} == {
        (T, "www.b.test", 2, 1, T1, None),
        (T, "blog.b.test", 1, 1, T1 + 100, None),
        (T, "www.c.test", 1, 1, T1 + 200, None),
    }
    through_hubs, from_links = both_ways(hub)
    assert through_hubs == from_links
    assert [(r["domain"], r["backlinks"], r["follow_backlinks"]) for r in through_hubs] == [
        ("b.test", 3, 2),
        ("c.test", 1, 1),
    ]


async def test_a_recrawl_that_loses_links_updates_the_rows(hub: Path) -> None:
    await crawl(
        hub,
        [
            # drops its followable link, keeps the nofollow one (seen again: last_seen T2)
            Page("http://www.b.test/1", 0, T2, status=200, links=[Link(T, "b", ("nofollow",))]),
            Page("http://blog.b.test/x", 0, T2, status=200, links=[]),  # link removed
            Page("http://www.c.test/", 0, T2, status=404),  # every link lost
        ],
    )
    assert {r for r in hub_rows(hub) if r[0] == T} == {(T, "www.b.test", 2, 0, T1, T2)}
    through_hubs, from_links = both_ways(hub)
    assert through_hubs == from_links
    assert [(r["domain"], r["backlinks"], r["follow_backlinks"]) for r in through_hubs] == [
        ("b.test", 2, 0)
    ]


async def test_losing_the_oldest_link_of_a_host_recounts_it(hub: Path) -> None:
    await crawl(hub, [Page("http://www.b.test/3", 0, T2, status=200, links=[Link(T, "f")])])
    assert (T, "www.b.test", 3, 2, T1, T2) in hub_rows(hub)
    # Both pages first seen at T1 drop the link: the host's oldest link is now b/3's.
    await crawl(
        hub,
        [
            Page("http://www.b.test/1", 0, T3, status=200, links=[]),
            Page("http://www.b.test/2", 0, T3, status=410),
        ],
    )
    assert (T, "www.b.test", 1, 1, T2, None) in hub_rows(hub)
    assert both_ways(hub)[0] == both_ways(hub)[1]


async def test_a_304_and_a_link_that_comes_back_move_last_seen(hub: Path) -> None:
    await crawl(hub, [Page("http://blog.b.test/x", 0, T2, status=200, links=[])])
    assert not any(r[1] == "blog.b.test" for r in hub_rows(hub))
    await crawl(
        hub,
        [
            Page("http://blog.b.test/x", 0, T3, status=200, links=[Link(T, "d")]),  # back
            Page("http://www.c.test/", 0, T3, status=304, not_modified=True),
        ],
    )
    rows = hub_rows(hub)
    assert (T, "blog.b.test", 1, 1, T1 + 100, T3) in rows
    assert (T, "www.c.test", 1, 1, T1 + 200, T3) in rows
    assert both_ways(hub)[0] == both_ways(hub)[1]


def test_an_import_into_a_hub_updates_its_rows(hub: Path, tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(f"http://www.d.test/a,{T}\nhttp://www.d.test/b,{T}\nhttp://www.b.test/9,{T}\n")
    linkgraph.import_links(hub, edges)
    rows = {r[:4] for r in hub_rows(hub) if r[0] == T}
    assert (T, "www.d.test", 2, 2) in rows
    assert (T, "www.b.test", 3, 2) in rows
    assert both_ways(hub)[0] == both_ways(hub)[1]


async def test_random_recrawls_keep_the_rows_equal_to_the_links(tmp_path: Path) -> None:
    rng = random.Random(7)
    db = tmp_path / "links.db"
    targets = [T, "http://www.t.test/b"]
    sources = [
        f"http://{h}.s{d}.test/{p}" for d in range(6) for h in ("www", "m") for p in range(4)
    ]

    def page(url: str, at: int) -> Page:
        status = rng.choice([200] * 8 + [404, 301])
        links = [
            Link(rng.choice(targets), rng.choice("xyz"), rng.choice([(), ("nofollow",)]))
            for _ in range(rng.randrange(4))
        ]
        return Page(url, 0, at, status=status, links=links if status == 200 else [],
                    final_url=T if status == 301 else url)  # fmt: skip

    await crawl(db, [page(url, T1) for url in sources])
    make_hubs(db)
    for step in range(1, 6):
        await crawl(db, [page(url, T1 + step * 1000) for url in rng.sample(sources, 12)])
        for target in targets:
            for limit in (None, 1, 3):  # a cut inside ties is ordered by name
                through_hubs, from_links = both_ways(db, target, limit)
                assert through_hubs == from_links, (step, limit)
    # ... and a recount from scratch finds the same rows.
    kept = hub_rows(db)
    conn = schema.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    inlinks.rebuild(conn, min_links=1)
    conn.execute("COMMIT")
    conn.close()
    assert hub_rows(db) == kept


async def test_targets_below_the_threshold_are_no_hubs_and_answer_from_links(
    hub: Path,
) -> None:
    assert make_hubs(hub, min_links=5) == 1  # T has 5 counted links; nothing else has 5
    with reader(hub) as conn:
        assert [u for (u,) in conn.execute(
            "SELECT u.url FROM hub_targets h JOIN urls u ON u.id = h.target_id")] == [T]  # fmt: skip
    assert make_hubs(hub, min_links=6) == 0
    assert hub_rows(hub) == set()
    assert linkgraph.referring_domains(hub, T)[0]["backlinks"] == 3  # from the links
    assert make_hubs(hub, min_links=5) == 1  # a hub again, its rows counted again
    assert (T, "www.b.test", 2, 1, T1, None) in hub_rows(hub)


async def test_the_migration_makes_urls_with_10000_links_hubs(tmp_path: Path) -> None:
    db = tmp_path / "links.db"
    hosts = [f"http://www.s{d}.test" for d in range(50)]
    pages = [
        Page(f"{hosts[i % 50]}/{i}", 0, T1, status=200,
             links=[Link(T, str(k)) for k in range(40)] + [Link(T + "u", "u")] * (i % 2))
        for i in range(250)
    ]  # fmt: skip
    await crawl(db, pages)  # T: 10,000 links from 250 pages; T + "u": 125
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE hub_inlinks")
    conn.execute("DROP TABLE hub_targets")
    conn.execute("DELETE FROM migrations WHERE version >= 5")
    conn.execute("PRAGMA user_version = 4")  # as the previous release left it
    conn.close()
    with reader(db) as conn:  # a writable store of the previous schema is migrated first
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        hubs = [u for (u,) in conn.execute(
            "SELECT u.url FROM hub_targets h JOIN urls u ON u.id = h.target_id")]  # fmt: skip
    assert hubs == [T]
    assert len(hub_rows(db)) == 50
    through_hubs, from_links = both_ways(db)
    assert through_hubs == from_links
    assert len(through_hubs) == 50 and {r["backlinks"] for r in through_hubs} == {5}


async def test_a_cut_among_equal_domains_keeps_the_first_names(tmp_path: Path) -> None:
    db = tmp_path / "links.db"
    # Stored in the order z, y, x: the names, not the ids, decide who makes the cut.
    await crawl(
        db, [Page(f"http://www.{n}.test/", 0, T1, status=200, links=[Link(T)]) for n in "zyx"]
    )
    make_hubs(db)
    through_hubs, from_links = both_ways(db, limit=2)
    assert [r["domain"] for r in through_hubs] == ["x.test", "y.test"]
    assert through_hubs == from_links


async def test_a_host_is_read_through_hub_rows_only_when_all_its_urls_are_hubs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "links.db"
    home = "http://www.h.test/"
    await crawl(
        db, [Page(f"http://www.{n}.test/", 0, T1, status=200, links=[Link(home)]) for n in "ab"]
    )
    make_hubs(db)
    with reader(db) as conn:
        t = resolve_target(conn, "www.h.test", "host")
        assert inlinks.hubs_among(conn, t.url_ids_sql, t.params)
    assert [r["domain"] for r in linkgraph.referring_domains(db, "www.h.test", mode="host")] == [
        "a.test",
        "b.test",
    ]
    # A second URL on the host, not a hub: the host is answered from its links.
    await crawl(db, [Page("http://www.c.test/", 0, T2, status=200, links=[Link(home + "new")])])
    with reader(db) as conn:
        t = resolve_target(conn, "www.h.test", "host")
        assert not inlinks.hubs_among(conn, t.url_ids_sql, t.params)
    assert [r["domain"] for r in linkgraph.referring_domains(db, "www.h.test", mode="host")] == [
        "a.test",
        "b.test",
        "c.test",
    ]


def test_limit_zero_gives_no_domains_on_both_paths(hub: Path) -> None:
    # --limit is "at most N records": 0 is none, through the hub rows and from the links.
    assert both_ways(hub, limit=0) == ([], [])


async def test_a_page_written_twice_in_one_batch_keeps_the_rows_exact(hub: Path) -> None:
    # A page stored before without links gains one to the hub and loses it again in the
    # same batch (the store writer's API allows a page twice): the row must not stay.
    page = "http://www.d.test/p"
    await crawl(hub, [Page(page, 0, T1, status=200, links=[])])
    before = hub_rows(hub)
    await crawl(
        hub,
        [
            Page(page, 0, T2, status=200, links=[Link(T, "x")]),
            Page(page, 0, T2 + 10, status=200, links=[]),
        ],
    )
    assert hub_rows(hub) == before
    through_hubs, from_links = both_ways(hub)
    assert through_hubs == from_links
