"""Moving a whole store between backends: SQLite to PostgreSQL and back, without loss.

Every table of the store, every row, with its ids, streamed table by table in batches:
rows come out of SQLite through a cursor (``fetchmany``) or out of PostgreSQL through
``COPY ... TO STDOUT``, and go into PostgreSQL through ``COPY ... FROM STDIN`` or into
SQLite through ``executemany`` over that stream, so memory stays constant however large
the store. The whole copy is one transaction on the destination: a failure leaves it as
it was (a new SQLite file is removed again).

The destination must be new or empty: a store holding any row (beyond the empty anchor
and rel that every store starts with) is refused before anything is written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import hubanchors, inlinks, linksources
from .. import schema as sqlite_schema
from ..errors import StoreError, sqlite_errors
from ..vocab import LINK_FLAGS, packed_flags_sql
from .connection import connect, is_pg_url, pg_errors, redact
from .schema import init_db, inspect, open_reader

__all__ = ["SQLITE_ONLY", "TABLES", "copy_store"]


@dataclass(frozen=True)
class Table:
    """One table as both backends hold it: its columns, and the key rows are read in."""

    name: str
    columns: tuple[str, ...]
    key: str
    identity: bool = False  # its id comes from a sequence in PostgreSQL

    def sqlite_select(self) -> str:
        if self.name == "page_text":  # FTS5: the url id is the rowid
            return "SELECT rowid, text FROM page_text ORDER BY rowid"
        if self.name == "links":  # kind, placement, rel_id: bits of flags (vocab.KIND_SHIFT)
            columns = [f"flags & {LINK_FLAGS}" if c == "flags" else c for c in self.columns]
            return f"SELECT {', '.join(columns)} FROM links ORDER BY {_SQLITE_LINK_KEY}"
        return f"SELECT {', '.join(self.columns)} FROM {self.name} ORDER BY {self.key}"

    def sqlite_insert(self) -> str:
        columns = ("rowid", "text") if self.name == "page_text" else self.columns
        marks = ", ".join("?" * len(columns))
        if self.name == "links":  # kind, placement and rel_id go into flags, generated from it
            value = {c: f"?{i}" for i, c in enumerate(columns, start=1)}
            value["flags"] = packed_flags_sql(*(value[c] for c in _PACKED))
            columns = tuple(c for c in columns if c not in _PACKED[1:])
            marks = ", ".join(value[c] for c in columns)
        return f"INSERT INTO {self.name}({', '.join(columns)}) VALUES ({marks})"


def _t(name: str, columns: str, key: str | None = None, *, identity: bool = False) -> Table:
    cols = tuple(columns.split())
    return Table(name, cols, key or cols[0], identity)


_LINK_KEY = "target_id, source_id, kind, anchor_id, placement, rel_id, flags"
_SQLITE_LINK_KEY = "target_id, source_id, anchor_id, flags"  # its primary key
_PACKED = ("flags", "kind", "placement", "rel_id")  # packed_flags_sql's arguments
_SCORES = "pagerank authority trust harmonic backlinks referring_domains"
# Every table of the store (storage/migrations.py, storage/pg/migrations.py) but the
# migrations record, which each backend keeps its own way.
# Not here: what a SQLite store keeps beside its links for its own queries
# (:data:`SQLITE_ONLY`), counted again from the copied rows.
TABLES: tuple[Table, ...] = (
    _t("domains", "id name", identity=True),
    _t("hosts", "id name domain_id ip note", identity=True),
    _t("urls", "id hash host_id url", identity=True),
    _t("anchors", "id text", identity=True),
    _t("rels", "id tokens", identity=True),
    _t(
        "links",
        "target_id source_id kind anchor_id placement rel_id flags first_seen last_seen"
        " lost_at lost_reason",
        _LINK_KEY,
    ),
    _t(
        "pages",
        "url_id status error final_id content_type fetched_at depth title lang canonical_id"
        " robots size elapsed_ms etag last_modified outlinks checked_only",
    ),
    _t("frontier", "url_id host_id depth hops kind"),
    _t("crawl", "key value"),
    _t("page_scores", "url_id pagerank authority trust backlinks referring_domains"),
    _t("host_scores", f"host_id {_SCORES}"),
    _t("domain_scores", f"domain_id {_SCORES}"),
    _t("page_text", "url_id text"),
    _t("hub_targets", "target_id"),
    _t("hub_inlinks", "target_id host_id backlinks follow_backlinks first_seen last_seen"),
)
# What a SQLite store keeps beside its links for its queries (storage.linksources,
# storage.hubanchors), which PostgreSQL answers without: counted again from the copied
# rows when a copy lands in SQLite.
SQLITE_ONLY = ("link_sources", "hub_anchors")
# Rows every new store has: the empty anchor and the empty rel (id 0).
_SEEDED = {"anchors": 1, "rels": 1}
_BATCH = 5000


def _not_empty(counts: dict[str, int], shown: str) -> None:
    full = [name for name, n in counts.items() if n > _SEEDED.get(name, 0)]
    if full:
        raise StoreError(
            f"{shown} is not empty (it has {', '.join(full[:3])}{'...' if len(full) > 3 else ''}"
            " rows): copy into a new store or an empty database; nothing was written"
        )


# -- reading ------------------------------------------------------------------------------


def _sqlite_rows(conn: sqlite3.Connection, table: Table) -> Iterator[tuple[Any, ...]]:
    cur = conn.execute(table.sqlite_select())
    while rows := cur.fetchmany(_BATCH):
        yield from rows


def _pg_rows(conn: Any, table: Table) -> Iterator[tuple[Any, ...]]:
    select = f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.key}"
    with conn.cursor() as cur:
        cur.execute(f"{select} LIMIT 0")
        types = [column.type_code for column in cur.description]
        with cur.copy(f"COPY ({select}) TO STDOUT") as copy:
            copy.set_types(types)
            yield from copy.rows()


# -- writing ------------------------------------------------------------------------------


def _counts(conn: Any, have: set[str]) -> dict[str, int]:
    """Rows per table of :data:`TABLES` that the store has (an older one lacks some)."""
    return {
        t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0]
        for t in TABLES
        if t.name in have
    }


def _into_sqlite(path: Path, read: Callable[[Table], Iterable[tuple[Any, ...]]]) -> dict[str, int]:
    existed = path.exists()
    if sqlite_schema.inspect_file(path):  # a store of ours (foreign, newer: raised)
        # Checked before the read-write opening: migrating an older store is a write.
        with closing(sqlite_schema.open_readonly(path)) as ro, sqlite_errors(path):
            names = {
                n for (n,) in ro.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            _not_empty(_counts(ro, names), str(path))
    conn = sqlite_schema.connect(path, create=True)
    done = False
    try:
        with sqlite_errors(path):
            _not_empty(_counts(conn, {t.name for t in TABLES}), str(path))
            copied: dict[str, int] = {}
            conn.execute("BEGIN IMMEDIATE")
            for name in _SEEDED:  # the source has its own id-0 rows
                conn.execute(f"DELETE FROM {name}")
            for table in TABLES:
                before = conn.total_changes
                conn.executemany(table.sqlite_insert(), read(table))
                copied[table.name] = conn.total_changes - before
            # What SQLite keeps beside the links, which PostgreSQL does not: from them.
            # (The hubs' rows came across, but PostgreSQL does not keep them up to date.)
            linksources.fill(conn)
            inlinks.count_all(conn)
            hubanchors.count_all(conn)
            conn.execute("COMMIT")
            done = True
            return copied
    finally:
        if not done and conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
        if not done and not existed:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)


def _into_pg(url: str, read: Callable[[Table], Iterable[tuple[Any, ...]]]) -> dict[str, int]:
    with connect(url, autocommit=True) as conn, pg_errors(url):
        if inspect(conn, url):  # a store of ours (foreign, newer: raised, nothing written)
            # Checked before init_db: bringing an older store up to date is a write.
            have = {
                t.name
                for t in TABLES
                if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (t.name,)).fetchone()[0]
            }
            _not_empty(_counts(conn, have), redact(url))
        init_db(url)  # the schema, in an empty database or an older store of ours
        _not_empty(_counts(conn, {t.name for t in TABLES}), redact(url))
        copied: dict[str, int] = {}
        with conn.transaction(), conn.cursor() as cur:
            for name in _SEEDED:
                cur.execute(f"DELETE FROM {name}")
            for table in TABLES:
                n = 0
                with cur.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN") as cp:
                    for row in read(table):
                        cp.write_row(row)
                        n += 1
                copied[table.name] = n
            for table in TABLES:
                if table.identity:  # new ids continue after the copied ones
                    cur.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                        f" coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)",
                        (table.name,),
                    )
        conn.execute("ANALYZE")
        return copied


def copy_store(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> dict[str, int]:
    """Copy every table of the store at ``src`` into the new or empty store at ``dst``
    (each a SQLite path or a PostgreSQL URL); returns the rows copied per table."""
    if is_pg_url(src):
        url = os.fspath(src)
        with open_reader(url) as pg, pg_errors(url), pg.transaction():
            # One snapshot of the source for every table: a consistent copy.
            pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return _write(dst, lambda t: _pg_rows(pg, t))
    with closing(sqlite_schema.connect(src, readonly=True)) as conn, sqlite_errors(src):
        return _write(dst, lambda t: _sqlite_rows(conn, t))


def _write(
    dst: str | os.PathLike[str], read: Callable[[Table], Iterable[tuple[Any, ...]]]
) -> dict[str, int]:
    if is_pg_url(dst):
        return _into_pg(os.fspath(dst), read)
    return _into_sqlite(Path(dst), read)
