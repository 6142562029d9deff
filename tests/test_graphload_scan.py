"""What the one scan of the links that ``rank`` reads gives beside the link pairs: the
redirects, and the hubs that ``storage.inlinks`` would choose by a query of its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from linkgraph.storage import graphload, inlinks, schema
from linkgraph.storage.graphload import load_graph
from linkgraph.storage.queries import reader
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

T1 = 1_700_000_000
T2 = T1 + 86_400
HUB = "http://www.t.test/"
NEAR = "http://www.u.test/"  # as many links as HUB, but one of them internal
FADED = "http://www.v.test/"  # as many links as HUB, but one of them lost


async def crawl(db: Path, pages: list[Page]) -> None:
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            page.final_url = page.final_url or page.url
            writer.add_page(page)


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await crawl(
        db,
        [
            # Three external rows into HUB, two of them one pair (two anchors), one nofollow.
            Page("http://www.a.test/", 0, T1, status=200, links=[
                Link(HUB, "one"), Link(HUB, "two"), Link(NEAR, "n"), Link(FADED, "f"),
            ]),
            Page("http://www.b.test/", 0, T1, status=200, links=[
                Link(HUB, "b", rel=("nofollow",)), Link(NEAR, "n"), Link(FADED, "f"),
            ]),
            Page("http://www.u.test/about", 0, T1, status=200, links=[Link(NEAR, "home")]),
            Page("http://www.c.test/", 0, T1, status=200, links=[Link(FADED, "f")]),
            Page("http://www.r.test/old", 0, T1, status=301, final_url=HUB,
                 links=[Link(HUB, kind="redirect")]),
        ],
    )  # fmt: skip
    # c.test drops its link: FADED keeps two current rows.
    await crawl(db, [Page("http://www.c.test/", 0, T2, status=200, links=[])])
    return db


def test_load_counts_the_hubs_the_hub_query_chooses(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphload, "HUB_LINKS", 3)
    hubs: list[int] = []
    with reader(store) as conn:
        load_graph(conn, hubs=hubs)
        url = dict(conn.execute("SELECT id, url FROM urls"))
    # HUB: three external current rows (the redirect hop is not a link); NEAR: two
    # external and one internal; FADED: two current and one lost.
    assert [url[h] for h in hubs] == [HUB]
    conn = schema.connect(store)
    try:
        assert inlinks.refresh(conn, min_links=3) == 1  # the query's own count agrees
        assert [url[t] for (t,) in conn.execute("SELECT target_id FROM hub_targets")] == [HUB]
    finally:
        conn.close()


def test_refresh_with_counted_hubs_makes_them_hubs_without_counting(store: Path) -> None:
    conn = schema.connect(store)
    try:
        (hub,) = conn.execute("SELECT id FROM urls WHERE url = ?", (HUB,)).fetchone()
        # One counted link is below the default threshold: the ids given are the hubs.
        assert inlinks.refresh(conn, wanted=[hub]) == 1
        assert conn.execute("SELECT target_id FROM hub_targets").fetchall() == [(hub,)]
        rows = conn.execute("SELECT sum(backlinks) FROM hub_inlinks WHERE target_id = ?", (hub,))
        assert rows.fetchone()[0] == 2  # a.test/ and b.test/, from the links
    finally:
        conn.close()


def test_load_reads_redirects_from_the_links_scan(store: Path) -> None:
    with reader(store) as conn:
        g = load_graph(conn)
        url = dict(conn.execute("SELECT id - 1, url FROM urls"))
    redirects = {(url[s], url[t]) for s, t in zip(g.redirect_src, g.redirect_dst, strict=True)}
    assert redirects == {("http://www.r.test/old", HUB)}
    pairs = {(url[s], url[t]) for s, t in zip(g.src.tolist(), g.dst.tolist(), strict=True)}
    assert ("http://www.r.test/old", HUB) not in pairs


def test_load_takes_the_latest_of_two_current_redirects_of_a_page(store: Path) -> None:
    # A store written before recrawls marked redirect hops lost can hold two.
    with sqlite3.connect(store) as conn:
        ids = dict(conn.execute("SELECT url, id FROM urls"))
        target, source, anchor, flags = conn.execute(
            "SELECT target_id, source_id, anchor_id, flags FROM links WHERE kind = 1"
        ).fetchone()
        conn.execute(
            "INSERT INTO links(target_id, source_id, anchor_id, flags, first_seen)"
            " VALUES (?, ?, ?, ?, ?)",
            (ids[NEAR], source, anchor, flags, T2),
        )
    assert target == ids[HUB]
    with reader(store) as conn:
        g = load_graph(conn)
    assert (g.redirect_src.tolist(), g.redirect_dst.tolist()) == ([source - 1], [ids[NEAR] - 1])


def test_score_rows_are_numbered_from_one_over_a_table_that_held_more(store: Path) -> None:
    # The rows go in without their key: SQLite numbers them 1..n after the delete, even
    # where the table held higher ids before.
    conn = schema.connect(store)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO domain_scores(domain_id, pagerank, authority) VALUES (50, 0.5, 1.0)"
        )
        columns = {
            "pagerank": np.array([0.25, 0.5, 0.25]),
            "authority": np.array([10.0, 100.0, 10.0]),
            "backlinks": np.array([1, 2, 3]),
            "referring_domains": np.array([1, 1, 2]),
        }
        graphload.write_scores(conn, "domain", **columns)
        rows = conn.execute(
            "SELECT domain_id, pagerank, backlinks FROM domain_scores ORDER BY domain_id"
        ).fetchall()
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert rows == [(1, 0.25, 1), (2, 0.5, 2), (3, 0.25, 3)]
