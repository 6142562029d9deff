"""A link's kind, placement and rel, kept in the bits of links.flags (migration 0008):
written by the writer, read back column by column, and carried over from a store of
schema v7."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from linkgraph.storage import queries, schema
from linkgraph.storage.migrations import MIGRATIONS
from linkgraph.storage.records import KINDS, LOST_REASONS, PLACEMENTS, Link, Page
from linkgraph.storage.writer import StoreWriter

T1, T2 = 1_700_000_000, 1_700_086_400
SOURCE = "http://www.a.test/"
# Every rel bit at once, so that no kind or placement bit can hide among them.
ALL_RELS = ("nofollow", "sponsored", "ugc")
# A link's columns as the store answers them: flags without the kind and placement bits.
COLUMNS = (
    "SELECT s.url, t.url, l.kind, a.text, l.placement, r.tokens, l.flags & 31, l.first_seen,"
    " l.last_seen, l.lost_at, l.lost_reason FROM links l JOIN urls s ON s.id = l.source_id"
    " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
    " JOIN rels r ON r.id = l.rel_id"
)


def every_link() -> list[Link]:
    """A link of every kind and placement, each plain (some with a rel that sets no
    flag) and with every flag (rel bits, image; internal: a target on the source's own
    domain)."""
    links = []
    for n, (kind, placement, full) in enumerate(
        itertools.product(KINDS, PLACEMENTS, (False, True))
    ):
        host = "www.a.test" if full else "www.b.test"
        links.append(
            Link(
                f"http://{host}/{n}",
                f"anchor {n}",
                ALL_RELS if full else ("noopener",) * (n % 4 == 0),
                placement,
                image=full,
                kind=kind,
            )
        )
    return links


def stored(db: Path) -> set[tuple]:
    conn = sqlite3.connect(db)
    try:
        return set(conn.execute(COLUMNS))
    finally:
        conn.close()


async def test_a_links_kind_placement_and_flags_come_back_as_written(tmp_path: Path) -> None:
    db = tmp_path / "links.db"
    links = every_link()
    async with await StoreWriter.open(db) as writer:
        writer.add_page(Page(SOURCE, 0, T1, status=200, links=links))
    want = {
        (
            SOURCE,
            link.target,
            KINDS.index(link.kind),
            link.anchor,
            PLACEMENTS.index(link.placement),
            " ".join(link.rel),
            31 if link.image else 0,  # 1 nofollow + 2 sponsored + 4 ugc + 8 image + 16 internal
            T1,
            None,
            None,
            None,
        )
        for link in links
    }
    assert stored(db) == want
    with queries.reader(db) as conn:
        records = list(queries.iter_links(conn))
    assert sorted(
        (r["target"], r["kind"], r["placement"], r["image"], r["follow"]) for r in records
    ) == sorted(
        (
            link.target,
            link.kind,
            link.placement,
            link.image,
            link.kind != "link" or not link.image,
        )
        for link in links
    )


async def test_a_refetch_loses_exactly_the_links_gone_whatever_their_kind_and_placement(
    tmp_path: Path,
) -> None:
    db = tmp_path / "links.db"
    links = every_link()
    kept = [link for link in links if link.placement != "footer"]
    async with await StoreWriter.open(db) as writer:
        writer.add_page(Page(SOURCE, 0, T1, status=200, links=links))
    async with await StoreWriter.open(db) as writer:
        writer.add_page(Page(SOURCE, 0, T2, status=200, links=kept))
    rows = {row[1]: row for row in stored(db)}
    assert len(rows) == len(links)
    for link in links:
        *_, last_seen, lost_at, reason = rows[link.target]
        if link in kept:
            assert (last_seen, lost_at, reason) == (T2, None, None)
        else:
            assert (last_seen, lost_at, reason) == (None, T2, LOST_REASONS.index("removed"))


async def test_loose_links_and_imported_edges_keep_their_kind_placement_and_flags(
    tmp_path: Path,
) -> None:
    db = tmp_path / "links.db"
    links = every_link()
    async with await StoreWriter.open(db) as writer:
        writer.add_links(SOURCE, links, T1)
        writer.add_edges([("http://www.c.test/", "http://www.c.test/x", "e", ("ugc",))], T2)
    rows = stored(db)
    assert len(rows) == len(links) + 1
    assert (
        "http://www.c.test/",
        "http://www.c.test/x",
        0,
        "e",
        0,
        "ugc",
        4 | 16,
        T2,
        None,
        None,
        None,
    ) in rows
    assert {(r[1], r[2], r[4], r[5], r[6]) for r in rows if r[0] == SOURCE} == {
        (
            link.target,
            KINDS.index(link.kind),
            PLACEMENTS.index(link.placement),
            " ".join(link.rel),
            31 if link.image else 0,
        )
        for link in links
    }


def test_kind_placement_and_rel_take_no_bytes_of_their_own(tmp_path: Path) -> None:
    # Generated from flags (hidden 2: a VIRTUAL generated column, stored nowhere), and
    # out of the primary key, which links_source repeats.
    conn = schema.connect(tmp_path / "s.db", create=True)
    try:
        columns = {name: (hidden, pk) for _, name, _, _, _, pk, hidden in conn.execute(
            "PRAGMA table_xinfo(links)")}  # fmt: skip
        key = [name for name, (_, pk) in sorted(columns.items(), key=lambda c: c[1][1]) if pk]
    finally:
        conn.close()
    assert columns["kind"] == columns["placement"] == columns["rel_id"] == (2, 0)
    assert key == ["target_id", "source_id", "anchor_id", "flags"]


def v7_store(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty store as schema v7 (the release before 0008) made it."""
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", MIGRATIONS[:7])
        patch.setattr(schema, "SCHEMA_VERSION", 7)
        schema.connect(db, create=True).close()


