"""The page and link tables of a PostgreSQL store as plain rows, for ``export --format
parquet``: the SQL and row naming of :mod:`storage.tables`, read through server-side
cursors (a batch of rows in memory at a time) in one snapshot; and for ``import-parquet``,
their history written back (:func:`restore_history`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..identity import url_hash
from ..intern import MAX_ANCHOR
from ..records import KINDS, LOST_REASONS, PLACEMENTS
from ..tables import LINK_ROWS_SQL, fetched, named_link_rows, page_rows_sql
from .batch import clean
from .connection import connect, pg_errors
from .schema import inspect, open_reader

__all__ = ["has_urls", "restore_history", "table_rows"]

_KIND_ID = {k: i for i, k in enumerate(KINDS)}
_PLACEMENT_ID = {p: i for i, p in enumerate(PLACEMENTS)}
_LOST_ID = {r: i for i, r in enumerate(LOST_REASONS)}


@contextmanager
def table_rows(
    url: str | os.PathLike[str],
) -> Iterator[tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]]:
    """The store's link rows and page rows (:func:`storage.tables.table_rows`)."""
    url = os.fspath(url)
    with (
        open_reader(url) as conn,
        pg_errors(url),
        conn.transaction(),
        conn.cursor(name="linkgraph_link_rows") as links,
        conn.cursor(name="linkgraph_page_rows") as pages,
    ):
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        links.execute(LINK_ROWS_SQL)
        pages.execute(page_rows_sql("url_id"))
        yield named_link_rows(fetched(links)), fetched(pages)


def has_urls(url: str | os.PathLike[str]) -> bool:
    """Whether the PostgreSQL store at ``url`` (if it has our schema) holds a URL already;
    a database of another program, or of a newer linkgraph, raises, as on opening it."""
    url = os.fspath(url)
    with connect(url, autocommit=True) as conn, pg_errors(url):
        if not inspect(conn, url):
            return False
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM urls)").fetchone()[0])


async def restore_history(
    conn: Any, links: Iterable[tuple[Any, ...]], pages: Iterable[tuple[str, int, int]]
) -> int:
    """:func:`storage.tables.restore_history` on the writer's connection ``conn``, in its
    transaction (``PgWriter.atomic``): links their exported dates and lost state, pages
    their ``outlinks`` and ``elapsed_ms``. Returns the links updated."""
    await conn.execute(
        "CREATE TEMP TABLE link_history (sh BIGINT, s TEXT, th BIGINT, t TEXT, kind INT,"
        " anchor TEXT, placement INT, rel TEXT, flags INT, first_seen BIGINT, last_seen BIGINT,"
        " lost_at BIGINT, lost_reason INT) ON COMMIT DROP"
    )
    async with conn.cursor().copy("COPY link_history FROM STDIN") as copy:
        for s, t, kind, anchor, placement, rel, flags, first, last, lost, why in links:
            await copy.write_row(
                (
                    url_hash(s),
                    s,
                    url_hash(t),
                    t,
                    _KIND_ID[kind],
                    # As the writer stored it (storage/pg/batch.py).
                    clean((anchor or "")[:MAX_ANCHOR]) or "",
                    _PLACEMENT_ID[placement],
                    rel or "",
                    flags,
                    first,
                    last,
                    lost,
                    None if why is None else _LOST_ID[why],
                )
            )
    cur = await conn.execute(
        "UPDATE links l SET first_seen = h.first_seen, last_seen = h.last_seen,"
        " lost_at = h.lost_at, lost_reason = h.lost_reason"
        " FROM link_history h JOIN urls s ON s.hash = h.sh AND s.url = h.s"
        " JOIN urls t ON t.hash = h.th AND t.url = h.t"
        " JOIN anchors a ON a.text = h.anchor JOIN rels r ON r.tokens = h.rel"
        " WHERE l.source_id = s.id AND l.target_id = t.id AND l.kind = h.kind"
        " AND l.anchor_id = a.id AND l.placement = h.placement AND l.rel_id = r.id"
        " AND l.flags = h.flags"
    )
    updated = cur.rowcount
    await conn.execute(
        "CREATE TEMP TABLE page_history (h BIGINT, url TEXT, outlinks INT, elapsed_ms BIGINT)"
        " ON COMMIT DROP"
    )
    async with conn.cursor().copy("COPY page_history FROM STDIN") as copy:
        for url, outlinks, elapsed in pages:
            await copy.write_row((url_hash(url), url, outlinks, elapsed))
    await conn.execute(
        "UPDATE pages p SET outlinks = d.outlinks, elapsed_ms = d.elapsed_ms"
        " FROM page_history d JOIN urls u ON u.hash = d.h AND u.url = d.url"
        " WHERE p.url_id = u.id"
    )
    return updated
