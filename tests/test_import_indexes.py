"""An import into an empty store builds its deferred indexes (``urls_hash``,
``urls_host``, ``links_source``) once at its end; a killed one leaves a store that
answers, and gets them back at its next opening for writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from linkgraph.storage import schema
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph

EDGES = [
    ("https://a.example/1", "https://b.example/1", "x", ()),
    ("https://a.example/2", "https://www.b.example/", "", ("nofollow",)),
]


def index_sql(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def test_an_import_into_a_new_store_ends_with_the_indexes_of_a_new_store(tmp_path: Path) -> None:
    schema.connect(tmp_path / "fresh.db", create=True).close()
    edges = tmp_path / "e.csv"
    edges.write_text("https://a.example/1,https://b.example/1\n")
    linkgraph.import_links(tmp_path / "i.db", edges)
    assert "urls_host" in index_sql(tmp_path / "fresh.db")
    assert index_sql(tmp_path / "i.db") == index_sql(tmp_path / "fresh.db")


async def test_a_killed_import_leaves_a_store_that_answers_and_is_repaired(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    writer = await StoreWriter.open(db, bulk=True)
    writer.add_edges(EDGES, 1.0)
    await writer.flush()
    assert not set(schema.DEFERRABLE_INDEXES) & set(index_sql(db))  # left out while it loads
    # Killed here: no close, so no index build and no seal; the flock goes with the process.
    await writer._conn.close()
    os.close(writer._lock_fd)

    assert linkgraph.stats(db)["links"]["link"] == 2  # readers answer without it
    schema.connect(db).close()  # the next opening for writing builds them
    for name, sql in schema.DEFERRABLE_INDEXES.items():
        assert index_sql(db)[name] == sql
    conn = sqlite3.connect(db)
    try:
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT id FROM urls WHERE host_id = 1").fetchall()
    finally:
        conn.close()
    assert "urls_host" in str(plan)


async def test_bulk_writing_into_a_store_with_urls_keeps_every_index(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_edges(EDGES[:1], 1.0)
    statements: list[str] = []
    async with await StoreWriter.open(db, bulk=True) as writer:
        assert "urls_host" in index_sql(db)
        await writer._conn.set_trace_callback(statements.append)
        writer.add_edges(EDGES[1:], 2.0)
    assert not [s for s in statements if "INDEX" in s]


async def test_an_index_built_by_another_opening_meanwhile_is_not_built_twice(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges(EDGES, 1.0)
        await writer.flush()
        schema.connect(db).close()  # e.g. `linkgraph rank` while the import runs
    for name, sql in schema.DEFERRABLE_INDEXES.items():
        assert index_sql(db)[name] == sql


async def test_the_index_builds_sort_with_temporary_storage_on_disk(tmp_path: Path) -> None:
    # SQLite's sorter spills sorted runs only with temporary storage on disk; with it in
    # memory, CREATE INDEX sorts every key in one list (twice the CPU at 1.5M URLs).
    db = tmp_path / "s.db"
    statements: list[str] = []
    async with await StoreWriter.open(db, bulk=True) as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_edges(EDGES, 1.0)
        await writer.flush()
        # A page half way builds two of them; the writer goes on with its scratch tables.
        page = Page(url="https://a.example/1", depth=0, fetched_at=2.0, status=200)
        page.links = [Link("https://c.example/", anchor="new text")]
        writer.add_page(page)
        await writer.flush()
        async with writer._conn.execute("PRAGMA temp_store") as cur:
            assert await cur.fetchone() == (2,)  # back to memory for the scratch tables
        async with writer._conn.execute("PRAGMA cache_size") as cur:
            assert await cur.fetchone() == (-8192,)  # and to the writer's page cache
        writer.add_edges([("https://d.example/", "https://a.example/1", "more text", ())], 3.0)
    pragmas = [s for s in statements if s.startswith("PRAGMA temp_store") or "CREATE INDEX" in s]
    builds = [i for i, s in enumerate(pragmas) if "CREATE INDEX" in s]
    assert [pragmas[i] for i in builds] == [
        schema.DEFERRABLE_INDEXES[n] for n in ("urls_hash", "links_source", "urls_host")
    ]
    for i in builds:
        assert [p for p in pragmas[:i] if p.startswith("PRAGMA")][-1] == "PRAGMA temp_store=FILE"
    assert linkgraph.stats(db)["links"]["link"] == 4
    conn = sqlite3.connect(db)
    try:
        anchors = {text for (text,) in conn.execute("SELECT text FROM anchors")}
    finally:
        conn.close()
    assert {"new text", "more text"} <= anchors
