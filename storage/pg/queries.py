"""The store-wide reads on PostgreSQL: stats, the crawl record, URL outcomes, the export.

The SQLite store's queries (:mod:`storage.queries`) where their SQL is the same (stats,
the crawl record), and in PostgreSQL's spelling where it is not, giving the same records:
the same definitions (:data:`storage.queries.CURRENT`), the same record builders
(:func:`storage.queries.link_record`). Where SQLite's order differs from PostgreSQL's by
default (NULLs first, bytewise text), the SQL says so, so that the answers come out in
the same order too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..dialect import POSTGRES
from ..identity import url_hash
from ..queries import (
    CURRENT,
    LINK_COLUMNS,
    LINK_JOINS,
    LOST_COLUMNS,
    crawl_record,
    hosts_crawled,
    link_record,
)
from ..queries import stats as _stats

__all__ = ["crawl_record", "hosts_crawled", "iter_links", "stats", "url_outcomes"]

# SQLite compares text byte by byte (UTF-8 order: code point order); so does "C".
BYTEWISE = POSTGRES.bytewise


def stats(conn: Any) -> dict[str, Any]:
    """Counts of a store, as :func:`storage.queries.stats` gives them (the same function,
    in SQLite's orders)."""
    return _stats(conn, POSTGRES)


def iter_links(conn: Any, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
    """Every current link (``include_lost``: every link), streamed through a server-side
    cursor, so memory stays constant however many links the store holds."""
    columns = f"{LINK_COLUMNS}, {LOST_COLUMNS}" if include_lost else LINK_COLUMNS
    where = "TRUE" if include_lost else CURRENT
    with conn.transaction(), conn.cursor(name="linkgraph_iter_links") as cur:
        cur.itersize = 2000
        # The SQLite store reads the links in its primary key's order: so do we.
        cur.execute(
            f"SELECT {columns} FROM links l {LINK_JOINS} WHERE {where} ORDER BY l.target_id,"
            " l.source_id, l.kind, l.anchor_id, l.placement, l.rel_id, l.flags"
        )
        for row in cur:
            yield link_record(*row)


def url_outcomes(conn: Any, urls: list[str]) -> dict[str, tuple[int | None, str | None]]:
    """``(status, error)`` of each of ``urls`` (normalized) that has a page row."""
    # One statement, not one per URL: a crawl of a thousand seeds asks this at its end.
    rows = conn.execute(
        "SELECT u.url, p.status, p.error FROM unnest(%b::bigint[], %b::text[]) AS w(hash, url)"
        " JOIN urls u ON u.hash = w.hash AND u.url = w.url JOIN pages p ON p.url_id = u.id",
        ([url_hash(u) for u in urls], list(urls)),
    ).fetchall()
    return {url: (status, error) for url, status, error in rows}
