"""`linkgraph rank` on a PostgreSQL store: the link graph read in bulk, the scores written back.

The same names as :mod:`storage.scores` (the SQLite side), so ``linkgraph.ranking``
runs one pipeline over either: :class:`GraphLoader`, :func:`writer`,
:func:`replacing_scores`, :func:`trusted_candidates`, :func:`top_domains`,
:data:`refresh_hubs`.

- The graph is read with ``COPY ... TO STDOUT`` in one snapshot
  (:func:`.audit.link_graph`), then renumbered past the gaps a PostgreSQL store's ids
  have (:mod:`storage.nodeids`): ranked with them as nodes, the scores would differ
  from the same links in SQLite.
- Each level's scores replace its table with one binary ``COPY`` (rows packed by numpy,
  no Python object per row), all levels in one transaction: readers see the old scores
  until it commits, and a failure leaves them whole. Two ranks of one store take turns
  (a transaction-scoped advisory lock).
- The hub tables that SQLite keeps ahead for its queries are not kept here (PostgreSQL
  answers from the links): :data:`refresh_hubs` is ``None``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import StoreNotFound
from ..graphload import GraphArrays
from ..nodeids import COUNT_SQL, NodeIds, compact, present_ids
from ..vocab import LEVEL_SCORES
from .audit import integers, link_graph
from .connection import connect, pg_errors, redact
from .schema import SCHEMA_VERSION, init_db, inspect

__all__ = [
    "GraphLoader",
    "ScoreWrites",
    "refresh_hubs",
    "replacing_scores",
    "top_domains",
    "trusted_candidates",
    "writer",
]

# What ``linkgraph rank`` refreshes beside the scores on SQLite: nothing here.
refresh_hubs: Callable[[Any], object] | None = None

# Held by a rank's score transaction: a second rank of the same store waits for it.
_RANK_LOCK = 0x4C4B5241  # "LKRA"
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # binary COPY: signature, flags, extension
_TRAILER = b"\xff\xff"
_ROWS_PER_WRITE = 1 << 18
# The score columns as the tables declare them (storage/pg/migrations.py 0002).
_TYPES = {
    "pagerank": ">f8",
    "authority": ">f8",
    "trust": ">f8",
    "harmonic": ">f8",
    "backlinks": ">i4",
    "referring_domains": ">i4",
}


@contextmanager
def writer(db: str | os.PathLike[str]) -> Iterator[Any]:
    """A connection (autocommit) to the PostgreSQL store at ``db``, brought up to this
    schema version; a database that is not a store of ours raises before any write."""
    url = os.fspath(db)
    with connect(url, autocommit=True) as conn, pg_errors(url):
        version = inspect(conn, url)
        if version is None:
            raise StoreNotFound(f"no linkgraph store at {redact(url)}: crawl or copy into it first")
        if version < SCHEMA_VERSION:
            init_db(url)
        yield conn


class GraphLoader:
    """The link graph of the store, read on the writer's connection in one snapshot."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self._url = os.fspath(db)
        # The store ids of the graph's nodes, when they have gaps (else node = id - 1).
        self.ids: NodeIds | None = None

    def __enter__(self) -> GraphLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def result(self, conn: Any) -> tuple[GraphArrays, float]:
        clock = time.perf_counter()
        with pg_errors(self._url), conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            g = link_graph(conn)
            counts = tuple(conn.execute(COUNT_SQL).fetchone())
            self.ids = present_ids(g, counts, lambda sql: integers(conn, sql))
        if self.ids is not None:
            g = compact(g, self.ids)
        return g, time.perf_counter() - clock


def trusted_candidates(
    conn: Any, domains: Iterable[str]
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """The 0-based ids of these registrable domains, and ``(id, name)`` of their hosts."""
    rows = conn.execute("SELECT id FROM domains WHERE name = ANY(%s)", (sorted(set(domains)),))
    domain_ids = np.array([rid - 1 for (rid,) in rows], dtype=np.int64)
    if not len(domain_ids):
        return domain_ids, []
    hosts = conn.execute(
        "SELECT id, name FROM hosts WHERE domain_id = ANY(%s)", ([int(d) + 1 for d in domain_ids],)
    ).fetchall()
    return domain_ids, [(rid - 1, name) for rid, name in hosts]


def top_domains(conn: Any, limit: int = 5) -> list[tuple[str, float]]:
    """``(name, authority)`` of the domains with the highest PageRank."""
    return list(
        conn.execute(
            "SELECT d.name, s.authority FROM domain_scores s JOIN domains d ON d.id = s.domain_id"
            # Ties in the order SQLite's rank index gives them (the newest domain first).
            " ORDER BY s.pagerank DESC, s.domain_id DESC LIMIT %s",
            (limit,),
        )
    )


class ScoreWrites:
    """The writes of one :func:`replacing_scores` block, in its transaction."""

    def __init__(self, conn: Any, ids: NodeIds | None) -> None:
        self._conn = conn
        self._ids = ids
        self.seconds: dict[str, float] = {}

    def clear(self, level: str) -> None:
        """Accepted for the SQLite side's signature: :meth:`level` empties the table in
        the server, as part of its write."""

    def level(self, level: str, columns: Mapping[str, Any]) -> None:
        """Replace ``level``'s score table (an empty ``columns`` keeps it as it was)."""
        if not columns:
            return
        table, key = LEVEL_SCORES[level]
        named = {
            name: np.asarray(values)
            for name, values in columns.items()
            if values is not None and not (name == "harmonic" and level == "page")
        }
        n = len(named["pagerank"])
        if any(len(values) != n for values in named.values()):
            raise ValueError(f"{level} score columns differ in length")
        ids = np.arange(1, n + 1) if self._ids is None else self._ids.of(level) + 1
        fields: list[tuple[str, str]] = [("count", ">i2"), ("len_id", ">i4"), ("id", ">i8")]
        for name in named:
            fields += [(f"len_{name}", ">i4"), (name, _TYPES[name])]
        self._conn.execute(f"DELETE FROM {table}")
        with (
            self._conn.cursor() as cur,
            cur.copy(
                f"COPY {table} ({key}, {', '.join(named)}) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(_SIGNATURE)
            for start in range(0, n, _ROWS_PER_WRITE):
                stop = min(n, start + _ROWS_PER_WRITE)
                rows = np.empty(stop - start, dtype=fields)
                rows["count"] = 1 + len(named)
                rows["len_id"] = 8
                rows["id"] = ids[start:stop]
                for name, values in named.items():
                    rows[f"len_{name}"] = np.dtype(_TYPES[name]).itemsize
                    rows[name] = values[start:stop]
                copy.write(rows.tobytes())
            copy.write(_TRAILER)

    def run(self, work: Callable[[Any], object], name: str | None = None) -> None:
        """Run ``work(conn)`` now (timed under ``name``)."""
        started = time.perf_counter()
        work(self._conn)
        if name is not None:
            self.seconds[name] = time.perf_counter() - started


@contextmanager
def replacing_scores(
    conn: Any, *, beside: bool = True, ids: NodeIds | None = None
) -> Iterator[ScoreWrites]:
    """Replace score tables a level at a time, in one transaction committed when the
    block ends (an error rolls every level back). ``beside`` is accepted for the SQLite
    side's signature: here the server does the writing while the caller ranks on."""
    del beside
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_RANK_LOCK,))
        yield ScoreWrites(conn, ids)
