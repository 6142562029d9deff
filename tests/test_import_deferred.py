"""An import into an empty store leaves ``urls_hash`` and ``links_source`` out until its
end and answers from memory: a kill half way leaves a store that answers and is
repaired; URLs with one hash stay apart; the links it adds are counted exactly; a page
batch builds what its write reads; hub rows made meanwhile stay exact."""

from __future__ import annotations

import select
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from linkgraph.storage import inlinks, intern, schema
from linkgraph.storage.queries import reader
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph

# 24 rows: sources and targets repeat within and across batches of 4.
ROWS = [
    (f"https://s{i % 5}.example/{i % 3}", f"https://t{i % 7}.example/", f"a{i % 2}", "")
    for i in range(24)
]
CSV = "source,target,anchor,rel\n" + "".join(f"{s},{t},{a},{r}\n" for s, t, a, r in ROWS)
DISTINCT = {(s, t, a) for s, t, a, _ in ROWS}

# Imports the file in batches of about 4 links; once two have committed, prints how many
# links are stored and blocks for good.
KILLED = """
import sys, time
from linkgraph import importer
from linkgraph.storage.writer import StoreWriter
importer._BATCH = 4
importer._PROCESS_BYTES = 0  # read in a process of its own, as a large file is
real = StoreWriter._commit_batch
done = []
async def commit(self):
    await real(self)
    done.append(1)
    if len(done) == 2:
        print(self.links, flush=True)
        time.sleep(120)
StoreWriter._commit_batch = commit
importer.import_links(sys.argv[1], sys.argv[2])
"""


