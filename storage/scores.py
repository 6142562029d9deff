"""The score tables and what ranking reads beside the link graph: trusted seeds, node names.

``linkgraph rank`` writes ``page_scores``, ``host_scores`` and ``domain_scores`` here, all
levels in one transaction; the graph export and the toxic triage read them back. Ids in
and out are 0-based (store id - 1), like :mod:`storage.graphload`'s arrays.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import schema
from .errors import from_sqlite
from .graphload import write_scores
from .vocab import LEVEL_NAMES, LEVEL_SCORES

__all__ = [
    "domain_authority",
    "node_names",
    "node_scores",
    "reader",
    "replace_scores",
    "top_domains",
    "trusted_candidates",
    "writer",
]

_CHUNK = 900  # below SQLite's default limit of bound parameters


@contextmanager
def writer(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A read-write connection to a validated store; SQLite errors become store errors."""
    conn = schema.connect(path)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    finally:
        conn.close()


@contextmanager
def reader(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a validated store, without ``quick_check``; SQLite errors
    become store errors."""
    conn = schema.connect(path, readonly=True)
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    finally:
        conn.close()


def trusted_candidates(
    conn: sqlite3.Connection, domains: Iterable[str]
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The stored ids of these registrable domains, and ``(id, name)`` of all their hosts.

    Which of those hosts a trusted list names is the caller's rule (a domain trusts all its
    hosts, a host name only itself).
    """
    names = sorted(set(domains))
    domain_ids = np.array(
        [
            rid - 1
            for (rid,) in conn.execute(
                f"SELECT id FROM domains WHERE name IN ({','.join('?' * len(names))})", names
            )
        ],
        dtype=np.int64,
    )
    if not len(domain_ids):
        return domain_ids, []
    hosts = conn.execute(
        f"SELECT id, name FROM hosts WHERE domain_id IN ({','.join('?' * len(domain_ids))})",
        [int(d) + 1 for d in domain_ids],
    ).fetchall()
    return domain_ids, [(rid - 1, name) for rid, name in hosts]


def replace_scores(conn: sqlite3.Connection, results: Mapping[str, Mapping[str, Any]]) -> None:
    """Replace the score table of every level in ``results`` (``{level: columns}``, the
    keywords of :func:`storage.graphload.write_scores`) in one transaction: a crash leaves
    the previous scores whole. An empty level keeps its table as it was."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for level, columns in results.items():
            if columns:
                write_scores(conn, level, **columns)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def top_domains(conn: sqlite3.Connection, limit: int = 5) -> list[tuple[str, float]]:
    """``(name, authority)`` of the domains with the highest PageRank."""
    return [
        (name, authority)
        for name, authority in conn.execute(
            "SELECT d.name, s.authority FROM domain_scores s JOIN domains d ON d.id = s.domain_id"
            " ORDER BY s.pagerank DESC LIMIT ?",
            (limit,),
        )
    ]


def domain_authority(conn: sqlite3.Connection) -> dict[int, float | None]:
    """Authority (0-100) per ranked domain id (0-based)."""
    return {
        did - 1: authority
        for did, authority in conn.execute("SELECT domain_id, authority FROM domain_scores")
    }


def node_names(conn: sqlite3.Connection, level: str, ids: Iterable[int]) -> dict[int, str]:
    """The text of these nodes of a level (URLs, host names or domain names), by 0-based id."""
    table, column = LEVEL_NAMES[level]
    wanted = sorted({int(i) + 1 for i in ids})
    names: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for rid, name in conn.execute(
            f"SELECT id, {column} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            names[rid - 1] = name
    return names


def node_scores(conn: sqlite3.Connection, level: str) -> dict[int, dict[str, Any]]:
    """The stored scores of every ranked node of a level, by 0-based id (``trust`` only
    when ranked with trusted sites)."""
    table, key = LEVEL_SCORES[level]
    scores = {}
    for row in conn.execute(
        f"SELECT {key}, authority, pagerank, backlinks, referring_domains, trust FROM {table}"
    ):
        attrs = {
            "authority": row[1],
            "pagerank": row[2],
            "backlinks": row[3],
            "referring_domains": row[4],
        }
        if row[5] is not None:
            attrs["trust"] = row[5]
        scores[row[0] - 1] = attrs
    return scores
