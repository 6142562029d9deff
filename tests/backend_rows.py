"""What a store holds, read the same way from a SQLite file and a PostgreSQL database, for
the tests that run one command on both backends and compare the stores row by row."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from linkgraph.storage.pg import is_pg_url

import linkgraph


def _sql(db: str | Path, sql: str) -> list[tuple[Any, ...]]:
    if is_pg_url(db):
        import psycopg

        with psycopg.connect(str(db)) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def stored(db: str | Path) -> dict[str, list[Any]]:
    """Every link (current and lost, with its dates), every page row (by URL, with its
    text), every host's address and note, and the crawl table (settings, import state),
    each sorted: equal for two stores that answer every query alike."""
    if is_pg_url(db):
        from linkgraph.storage.pg.tables import table_rows
    else:
        from linkgraph.storage.tables import table_rows
    with table_rows(db) as (links, pages):
        rows = {"links": sorted(links, key=repr), "pages": sorted(pages, key=repr)}
    rows["hosts"] = sorted(_sql(db, "SELECT name, ip, note FROM hosts"))
    # Less SQLite's seal of its counters (storage/sealing.py), a file's own.
    rows["crawl"] = sorted(_sql(db, "SELECT key, value FROM crawl WHERE key <> 'open_check_seal'"))
    rows["frontier"] = sorted(
        _sql(db, "SELECT u.url, f.depth, f.kind FROM frontier f JOIN urls u ON u.id = f.url_id")
    )
    return rows


def counts(db: str | Path) -> dict[str, int]:
    """Rows per table of what :func:`stored` reads, and of the interned names."""
    tables = ("urls", "hosts", "domains", "anchors", "rels", "links", "pages", "crawl")
    return {t: _sql(db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}


def busiest_targets(db: str | Path, n: int = 5) -> list[str]:
    """The ``n`` hosts with the most links into them (any kind, current or lost)."""
    hosts = Counter(r["target"].split("/")[2] for r in linkgraph.iter_links(db, include_lost=True))
    return [host for host, _ in sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def answers(db: str | Path, targets: list[str]) -> dict[str, Any]:
    """The backlinks, anchors and changes of each target host, internal and lost links
    included, with ``stats`` (less the crawl workers a PostgreSQL store lists)."""
    stats = linkgraph.stats(db)
    stats.pop("workers", None)  # PostgreSQL's alone: the processes that crawled it
    found: dict[str, Any] = {"stats": stats}
    for host in targets:
        every = {"mode": "host", "include_internal": True, "include_lost": True}
        found[host] = {
            "backlinks": sorted(linkgraph.backlinks(db, host, limit=None, **every), key=repr),
            "anchors": linkgraph.anchors(db, host, limit=None, **every),
            "referring_domains": linkgraph.referring_domains(db, host, limit=None, **every),
            "changes": linkgraph.changes(db, host, mode="host", include_internal=True),
        }
    return found
