"""``backlinks`` of a hub URL probes the strongest pages first (storage.backlinks): the
records are the ones reading every link gives, however the cut falls.

A store where T has links from most pages (a hub, with a threshold of one link), so
that probing pages in PageRank order is the cheaper plan; each page has its own fetch
time, so that no two links tie on (PageRank, first seen) and the order is one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from linkgraph.storage import inlinks, schema
from linkgraph.storage.backlinks import backlinks, resolve_target
from linkgraph.storage.interface import LinkFilter
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph

T = "http://www.t.test/"
T1 = 1_700_000_000


async def crawl(db: Path, pages: list[Page]) -> None:
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            page.final_url = page.final_url or page.url
            writer.add_page(page)


def site(i: int) -> str:
    return f"http://www.s{i}.test/"


def pages(n: int, at: int) -> list[Page]:
    # Page i links to T and to the next two pages: their PageRanks differ.
    return [
        Page(site(i), 0, at + i, status=200,
             links=[Link(T, f"a{i % 3}"), Link(site((i + 1) % n)), Link(site((i * 7) % n))])
        for i in range(n)
    ]  # fmt: skip


def read(db: Path, limit: int | None, **where: object) -> tuple[list[tuple], bool]:
    """(source, anchor, authority, first seen) of ``backlinks`` of T, and whether it
    probed the pages in PageRank order."""
    statements: list[str] = []
    conn = sqlite3.connect(db)
    conn.set_trace_callback(statements.append)
    try:
        records = backlinks(conn, resolve_target(conn, T), LinkFilter(**where), limit=limit)  # type: ignore[arg-type]
    finally:
        conn.close()
    walked = any("FROM page_scores ps CROSS JOIN links l" in s for s in statements)
    rows = [(r["source"], r["anchor"], r["source_authority"], r["first_seen"]) for r in records]
    return rows, walked


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await crawl(db, pages(40, T1))
    linkgraph.rank(db)
    conn = schema.connect(db)
    try:
        assert inlinks.refresh(conn, min_links=1) >= 1
    finally:
        conn.close()
    return db


async def test_probing_the_strongest_pages_gives_the_records_reading_every_link_does(
    store: Path,
) -> None:
    every, walked = read(store, None)
    assert len(every) == 40 and not walked
    assert len({(r[2], r[3]) for r in every}) == 40  # no ties: one order
    for limit in (1, 5, 8, 20, 39):
        got, walked = read(store, limit)
        assert walked  # 40 linking pages of 41 scored URLs: the probes are cheaper
        assert got == every[:limit], limit
    got, walked = read(store, 40)
    assert got == every and not walked  # 40 * 40 probes at most: reading the links is
    got, _ = read(store, 5, follow_only=True, placement="content")
    assert got == every[:5]


async def test_links_from_pages_without_a_score_still_come_last(store: Path) -> None:
    # Pages crawled after rank have no score: the probes never meet them, so a cut
    # past the scored links must read every link.
    await crawl(store, [Page(f"http://www.n{i}.test/", 0, T1 + 100 + i, status=200,
                             links=[Link(T, "new")]) for i in range(3)])  # fmt: skip
    every, _ = read(store, None)
    assert [r[0] for r in every[-3:]] == [f"http://www.n{i}.test/" for i in (2, 1, 0)]
    for limit in (5, 39, 41, 43):
        got, walked = read(store, limit)
        assert got == every[:limit], limit
        assert walked  # for 41 and 43 too, and found too few links: then read them all
