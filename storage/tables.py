"""The store's page and link tables as plain rows, and their history written back.

For ``linkgraph export --format parquet`` and ``import-parquet`` (``linkgraph/parquet.py``):
rows carry names, not ids (URLs, anchor text, rel tokens, kind, placement and lost reason
by name), and the raw dates (``last_seen`` stays ``NULL`` for a link seen once), so a store
filled from them through the writer and then given its history back
(:func:`restore_history`) answers every query as the original did.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from . import schema
from .identity import url_hash
from .intern import cols, to_json
from .records import KINDS, LOST_REASONS, PLACEMENTS
from .vocab import LINK_FLAGS, packed_flags_sql

__all__ = [
    "LINK_COLUMNS",
    "LINK_ROWS_SQL",
    "PAGE_COLUMNS",
    "fetched",
    "has_urls",
    "named_link_rows",
    "page_rows_sql",
    "restore_history",
    "table_rows",
]

PAGE_COLUMNS = (
    "url",
    "status",
    "error",
    "final_url",
    "content_type",
    "fetched_at",
    "depth",
    "title",
    "lang",
    "canonical",
    "robots",
    "size",
    "elapsed_ms",
    "etag",
    "last_modified",
    "outlinks",
    "checked_only",
    "text",
)
LINK_COLUMNS = (
    "source",
    "target",
    "kind",
    "anchor",
    "placement",
    "rel",
    "flags",
    "first_seen",
    "last_seen",
    "lost_at",
    "lost_reason",
)
_KIND_ID = {k: i for i, k in enumerate(KINDS)}
_PLACEMENT_ID = {p: i for i, p in enumerate(PLACEMENTS)}
_LOST_ID = {r: i for i, r in enumerate(LOST_REASONS)}


def has_urls(path: str | os.PathLike[str]) -> bool:
    """Whether the store at ``path`` (if any) holds a URL already."""
    if not Path(path).exists() or not schema.inspect_file(path):
        return False
    conn = schema.open_readonly(path)
    try:
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM urls)").fetchone()[0])
    finally:
        conn.close()


def page_rows_sql(text_key: str) -> str:
    """Every page row in :data:`PAGE_COLUMNS` order; ``text_key``: the column of
    ``page_text`` holding the page's URL id (SQLite's full-text table: its ``rowid``)."""
    return (
        "SELECT u.url, p.status, p.error, f.url, p.content_type, p.fetched_at, p.depth,"
        " p.title, p.lang, c.url, p.robots, p.size, p.elapsed_ms, p.etag, p.last_modified,"
        f" p.outlinks, p.checked_only, (SELECT t.text FROM page_text t WHERE t.{text_key} = p.url_id)"
        " FROM pages p JOIN urls u ON u.id = p.url_id LEFT JOIN urls f ON f.id = p.final_id"
        " LEFT JOIN urls c ON c.id = p.canonical_id"
    )


# Every link row, current and lost, in LINK_COLUMNS order, with ids for kind, placement
# and lost reason (named by :func:`named_link_rows`); flags without the kind, placement
# and rel bits the store keeps in them (vocab.LINK_FLAGS).
LINK_ROWS_SQL = (
    "SELECT s.url, t.url, l.kind, a.text, l.placement, r.tokens,"
    f" l.flags & {LINK_FLAGS}, l.first_seen,"
    " l.last_seen, l.lost_at, l.lost_reason FROM links l"
    " JOIN urls s ON s.id = l.source_id JOIN urls t ON t.id = l.target_id"
    " JOIN anchors a ON a.id = l.anchor_id JOIN rels r ON r.id = l.rel_id"
)


def fetched(cursor: Any, size: int = 2000) -> Iterator[tuple[Any, ...]]:
    """The rows of an executed cursor, fetched ``size`` at a time."""
    while rows := cursor.fetchmany(size):
        yield from rows


def named_link_rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """:data:`LINK_ROWS_SQL` rows with kind, placement and lost reason by name."""
    for source, target, kind, anchor, placement, rel, flags, first, last, lost, why in rows:
        yield (
            source,
            target,
            KINDS[kind],
            anchor,
            PLACEMENTS[placement],
            rel,
            flags,
            first,
            last,
            lost,
            None if why is None else LOST_REASONS[why],
        )


@contextmanager
def table_rows(
    path: str | os.PathLike[str],
) -> Iterator[tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]]:
    """The store's link rows (:data:`LINK_COLUMNS`) and page rows (:data:`PAGE_COLUMNS`),
    streamed from a read-only connection (``storage.pg.tables`` for PostgreSQL)."""
    conn = schema.open_readonly(path)
    try:
        yield (
            named_link_rows(fetched(conn.execute(LINK_ROWS_SQL))),
            fetched(conn.execute(page_rows_sql("rowid"))),
        )
    finally:
        conn.close()


def restore_history(
    path: str | os.PathLike[str],
    links: Iterable[tuple[Any, ...]],
    pages: Iterable[tuple[str, int, int]],
) -> int:
    """Give links written by the writer their exported dates and lost state, and pages
    their ``outlinks`` and ``elapsed_ms``; returns the links updated.

    ``links`` are :data:`LINK_COLUMNS` rows; ``pages`` are ``(url, outlinks, elapsed_ms)``.
    One transaction, after the writer has closed the store.
    """
    conn = schema.connect(path)
    try:
        return _restore(conn, links, pages)
    finally:
        conn.close()


def _restore(
    conn: sqlite3.Connection,
    links: Iterable[tuple[Any, ...]],
    pages: Iterable[tuple[str, int, int]],
) -> int:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS history (sh INTEGER, s TEXT, th INTEGER, t TEXT,"
        " kind INTEGER, anchor TEXT, placement INTEGER, rel TEXT, flags INTEGER,"
        " first_seen INTEGER, last_seen INTEGER, lost_at INTEGER, lost_reason INTEGER)"
    )
    conn.execute("DELETE FROM temp.history")
    rows = (
        (
            url_hash(s),
            s,
            url_hash(t),
            t,
            _KIND_ID[kind],
            anchor,
            _PLACEMENT_ID[placement],
            rel,
            flags,
            first,
            last,
            lost,
            None if why is None else _LOST_ID[why],
        )
        for s, t, kind, anchor, placement, rel, flags, first, last, lost, why in links
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        # In slices, so a large import never holds all its rows at once.
        while chunk := list(islice(rows, 50_000)):
            conn.execute(
                f"INSERT INTO temp.history SELECT {cols(13)} FROM json_each(?)",
                (to_json(chunk),),
            )
        updated = conn.execute(
            "UPDATE links SET first_seen = h.first_seen, last_seen = h.last_seen,"
            " lost_at = h.lost_at, lost_reason = h.lost_reason"
            " FROM temp.history h JOIN urls s ON s.hash = h.sh AND s.url = h.s"
            " JOIN urls t ON t.hash = h.th AND t.url = h.t"
            " JOIN anchors a ON a.text = h.anchor JOIN rels r ON r.tokens = h.rel"
            " WHERE links.source_id = s.id AND links.target_id = t.id"
            " AND links.anchor_id = a.id"
            f" AND links.flags = {packed_flags_sql('h.flags', 'h.kind', 'h.placement', 'r.id')}"
        ).rowcount
        conn.executemany(
            "UPDATE pages SET outlinks = ?, elapsed_ms = ?"
            " WHERE url_id = (SELECT id FROM urls WHERE hash = ? AND url = ?)",
            ((outlinks, elapsed, url_hash(url), url) for url, outlinks, elapsed in pages),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return updated
