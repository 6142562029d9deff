"""The store-wide reads on PostgreSQL: stats, the crawl record, URL outcomes, the export.

The SQLite store's queries (:mod:`storage.queries`) in PostgreSQL's spelling, giving the
same records: the same definitions (:data:`storage.queries.CURRENT`, ``ANSWERED``), the
same record builders (:func:`storage.queries.link_record`). Where SQLite's order differs
from PostgreSQL's by default (NULLs first, bytewise text), the SQL says so, so that the
answers come out in the same order too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..identity import url_hash
from ..queries import ANSWERED, CURRENT, LINK_COLUMNS, LINK_JOINS, LOST_COLUMNS, link_record
from ..records import KINDS
from ..vocab import GUARDS, NOT_FOLLOW_FLAGS, SKIP_REASONS

__all__ = ["crawl_record", "hosts_crawled", "iter_links", "stats", "url_outcomes"]

# SQLite compares text byte by byte (UTF-8 order: code point order); so does "C".
BYTEWISE = 'COLLATE "C"'


def _one(conn: Any, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


def stats(conn: Any) -> dict[str, Any]:
    """Counts of a store, as :func:`storage.queries.stats` gives them."""
    by_status: dict[str, int] = {}
    by_error: dict[str, int] = {}
    checked: dict[str, int] = {}
    incomplete: dict[str, int] = {}
    fetched = failed = skipped = 0
    for status, error, checked_only, n in conn.execute(
        "SELECT status, error, checked_only, count(*) FROM pages GROUP BY status, error,"
        f" checked_only ORDER BY status NULLS FIRST, error {BYTEWISE} NULLS FIRST, checked_only"
    ):
        if checked_only:
            key = str(status) if status is not None else (error or "unknown")
            checked[key] = checked.get(key, 0) + n
        elif status is not None:
            fetched += n
            by_status[str(status)] = by_status.get(str(status), 0) + n
            if error:
                incomplete[error] = incomplete.get(error, 0) + n
        else:
            by_error[error or "unknown"] = by_error.get(error or "unknown", 0) + n
            if error in SKIP_REASONS:
                skipped += n
            else:
                failed += n
    links = {kind: 0 for kind in KINDS}
    for kind, n in conn.execute(
        f"SELECT kind, count(*) FROM links l WHERE {CURRENT} GROUP BY kind ORDER BY kind"
    ):
        links[KINDS[kind]] = n
    nofollow = _one(
        conn,
        f"SELECT count(*) FROM links l WHERE kind = 0 AND (flags & {NOT_FOLLOW_FLAGS}) <> 0"
        f" AND {CURRENT}",
    )
    notes = [
        {"host": host, "note": note}
        for host, note in conn.execute(
            f"SELECT name, note FROM hosts WHERE note IS NOT NULL ORDER BY name {BYTEWISE}"
        )
    ]
    record = crawl_record(conn)
    return {
        "pages": {
            "fetched": fetched,
            "failed": failed,
            "skipped": skipped,
            "by_status": by_status,
            "incomplete": incomplete,
            "not_fetched": by_error,
            "links_checked": checked,
        },
        "links": {
            "total": sum(links.values()),
            **links,
            "follow": links["link"] - nofollow,
            "nofollow": nofollow,
            "lost": _one(conn, "SELECT count(*) FROM links WHERE lost_at IS NOT NULL"),
        },
        "urls": _one(conn, "SELECT count(*) FROM urls"),
        "hosts": _one(conn, "SELECT count(*) FROM hosts"),
        "hosts_crawled": hosts_crawled(conn),
        "domains": _one(conn, "SELECT count(*) FROM domains"),
        "frontier": _one(conn, "SELECT count(*) FROM frontier"),
        "host_notes": notes,
        "guards": {name: record[name] for name in GUARDS if name in record} if record else {},
    }


def hosts_crawled(conn: Any) -> int:
    """Hosts with at least one crawled page that answered."""
    return _one(
        conn,
        "SELECT count(DISTINCT u.host_id) FROM pages p JOIN urls u ON u.id = p.url_id"
        f" WHERE {ANSWERED}",
    )


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


def crawl_record(conn: Any) -> dict[str, Any] | None:
    """The settings the store's crawl last ran with, or ``None``."""
    row = conn.execute("SELECT value FROM crawl WHERE key = 'settings'").fetchone()
    return json.loads(row[0]) if row else None


def url_outcomes(conn: Any, urls: list[str]) -> dict[str, tuple[int | None, str | None]]:
    """``(status, error)`` of each of ``urls`` (normalized) that has a page row."""
    found: dict[str, tuple[int | None, str | None]] = {}
    for url in urls:
        row = conn.execute(
            "SELECT p.status, p.error FROM urls u JOIN pages p ON p.url_id = u.id"
            " WHERE u.hash = %s AND u.url = %s",
            (url_hash(url), url),
        ).fetchone()
        if row is not None:
            found[url] = (row[0], row[1])
    return found
