"""Interning an import's URLs: which are looked up, and which ids they get."""

from __future__ import annotations

import hashlib
import pickle
import random
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from linkgraph.storage import intern
from linkgraph.storage.edgerows import EdgeColumns
from linkgraph.storage.identity import url_hash
from linkgraph.storage.intern import located_edges
from linkgraph.storage.records import Link, Page
from linkgraph.storage.urlhashes import UrlHashes
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph import importer

# Every column of a link row, its flags without the kind, placement and rel bits.
LINK_COLUMNS = (
    "target_id, source_id, kind, anchor_id, placement, rel_id, flags & 31, first_seen,"
    " last_seen, lost_at, lost_reason"
)


def test_url_hashes_give_the_id_first_added_with_a_hash_and_0_for_others() -> None:
    rng = random.Random(7)
    hashes = UrlHashes(complete=True)
    first_id: dict[int, int] = {}
    next_id = 1
    # Runs of many sizes, so that runs are merged and some stay apart.
    for size in (5, 1, 300, 2, 2, 40, 1000, 3, 77, 1):
        run = [rng.randrange(-(2**63), 2**63) for _ in range(size)]
        run.append(-(2**63) if size == 3 else 2**63 - 1)  # the int64 extremes too
        run.append(rng.choice(run))  # a hash twice in one batch (two URLs, one hash)
        if first_id:
            run.append(rng.choice(list(first_id)))  # and one added in an earlier batch
        ids = list(range(next_id, next_id + len(run)))
        next_id += len(run)
        hashes.add(run, ids)
        for key, url_id in zip(run, ids, strict=True):
            first_id.setdefault(key, url_id)
    queries = list(first_id) + [rng.randrange(-(2**63), 2**63) for _ in range(500)]
    queries += [-(2**63) + 1, 2**63 - 2, 0]
    rng.shuffle(queries)
    assert hashes.ids(queries).tolist() == [first_id.get(q, 0) for q in queries]
    assert hashes.unseen(queries).tolist() == [q not in first_id for q in queries]
    assert len(hashes) == len(first_id)


def test_url_hashes_not_known_complete_call_nothing_unseen() -> None:
    hashes = UrlHashes(complete=False)
    hashes.add([1, 2], [1, 2])
    assert hashes.unseen([1, 3]).tolist() == [False, False]
    assert hashes.ids([1, 3]).tolist() == [0, 0]


