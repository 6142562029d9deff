"""Read queries over a store: plain ``sqlite3``, read-only connections, plain results.

The crawler writes through :mod:`storage.writer`; everything that reads for a user lives
here. Results are dicts and dataclasses with the export field names, so the CLI only
formats them.

One definition serves every count and list (the README repeats it): a link is
**current** while the last fetch of its source page still carried it, that is while its
``lost_at`` is NULL (:data:`CURRENT`). A recrawl sets ``lost_at`` and ``lost_reason``
when the page dropped the link or stopped counting (404, 410, a redirect, noindex, a
canonical elsewhere, a failed fetch) and clears them when the link comes back. Queries
read current links only; ``include_lost`` adds the lost ones, each with ``lost_at`` and
``lost_reason``, for history.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any

from . import schema
from .dialect import SQLITE, Dialect
from .errors import sqlite_errors
from .identity import url_hash
from .records import KINDS, LOST_REASONS, PLACEMENTS
from .vocab import FLAG_IMAGE, GUARDS, NOT_FOLLOW_FLAGS, SKIP_REASONS

__all__ = [
    "ANSWERED",
    "CURRENT",
    "EXPORT_FIELDS",
    "LOST_FIELDS",
    "crawl_record",
    "current",
    "hosts_crawled",
    "iso",
    "iter_links",
    "lost_reason",
    "reader",
    "stats",
    "url_outcomes",
]

# The one definition of a current link, as SQL over the links table aliased ``l``.
# Cheap on every query: lost_at sits in the row the query reads anyway.
CURRENT = "l.lost_at IS NULL"
# A page a crawl fetched and got an answer for (any status): what makes a host "crawled".
# A link check's HEAD request is not a crawl.
ANSWERED = "p.status IS NOT NULL AND p.checked_only = 0"

EXPORT_FIELDS = (
    "source",
    "target",
    "anchor",
    "rel",
    "follow",
    "placement",
    "image",
    "kind",
    "first_seen",
    "last_seen",
)
# Added to records when lost links are asked for: when and why a link stopped counting
# (both None for a current link).
LOST_FIELDS = ("lost_at", "lost_reason")


def current(alias: str = "l", *, include_lost: bool = False) -> str:
    """The SQL condition keeping current links of the links table aliased ``alias``
    (``"1"``, keeping everything, with ``include_lost``)."""
    return "1" if include_lost else CURRENT.replace("l.", f"{alias}.", 1)


def lost_reason(index: int | None) -> str | None:
    """A stored ``lost_reason`` index as its name in :data:`~storage.records.LOST_REASONS`."""
    return LOST_REASONS[index] if index is not None else None


def iso(ts: float | int | None) -> str | None:
    """Unix seconds → ISO 8601 in UTC (``2026-11-21T13:36:00Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def reader(path: str | os.PathLike[str], *, check: bool = False) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a validated store (``check``: and SQLite's ``quick_check``);
    SQLite errors become store errors (:func:`~storage.errors.from_sqlite`)."""
    with closing(schema.connect(path, readonly=True, check=check)) as conn, sqlite_errors(path):
        yield conn


def stats(conn: Any, sql: Dialect = SQLITE) -> dict[str, Any]:
    """Counts of a store: pages by outcome and status, links by kind, hosts, domains, frontier.

    ``conn`` may be a PostgreSQL connection too, with its :data:`~.dialect.POSTGRES`."""
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    by_status: dict[str, int] = {}
    by_error: dict[str, int] = {}
    checked: dict[str, int] = {}
    incomplete: dict[str, int] = {}  # fetched, but not all of it recorded: why
    fetched = failed = skipped = 0
    for status, error, checked_only, n in conn.execute(
        "SELECT status, error, checked_only, count(*) FROM pages GROUP BY status, error,"
        f" checked_only ORDER BY status{sql.nulls_first}, error {sql.bytewise}{sql.nulls_first},"
        " checked_only"
    ):
        if checked_only:  # link checks (broken --check-external), not crawled pages
            key = str(status) if status is not None else (error or "unknown")
            checked[key] = checked.get(key, 0) + n
        elif status is not None:
            fetched += n
            by_status[str(status)] = by_status.get(str(status), 0) + n
            if error:  # too-large, parse-timeout, parse-failed, links-truncated
                incomplete[error] = incomplete.get(error, 0) + n
        else:
            by_error[error or "unknown"] = by_error.get(error or "unknown", 0) + n
            if error in SKIP_REASONS:
                skipped += n
            else:
                failed += n
    # Current links only, every kind: the numbers every other command counts from.
    links = {kind: 0 for kind in KINDS}
    for kind, n in conn.execute(
        f"SELECT kind, count(*) FROM links l WHERE {CURRENT} GROUP BY kind ORDER BY kind"
    ):
        links[KINDS[kind]] = n
    nofollow = one(
        f"SELECT count(*) FROM links l WHERE kind = 0 AND (flags & {NOT_FOLLOW_FLAGS}) <> 0"
        f" AND {CURRENT}"
    )
    notes = [
        {"host": host, "note": note}
        for host, note in conn.execute(
            f"SELECT name, note FROM hosts WHERE note IS NOT NULL ORDER BY name {sql.bytewise}"
        )
    ]
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
            # Links a recrawl found gone (the partial index links_lost counts them).
            "lost": one("SELECT count(*) FROM links WHERE lost_at IS NOT NULL"),
        },
        "urls": one("SELECT count(*) FROM urls"),
        "hosts": one("SELECT count(*) FROM hosts"),
        "hosts_crawled": hosts_crawled(conn),
        "domains": one("SELECT count(*) FROM domains"),
        "frontier": one("SELECT count(*) FROM frontier"),
        "host_notes": notes,
        # The trap guards and host budget the crawl ran with (None: lifted), so a reader
        # of the "not fetched" reasons knows which limits produced them.
        "guards": {name: record[name] for name in GUARDS if name in record}
        if (record := crawl_record(conn))
        else {},
    }


def hosts_crawled(conn: Any) -> int:
    """Hosts with at least one crawled page that answered (any status; a link check's
    HEAD request is not a crawl)."""
    return conn.execute(
        "SELECT count(DISTINCT u.host_id) FROM pages p JOIN urls u ON u.id = p.url_id"
        f" WHERE {ANSWERED}"
    ).fetchone()[0]


def _rel_list(tokens: str | None) -> list[str]:
    return tokens.split(" ") if tokens else []


def link_record(
    source: str,
    target: str,
    anchor: str,
    rel_tokens: str | None,
    flags: int,
    placement: int,
    kind: int,
    first_seen: int,
    last_seen: int,
    *lost: int | None,
) -> dict[str, Any]:
    """One link as the export and every query print it; given ``lost_at`` and
    ``lost_reason`` (the :data:`LOST_COLUMNS`), with those two fields too."""
    record = {
        "source": source,
        "target": target,
        "anchor": anchor,
        "rel": _rel_list(rel_tokens),
        "follow": not (kind == 0 and flags & NOT_FOLLOW_FLAGS),
        "placement": PLACEMENTS[placement],
        "image": bool(flags & FLAG_IMAGE),
        "kind": KINDS[kind],
        "first_seen": iso(first_seen),
        "last_seen": iso(last_seen),
    }
    if lost:
        lost_at, reason = lost
        record["lost_at"] = iso(lost_at)
        record["lost_reason"] = lost_reason(reason)
    return record


LINK_COLUMNS = (
    "s.url, t.url, a.text, r.tokens, l.flags, l.placement, l.kind, l.first_seen,"
    " coalesce(l.last_seen, l.first_seen)"
)
LOST_COLUMNS = "l.lost_at, l.lost_reason"
LINK_JOINS = (
    "JOIN urls s ON s.id = l.source_id JOIN urls t ON t.id = l.target_id"
    " JOIN anchors a ON a.id = l.anchor_id LEFT JOIN rels r ON r.id = l.rel_id"
)


def iter_links(conn: sqlite3.Connection, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
    """Every current link of the store, one record each, streamed (constant memory).

    ``include_lost`` adds the lost links, and ``lost_at`` / ``lost_reason`` to every record.
    """
    columns = f"{LINK_COLUMNS}, {LOST_COLUMNS}" if include_lost else LINK_COLUMNS
    cur = conn.execute(
        f"SELECT {columns} FROM links l {LINK_JOINS} WHERE {current(include_lost=include_lost)}"
    )
    while rows := cur.fetchmany(2000):
        for row in rows:
            yield link_record(*row)


def crawl_record(conn: Any) -> dict[str, Any] | None:
    """The settings the store's crawl last ran with (``CrawlSettings`` fields and all its
    seeds), or ``None`` when the store holds no crawl."""
    row = conn.execute("SELECT value FROM crawl WHERE key = 'settings'").fetchone()
    return json.loads(row[0]) if row else None


def url_outcomes(
    conn: sqlite3.Connection, urls: list[str]
) -> dict[str, tuple[int | None, str | None]]:
    """``(status, error)`` of each of ``urls`` (normalized) that has a page row."""
    found: dict[str, tuple[int | None, str | None]] = {}
    for url in urls:
        row = conn.execute(
            "SELECT p.status, p.error FROM urls u JOIN pages p ON p.url_id = u.id"
            " WHERE u.hash = ? AND u.url = ?",
            (url_hash(url), url),
        ).fetchone()
        if row is not None:
            found[url] = (row[0], row[1])
    return found