def index_sql(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


def stored(db: Path) -> tuple[list[str], list[tuple[str, str, str, int]]]:
    conn = sqlite3.connect(db)
    try:
        urls = [u for (u,) in conn.execute("SELECT url FROM urls ORDER BY url")]
        links = conn.execute(
            "SELECT s.url, t.url, a.text, l.flags FROM links l JOIN urls s ON s.id = l.source_id"
            " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
            " ORDER BY 1, 2, 3"
        ).fetchall()
    finally:
        conn.close()
    return urls, links


def test_a_killed_import_answers_is_repaired_and_imported_again_adds_nothing_twice(
    tmp_path: Path,
) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text(CSV)
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-P", str(script), str(db), str(edges)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the import never committed two batches"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip().isdigit(), proc.stderr.read()  # type: ignore[union-attr]
        committed = int(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    schema.connect(tmp_path / "fresh.db", create=True).close()
    fresh = index_sql(tmp_path / "fresh.db")
    missing = set(fresh) - set(index_sql(db))
    assert missing == {"urls_hash", "urls_host", "links_source"}  # left out, killed before the end

    # Readers answer without them.
    assert 4 < committed < len(DISTINCT)
    assert linkgraph.stats(db)["links"]["link"] == committed
    target = ROWS[0][1]
    conn = sqlite3.connect(db)
    try:
        sources = {
            s
            for (s,) in conn.execute(
                "SELECT s.url FROM links l JOIN urls s ON s.id = l.source_id"
                " JOIN urls t ON t.id = l.target_id WHERE t.url = ?",
                (target,),
            )
        }
    finally:
        conn.close()
    assert sources
    assert {b["source"] for b in linkgraph.backlinks(db, target, limit=None)} == sources

    schema.connect(db).close()  # the next opening for writing builds them
    assert index_sql(db) == fresh

    linkgraph.import_links(db, edges)  # the store has URLs now: the ordinary path
    assert index_sql(db) == fresh
    clean = tmp_path / "clean.db"
    linkgraph.import_links(clean, edges)
    assert stored(db) == stored(clean)
    urls, links = stored(db)
    assert len(urls) == len({u for s, t, _, _ in ROWS for u in (s, t)})
    assert {(s, t, a) for s, t, a, _ in links} == DISTINCT
    assert len(links) == len(DISTINCT)


def test_urls_sharing_a_hash_keep_their_own_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text(CSV)
    linkgraph.import_links(tmp_path / "real.db", edges)
    # Every URL of a host gets one hash: a URL whose hash the writer knows is as often
    # another URL as itself.
    monkeypatch.setattr(intern, "url_hash", lambda url: len(url.split("/")[2]))
    monkeypatch.setattr(linkgraph.importer, "_BATCH", 4)
    linkgraph.import_links(tmp_path / "same.db", edges)
    assert stored(tmp_path / "same.db") == stored(tmp_path / "real.db")
    conn = sqlite3.connect(tmp_path / "same.db")
    try:
        (distinct,) = conn.execute("SELECT count(DISTINCT hash) FROM urls").fetchone()
    finally:
        conn.close()
    assert distinct < len(stored(tmp_path / "same.db")[0])  # they did share hashes


async def test_links_an_import_adds_are_counted_once_without_reading_by_source(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    statements: list[str] = []
    async with await StoreWriter.open(db, bulk=True) as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_edges([("https://a.example/", "https://b.example/", "x", ())], 1.0)
        await writer.flush()
        assert writer.links == 1
        # The link again, a new one between known URLs, and one to a new URL.
        writer.add_edges(
            [
                ("https://a.example/", "https://b.example/", "x", ()),
                ("https://b.example/", "https://a.example/", "", ()),
                ("https://a.example/", "https://c.example/", "x", ()),
            ],
            2.0,
        )
        await writer.flush()
        assert writer.links == 3
    assert not [s for s in statements if "WHERE source_id IN" in s]
    assert linkgraph.stats(db)["links"]["link"] == 3
    # The count sealed at close is the one the next writer starts from.
    async with await StoreWriter.open(db) as writer:
        assert writer.links == 3


async def test_a_page_in_a_bulk_writer_builds_the_indexes_a_write_reads_first(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges([("https://a.example/", "https://b.example/", "x", ())], 1.0)
        await writer.flush()
        assert "links_source" not in index_sql(db)
        page = Page(url="https://a.example/", depth=0, fetched_at=2.0, status=200)
        page.links = [Link("https://c.example/")]
        writer.add_page(page)
        await writer.flush()
        # What a page's write reads; urls_host, which no write reads, waits for the close.
        assert {"urls_hash", "links_source"} <= set(index_sql(db))
        assert "urls_host" not in index_sql(db)
        assert writer.links == 2  # its first fetch: the imported link stays
    assert "urls_host" in index_sql(db)
    assert linkgraph.stats(db)["links"]["link"] == 2


async def test_hubs_made_while_an_import_runs_keep_their_rows_exact(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    target = "https://t.example/"
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges([("https://a.example/1", target, "x", ())], 1.0)
        writer.add_edges([("https://b.example/1", target, "y", ("nofollow",))], 1.0)
        await writer.flush()
        conn = schema.connect(db)  # `linkgraph rank` meanwhile: the target becomes a hub
        try:
            assert inlinks.refresh(conn, min_links=1) >= 1
        finally:
            conn.close()
        # A source stored before (a.example/1) links it again and anew; new sources too.
        writer.add_edges(
            [
                ("https://a.example/1", target, "x", ()),
                ("https://a.example/1", target, "z", ()),
                ("https://a.example/2", target, "", ()),
                ("https://c.example/", target, "", ("nofollow",)),
            ],
            2.0,
        )
    with reader(db) as conn:
        rows = sorted(
            conn.execute(
                "SELECT h.name, r.backlinks, r.follow_backlinks, r.first_seen, r.last_seen"
                " FROM hub_inlinks r JOIN hosts h ON h.id = r.host_id"
            )
        )
    # Per linking host: pages linking, of them followable, first seen, last seen (NULL:
    # not seen again).
    assert rows == [
        ("a.example", 2, 2, 1, 2),
        ("b.example", 1, 0, 1, None),
        ("c.example", 1, 0, 2, None),
    ]