async def test_into_a_store_opened_empty_urls_stored_before_are_read_by_id_only(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    statements: list[str] = []
    async with await StoreWriter.open(db, bulk=True) as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://a.example/1", [Link("https://b.example/1")], 1.0)
        await writer.flush()
        assert [s for s in statements if "JOIN urls" in s] == []
        statements.clear()
        writer.add_links("https://a.example/1", [Link("https://b.example/2")], 2.0)
        await writer.flush()
        # a.example/1 (id 1) is checked under the id the writer kept; nothing by hash.
        reads = [s for s in statements if "JOIN urls" in s]
        assert len(reads) == 1
        assert "json_each('[1]')" in reads[0] and "u.id = j.value" in reads[0]
        assert not [s for s in statements if "u.hash" in s]
    # Opened on a store with URLs, the writer does not know them all: it looks each up.
    statements.clear()
    async with await StoreWriter.open(db) as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://c.example/", [Link("https://b.example/1")], 3.0)
        await writer.flush()
    lookups = [s for s in statements if "JOIN urls" in s]
    assert len(lookups) == 1
    assert "https://c.example/" in lookups[0] and "https://b.example/1" in lookups[0]
    conn = sqlite3.connect(db)
    try:
        urls = conn.execute("SELECT id, url FROM urls ORDER BY id").fetchall()
        links = conn.execute("SELECT source_id, target_id, first_seen FROM links").fetchall()
    finally:
        conn.close()
    assert urls == [
        (1, "https://a.example/1"),
        (2, "https://b.example/1"),
        (3, "https://b.example/2"),
        (4, "https://c.example/"),
    ]
    assert sorted(links) == [(1, 2, 1), (1, 3, 2), (4, 2, 3)]


def test_url_hash_is_blake2b_8_of_the_utf8_bytes_little_endian_signed() -> None:
    # The stored key: any change would orphan every URL of existing stores.
    for url in (
        "https://a.example/",
        "https://b\u00fccher.example/\u00e9",
        "https://a.example/\ud800",
    ):
        data = url.encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(data, digest_size=8).digest()
        assert url_hash(url) == int.from_bytes(digest, "little", signed=True)


async def test_only_sources_stored_before_the_batch_are_probed_for_links(tmp_path: Path) -> None:
    statements: list[str] = []
    async with await StoreWriter.open(tmp_path / "s.db") as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://a.example/1", [Link("https://b.example/1")], 1.0)
        writer.add_links("https://a.example/1", [Link("https://b.example/2")], 1.0)
        await writer.flush()
        assert [s for s in statements if "FROM links" in s] == []
        assert writer.links == 2
        statements.clear()
        # a.example/1 (id 1) has links stored; c.example is new to this batch.
        writer.add_links("https://a.example/1", [Link("https://b.example/1")], 2.0)
        writer.add_links("https://c.example/", [Link("https://b.example/1")], 2.0)
        await writer.flush()
        probes = [s for s in statements if "FROM links WHERE source_id IN" in s]
        assert probes and all("[1]" in s for s in probes)
        assert writer.links == 3  # the link seen again is not counted twice


async def test_edges_and_located_columns_store_what_add_links_stores_for_the_same_links(
    tmp_path: Path,
) -> None:
    rows = [
        ("https://a.example/p", "https://b.example/x", "Hello", ("nofollow",)),
        ("https://a.example/p", "https://www.a.example/", "home", ()),  # internal
        ("https://a.example/p", "https://b.example/x", "Hello", ("nofollow",)),  # again
        ("https://c.example/", "https://b.example/x", "x" * 600, ("ugc", "sponsored")),
        ("https://c.example/", "https://a.example/p", "", ("nofollow",)),
    ]
    dumps = []
    # columns: located by the import's reading process (bulk, as an import opens it);
    # twice in one batch (a failed commit took the next one in): as plain rows again.
    # columns as read: the reading process's lists per field, located in place.
    for name in ("links", "edges", "columns", "columns twice", "columns as read"):
        db = tmp_path / f"{name}.db"
        async with await StoreWriter.open(db, bulk=name.startswith("columns")) as writer:
            if name == "links":
                for source, target, anchor, rel in rows:
                    writer.add_links(source, [Link(target, anchor, rel)], 5.5)
            elif name == "edges":
                writer.add_edges(rows[:2], 5.5)
                writer.add_edges(rows[2:], 5.5)
            elif name == "columns":
                writer.add_columns(located_edges(rows, 5))
            elif name == "columns as read":
                sources, targets, anchors, rels = (list(field) for field in zip(*rows, strict=True))
                read = EdgeColumns(sources=sources, targets=targets, anchors=anchors, rels=rels)
                writer.add_columns(located_edges(read, 5))
            else:
                writer.add_columns(located_edges(rows[:2], 5))
                writer.add_columns(located_edges(rows[2:], 5))
        conn = sqlite3.connect(db)
        try:
            dumps.append(
                [
                    conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                    for table in ("urls", "hosts", "domains", "anchors", "rels")
                ]
                + [conn.execute(f"SELECT {LINK_COLUMNS} FROM links ORDER BY 1, 2").fetchall()]
            )
        finally:
            conn.close()
    assert dumps[0] == dumps[1] == dumps[2] == dumps[3] == dumps[4]
    links = dumps[1][-1]
    # (target, source, kind, anchor, placement, rel, flags, first_seen, last_seen, lost...)
    assert [row[:8] for row in links] == [
        (1, 4, 0, 0, 0, 1, 1, 5),
        (2, 1, 0, 1, 0, 1, 1, 5),
        (2, 4, 0, 3, 0, 2, 6, 5),
        (3, 1, 0, 2, 0, 0, 16, 5),
    ]


def test_import_gives_ids_in_order_of_first_appearance_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "_BATCH", 2)  # four batches: ids continue across them
    edges = tmp_path / "e.csv"
    edges.write_text(
        "source,target,anchor,rel\n"
        "https://s.example/1,https://t.example/1,a,\n"
        "https://s.example/2,https://s.example/1,b,nofollow\n"
        "https://t.example/1,https://u.example/,a,\n"  # both URLs of the batch are new
        "https://s.example/1,https://t.example/1,a,\n"  # seen in the first batch
        "https://u.example/,https://s.example/2,,\n"
        "https://s.example/1,https://t.example/1,a,\n"
        "https://v.example/,https://t.example/1,c,\n"
    )
    result = linkgraph.import_links(tmp_path / "i.db", edges)
    assert (result.links, result.skipped) == (7, 0)
    conn = sqlite3.connect(tmp_path / "i.db")
    try:
        urls = conn.execute("SELECT id, url, host_id FROM urls ORDER BY id").fetchall()
        links = conn.execute(
            "SELECT source_id, target_id, anchor_id, rel_id, flags & 31 FROM links ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()
    assert [(i, u) for i, u, _ in urls] == [
        (1, "https://s.example/1"),
        (2, "https://t.example/1"),
        (3, "https://s.example/2"),
        (4, "https://u.example/"),
        (5, "https://v.example/"),
    ]
    assert urls[0][2] == urls[2][2] != urls[1][2]  # s.example's two URLs share a host
    assert links == [
        (1, 2, 1, 0, 0),
        (2, 4, 1, 0, 0),
        (3, 1, 2, 1, 17),  # nofollow, internal
        (4, 3, 0, 0, 0),
        (5, 2, 3, 0, 0),
    ]


async def test_a_crawl_writer_keeps_no_url_hashes_of_its_own(tmp_path: Path) -> None:
    # The crawl's frontier has its seen set; the writer's copy is for imports only.
    statements: list[str] = []
    async with await StoreWriter.open(tmp_path / "s.db") as writer:
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://a.example/1", [Link("https://b.example/1")], 1.0)
        await writer.flush()
        assert len(writer._url_hashes) == 0
    assert len([s for s in statements if "JOIN urls" in s]) == 1


async def test_urls_are_looked_up_in_order_of_their_hash(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    urls = [f"https://a.example/{i}" for i in range(20)]
    async with await StoreWriter.open(db) as writer:
        writer.add_links("https://seed.example/", [Link(u) for u in urls[:10]], 1.0)
    statements: list[str] = []
    async with await StoreWriter.open(db) as writer:  # not empty: every URL is looked up
        await writer._conn.set_trace_callback(statements.append)
        writer.add_links("https://seed.example/", [Link(u) for u in reversed(urls)], 2.0)
    (lookup,) = [s for s in statements if "JOIN urls" in s]
    keys = [int(k) for k in re.findall(r"\[(-?\d+),", lookup)]
    assert sorted(keys) == sorted(url_hash(u) for u in [*urls, "https://seed.example/"])
    assert keys == sorted(keys)
    conn = sqlite3.connect(db)
    try:
        stored = conn.execute("SELECT id, url FROM urls ORDER BY id").fetchall()
    finally:
        conn.close()
    # The first ten were found; the others got new ids in the order the batch had them.
    assert stored == [(1, "https://seed.example/")] + [
        (i + 2, u) for i, u in enumerate(urls[:10])
    ] + [(12 + i, u) for i, u in enumerate(reversed(urls[10:]))]


async def test_an_edge_twice_in_a_batch_keeps_the_first_time_it_was_seen(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    edge = ("https://a.example/", "https://b.example/", "x", ())
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges([edge, ("https://a.example/", "https://a.example/z", "", ())], 5.0)
        writer.add_edges([edge], 3.0)  # the same batch, seen later with an earlier clock
        await writer.flush()
        assert writer.links == 2
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT t.url, l.flags, l.first_seen, l.last_seen FROM links l"
            " JOIN urls t ON t.id = l.target_id ORDER BY t.url"
        ).fetchall()
    finally:
        conn.close()
    # One row each; the link within a.example is internal (16).
    assert rows == [("https://a.example/z", 16, 5, None), ("https://b.example/", 0, 5, None)]


async def test_an_edge_and_a_page_link_with_one_key_in_a_batch_keep_the_edge_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_edges([("https://a.example/", "https://b.example/", "x", ())], 1.0)
        page = Page("https://a.example/", 0, 2.0, status=200, final_url="https://a.example/")
        page.links = [Link("https://b.example/", "x")]
        writer.add_page(page)
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT first_seen, last_seen FROM links").fetchall()
    finally:
        conn.close()
    assert rows == [(1, None)]  # one row, as the edge (buffered first) wrote it


@pytest.mark.parametrize(
    "anchors",
    [["a", "", "b c"], ["", ""], [], ["line\nbreak", "x"]],  # a break: pickled as a list
)
def test_located_columns_come_out_of_a_pickle_as_they_went_in(anchors: list[str]) -> None:
    rows = [
        (f"https://s{i}.example/", f"https://t.example/{i}", anchor, ("nofollow",))
        for i, anchor in enumerate(anchors)
    ]
    columns = located_edges(rows, 5)
    copy = pickle.loads(pickle.dumps(columns))
    assert copy.anchors == anchors
    for name in ("sources", "targets", "rels", "seen", "source_at", "target_at"):
        assert np.array_equal(getattr(copy, name), getattr(columns, name)), name
    assert columns.located is not None and copy.located is not None
    for name in ("urls", "keys", "hosts", "host_at", "domains", "domain_at"):
        assert np.array_equal(getattr(copy.located, name), getattr(columns.located, name)), name
    assert copy.located.urls == [url for row in rows for url in row[:2]]


@pytest.mark.parametrize(
    ("given", "confirmed"),
    [
        (["https://a.example/1\nhttps://b.example/2", "https://c.example/3"], [1, 2]),
        (["https://a.example/1\nhttps://b.example/2", "https://x.example/"], [1, 0]),
        # Joined by line breaks, the same text as the stored pair: still not the same URLs.
        (["https://a.example/1", "https://b.example/2\nhttps://c.example/3"], [0, 0]),
    ],
)
async def test_confirmed_ids_are_those_whose_stored_url_is_the_one_given(
    tmp_path: Path, given: list[str], confirmed: list[int]
) -> None:
    async with await StoreWriter.open(tmp_path / "s.db", bulk=True) as writer:
        conn = writer._conn
        host = await conn.execute_insert("INSERT INTO hosts(name, domain_id) VALUES ('h', 0)")
        await conn.executemany(
            "INSERT INTO urls(id, hash, host_id, url) VALUES (?, ?, ?, ?)",
            [
                (1, 11, host[0], "https://a.example/1\nhttps://b.example/2"),
                (2, 22, host[0], "https://c.example/3"),
            ],
        )
        found = await intern._confirm(conn, np.array([1, 2], dtype=np.int64), given)
        assert found.tolist() == confirmed
