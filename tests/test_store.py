"""The link store: safe opening, migrations, the batched writer, resume state, export."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import pytest
from crawl_support import answered
from linkgraph.storage import queries, schema
from linkgraph.storage.errors import CorruptStore, NewerSchema, NotAStore, StoreError, StoreNotFound
from linkgraph.storage.records import Link, Page, QueueItem, link_flags
from linkgraph.storage.vocab import NOT_FOLLOW_FLAGS
from linkgraph.storage.writer import StoreWriter


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sql(db: Path, *statements: str) -> str:
    """Run STATEMENTS on DB as another program would (plain sqlite3): the file's digest after."""
    conn = sqlite3.connect(db)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return digest(db)


def test_new_store_has_identity_and_named_migrations(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    schema.connect(db, create=True).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY version")]
    assert names == [name for name, _ in schema.MIGRATIONS]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_missing_store_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound):
        schema.connect(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    before = write_sql(db, "CREATE TABLE things (x)", "INSERT INTO things VALUES (1)")
    with pytest.raises(NotAStore, match="another program"):
        schema.connect(db, create=True)
    with pytest.raises(NotAStore):
        schema.connect(db, readonly=True)
    assert digest(db) == before
    assert not (tmp_path / "other.db-wal").exists()


def test_other_application_id_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    before = write_sql(db, "PRAGMA application_id = 1234", "CREATE TABLE t (x)")
    with pytest.raises(NotAStore):
        schema.connect(db, create=True)
    assert digest(db) == before


def test_text_file_is_refused_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.db"
    db.write_text("this is not a database\n" * 20)
    before = digest(db)
    with pytest.raises(NotAStore, match="not a SQLite database"):
        schema.connect(db, create=True)
    assert digest(db) == before


def test_newer_schema_is_refused_and_untouched(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    schema.connect(db, create=True).close()
    before = write_sql(db, f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    with pytest.raises(NewerSchema, match="newer"):
        schema.connect(db)
    assert digest(db) == before


def test_corrupt_store_gives_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    schema.connect(db, create=True).close()
    data = bytearray(db.read_bytes())
    # Keep the 100-byte header (our identity), wreck the pages behind it.
    for i in range(100, len(data)):
        data[i] = 0xA5
    db.write_bytes(bytes(data))
    before = digest(db)
    with pytest.raises(StoreError):
        schema.connect(db)
    with pytest.raises(StoreError):
        with queries.reader(db) as conn:
            queries.stats(conn)
    assert digest(db) == before
    assert issubclass(CorruptStore, StoreError)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotAStore):
        schema.connect(tmp_path, create=True)


def test_empty_file_becomes_a_store(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    schema.connect(db, create=True).close()
    assert schema.inspect_file(db) == schema.SCHEMA_VERSION


async def test_writer_roundtrip_and_export_fields(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_queued([QueueItem("http://a.test/", 0)])
        writer.add_page(
            answered(
                "http://a.test/",
                [
                    Link("http://b.test/x", "B x", ("nofollow",), "footer"),
                    Link("http://b.test/x", "B x", ("nofollow",), "footer"),  # same link twice
                    Link("http://a.test/p", "", (), "content", True),
                    Link("http://c.test/", "café", ("sponsored", "noopener"), "sidebar"),
                ],
            ),
            [QueueItem("http://a.test/p", 1)],
        )
    with queries.reader(db) as conn:
        records = {r["target"]: r for r in queries.iter_links(conn)}
        counts = queries.stats(conn)
    assert set(records) == {"http://b.test/x", "http://a.test/p", "http://c.test/"}
    b = records["http://b.test/x"]
    assert set(b) == set(queries.EXPORT_FIELDS)
    assert (b["source"], b["anchor"], b["rel"], b["follow"], b["placement"], b["kind"]) == (
        "http://a.test/",
        "B x",
        ["nofollow"],
        False,
        "footer",
        "link",
    )
    assert b["first_seen"].endswith("Z") and "T" in b["first_seen"]
    assert records["http://a.test/p"]["image"] is True
    assert records["http://c.test/"]["follow"] is False
    assert records["http://c.test/"]["rel"] == ["sponsored", "noopener"]
    assert records["http://c.test/"]["anchor"] == "café"
    assert counts["links"]["total"] == 3
    assert counts["frontier"] == 1  # the page itself left the frontier, /p entered it
    assert counts["hosts"] == 3 and counts["domains"] == 3


async def test_resume_state_and_frontier_refill(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_queued([QueueItem(f"http://a.test/{i}", 1) for i in range(5)])
        writer.add_queued([QueueItem("http://b.test/", 0)])
        writer.add_page(answered("http://a.test/0", []))
        await writer.flush()
        state = await writer.resume_state()
        assert state.queued_by_host == {"a.test": 4, "b.test": 1}
        assert state.requests_by_host == {"a.test": 1}
        assert len(state.seen_hashes) == 6
        items = await writer.take_frontier("a.test", 3)
        assert [i.url for i in items] == ["http://a.test/1", "http://a.test/2", "http://a.test/3"]
        writer.add_page(Page("http://a.test/1", 1, time.time(), error="robots"))
        state = await writer.resume_state()
        assert state.requests_by_host == {"a.test": 1}  # a robots skip is not a request


async def test_link_seen_again_keeps_first_seen(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        page = answered("http://a.test/", [Link("http://b.test/")])
        page.fetched_at = 1_000_000_000
        writer.add_page(page)
        await writer.flush()
        again = answered("http://a.test/", [Link("http://b.test/")])
        again.fetched_at = 1_000_086_400
        writer.add_page(again)
    with queries.reader(db) as conn:
        (record,) = list(queries.iter_links(conn))
    assert record["first_seen"] == "2001-09-09T01:46:40Z"
    assert record["last_seen"] == "2001-09-10T01:46:40Z"


async def test_two_writers_on_one_store_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db):
        with pytest.raises(StoreError, match="another linkgraph process"):
            await StoreWriter.open(db)


async def test_internal_bit_from_the_writer_and_from_the_0004_migration_agree(
    tmp_path: Path,
) -> None:
    # Internal = source and target share a registrable domain (www.a.co.uk and
    # blog.a.co.uk do; a.co.uk and b.co.uk do not, co.uk being a public suffix).
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        writer.add_page(
            answered(
                "http://www.a.co.uk/",
                [
                    Link("http://blog.a.co.uk/x", "blog", (), "nav"),
                    Link("http://www.a.co.uk/about", "about", ("nofollow",), "footer"),
                    Link("http://b.co.uk/", "b", (), "content"),
                    Link("http://a.co.uk.evil.test/", "lookalike", (), "content"),
                ],
            )
        )
        writer.add_links("http://b.co.uk/", [Link("http://www.a.co.uk/", "a", ())], time.time())
    conn = sqlite3.connect(db)
    query = (
        "SELECT t.url, (l.flags & 16) > 0 FROM links l JOIN urls t ON t.id = l.target_id"
        " ORDER BY t.url"
    )
    written = conn.execute(query).fetchall()
    assert dict(written) == {
        "http://a.co.uk.evil.test/": 0,
        "http://b.co.uk/": 0,
        "http://blog.a.co.uk/x": 1,
        "http://www.a.co.uk/": 0,
        "http://www.a.co.uk/about": 1,
    }
    # The same store as version 3 wrote it: no bit, nothing from 0004 on in the ledger.
    conn.execute("UPDATE links SET flags = flags & ~16")
    conn.execute("DELETE FROM migrations WHERE version >= 4")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with queries.reader(db) as conn:  # migrates an older store of ours first
        assert conn.execute(query).fetchall() == written
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION


@pytest.mark.parametrize(
    "rel",
    [(), ("nofollow",), ("sponsored",), ("ugc",), ("noopener", "ugc"), ("noopener",), ("me",)],
)
def test_stored_flags_say_not_follow_exactly_when_the_rel_does(rel: tuple[str, ...]) -> None:
    # The crawler's rule (Link.follow, from rel names) and the readers' rule (the bits in
    # links.flags) must agree, or a query and the graph would count a link differently.
    link = Link("https://a.example/", rel=rel)
    not_follow = bool({"nofollow", "sponsored", "ugc"} & set(rel))
    assert link.follow is not not_follow
    assert bool(link_flags(link) & NOT_FOLLOW_FLAGS) is not_follow


async def test_a_host_noted_without_any_url_gets_its_row_domain_and_address(tmp_path: Path) -> None:
    """A host given up before any of its URLs was stored (a tarpit, robots.txt refusing)
    is still recorded, in its registrable domain, and a later note updates the same row."""
    db = tmp_path / "links.db"
    async with await StoreWriter.open(db, create=True) as writer:
        writer.note_host("lonely.example.co.uk", ip="127.0.0.9", note="given up")
        await writer.flush()
        writer.note_host("lonely.example.co.uk", ip="127.0.0.10")
        await writer.flush()
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT h.name, h.ip, h.note, d.name FROM hosts h JOIN domains d ON d.id = h.domain_id"
    ).fetchall()
    conn.close()
    assert rows == [("lonely.example.co.uk", "127.0.0.10", "given up", "example.co.uk")]


# sha256 of each shipped migration's SQL, from the commit that shipped it: a store that
# applied one must find the same schema after any refactoring of how the text is built.
SHIPPED_MIGRATIONS = {
    "0001_link_store": "e9ec58d0fcd1dd14",
    "0002_authority_scores": "daf6e01313644839",
    "0003_recrawl_history_and_text": "69f8cdd3681eb97a",
    "0004_internal_link_flag": "1233b2700b129f3e",
}


def test_shipped_migrations_keep_their_exact_sql() -> None:
    shipped = {
        name: hashlib.sha256(sql.encode()).hexdigest()[:16]
        for name, sql in schema.MIGRATIONS
        if name in SHIPPED_MIGRATIONS
    }
    assert shipped == SHIPPED_MIGRATIONS