def test_upgrading_a_v7_store_keeps_every_link_of_every_kind_and_placement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "v7.db"
    v7_store(db, monkeypatch)
    conn = sqlite3.connect(db, isolation_level=None)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 7
    conn.execute("INSERT INTO domains(id, name) VALUES (1, 'a.test')")
    conn.execute("INSERT INTO hosts(id, name, domain_id) VALUES (1, 'www.a.test', 1)")
    conn.executemany(
        "INSERT INTO urls(id, hash, host_id, url) VALUES (?, ?, 1, ?)",
        [(i, i, f"http://www.a.test/{i}") for i in range(1, 4)],
    )
    conn.execute("INSERT INTO anchors(id, text) VALUES (1, 'a')")
    conn.executemany("INSERT INTO rels(id, tokens) VALUES (?, ?)", [(1, "nofollow"), (2, "me")])
    # (target, source, kind, anchor, placement, rel, flags, first, last, lost at, reason):
    # every kind and placement, with each flag bit; seen again, lost, or neither. The
    # even ones share target, source, anchor, rel and flags: kind and placement alone
    # tell them apart.
    rows = [
        (
            2 + n % 2,
            1,
            kind,
            n % 2,
            placement,
            n % 2 * 2,
            (1 << (n % 5)) | 1 if n % 2 else 0,
            T1 + n,
            T2 if n % 3 == 1 else None,
            T2 + n if n % 3 == 2 else None,
            n % len(LOST_REASONS) if n % 3 == 2 else None,
        )
        for n, (kind, placement) in enumerate(
            itertools.product(range(len(KINDS)), range(len(PLACEMENTS)))
        )
    ]
    conn.executemany(f"INSERT INTO links VALUES ({', '.join('?' * 11)})", rows)
    conn.close()

    schema.connect(db).close()  # brings it up to the current schema

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        got = conn.execute(
            "SELECT target_id, source_id, kind, anchor_id, placement, rel_id, flags & 31,"
            " first_seen, last_seen, lost_at, lost_reason FROM links"
        ).fetchall()
        indexes = {
            n
            for (n,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'links' AND type = 'index'"
            )
        }
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert sorted(got) == sorted(rows)
    assert {"links_source", "links_lost"} <= indexes
    with queries.reader(db) as conn:
        records = list(queries.iter_links(conn, include_lost=True))
    assert sorted((r["kind"], r["placement"]) for r in records) == sorted(
        (KINDS[kind], PLACEMENTS[placement]) for _, _, kind, _, placement, *_ in rows
    )
