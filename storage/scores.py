"""The score tables and what ranking reads beside the link graph: trusted seeds, node names.

``linkgraph rank`` writes ``page_scores``, ``host_scores`` and ``domain_scores`` here, all
levels in one transaction; the graph export and the toxic triage read them back. Ids in
and out are 0-based (store id - 1), like :mod:`storage.graphload`'s arrays.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import Any

import numpy as np

from linkgraph.cores import usable_cores

from . import queries, schema, sealing
from .errors import StoreError, sqlite_errors
from .graphload import GraphArrays, clear_scores, load_graph, write_scores
from .inlinks import refresh as refresh_hubs
from .nodeids import COUNT_SQL, NodeIds, compact, present_ids
from .vocab import LEVEL_NAMES, LEVEL_SCORES

__all__ = [
    "GraphLoader",
    "ScoreWrites",
    "domain_authority",
    "node_names",
    "node_scores",
    "refresh_hubs",
    "replace_scores",
    "top_domains",
    "trusted_candidates",
    "writer",
]

_CHUNK = 900  # below SQLite's default limit of bound parameters


@contextmanager
def writer(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection]:
    """A read-write connection to a validated store; SQLite errors become store errors.

    Leaving the block cleanly seals the store (:func:`sealing.seal`): the next writing
    open of the unchanged file skips its ``quick_check``. The crawl writer's sealed
    counters are kept when they were valid at the opening and no other connection has
    committed since: the block writes score tables only, never links or pages."""
    with closing(schema.connect(path, threads=True)) as conn, sqlite_errors(path):
        counters = sealing.sealed_counters(path)
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        yield conn
        if conn.execute("PRAGMA data_version").fetchone()[0] != version:
            counters = None
    sealing.seal(path, counters)


class GraphLoader:
    """The link graph, read on a read-only connection in a second thread while the
    writer's opening runs ``quick_check``: both are one pass over the file, and on a
    10M-link store each takes seconds. Nothing is written before that check passes (the
    writer opens only then); a store that needs a migration is read after it, on the
    writer's connection, as before. Leaving the block early interrupts the read."""

    def __init__(self, db: str | os.PathLike[str]) -> None:
        self._db = db
        self._conns: list[sqlite3.Connection] = []
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[tuple[GraphArrays, float]] | None = None
        # The store ids of the graph's nodes, when they have gaps (else node = id - 1).
        self.ids: NodeIds | None = None
        # The hubs' URL ids (storage.inlinks), counted from the links read.
        self.hubs: list[int] = []

    def __enter__(self) -> GraphLoader:
        if schema.inspect_file(self._db) == schema.SCHEMA_VERSION:
            self._pool = ThreadPoolExecutor(max_workers=1)
            self._future = self._pool.submit(self._load)
        return self

    def _load(self) -> tuple[GraphArrays, float]:
        clock = time.perf_counter()
        with queries.reader(self._db) as conn:
            self._conns.append(conn)
            try:
                # A second reader where a second core can run it (see graphload._scan).
                helper = self._reader if usable_cores() > 1 else None
                g = self._dense(conn, load_graph(conn, helper=helper, hubs=self.hubs))
                return g, time.perf_counter() - clock
            finally:
                self._conns.clear()

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with queries.reader(self._db) as conn:
            self._conns.append(conn)
            yield conn

    def result(self, conn: sqlite3.Connection) -> tuple[GraphArrays, float]:
        """The graph and the seconds its reading took (read on ``conn``, the writer's
        connection, when it was not read beside the check)."""
        if self._future is not None:
            return self._future.result()
        clock = time.perf_counter()
        return self._dense(conn, load_graph(conn, hubs=self.hubs)), time.perf_counter() - clock

    def _dense(self, conn: sqlite3.Connection, g: GraphArrays) -> GraphArrays:
        """``g`` renumbered past gaps in the store's ids, if it has any (a copy of a
        PostgreSQL store: :mod:`storage.nodeids`), their ids kept in :attr:`ids`."""
        counts = tuple(conn.execute(COUNT_SQL).fetchone())
        self.ids = present_ids(
            g, counts, lambda sql: np.fromiter((i for (i,) in conn.execute(sql)), np.int64)
        )
        return g if self.ids is None else compact(g, self.ids)

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is None:
            return
        for conn in list(self._conns):  # an error stopped the run before the read was done
            try:
                conn.interrupt()
            except sqlite3.ProgrammingError:  # it was done after all, and closed
                pass
        self._pool.shutdown(wait=True)


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
    with replacing_scores(conn, beside=False) as writes:
        for level, columns in results.items():
            writes.level(level, columns)


class ScoreWrites:
    """The writes of one :func:`replacing_scores` block, in its transaction."""

    def __init__(self, conn: sqlite3.Connection, beside: bool, ids: NodeIds | None) -> None:
        self._conn = conn
        self._ids = ids
        self._pool = ThreadPoolExecutor(max_workers=1) if beside else None
        self._pending: list[Future[None]] = []
        self._cleared: dict[str, list[str]] = {}  # emptied levels: their indexes' SQL
        self.began = False
        self._failed = False
        self.seconds: dict[str, float] = {}  # what each run() took, where it ran

    def clear(self, level: str) -> None:
        """Empty ``level``'s score table now, ahead of its scores: on a big store that
        takes a few tenths of a second, done while the second core has nothing else to
        do. The write lock is held from here on. The level must then be written in this
        block (:meth:`level`), or the block fails and rolls back."""

        def empty(conn: sqlite3.Connection) -> None:
            self._cleared[level] = clear_scores(conn, level)

        self._submit(empty, None, scores=True)

    def level(self, level: str, columns: Mapping[str, Any]) -> None:
        """Replace ``level``'s score table (an empty ``columns`` keeps it as it was)."""
        if columns:
            ids = None if self._ids is None else self._ids.of(level)

            def write(conn: sqlite3.Connection) -> None:
                cleared = self._cleared.pop(level, None)
                write_scores(conn, level, **columns, ids=ids, cleared=cleared)

            self._submit(write, None, scores=True)

    def run(self, work: Callable[[sqlite3.Connection], object], name: str | None = None) -> None:
        """Run ``work(conn)`` after what was handed over before it (timed under ``name``),
        outside the scores' transaction: work that writes opens its own. Hand it over
        before the first level, so that the write lock is not held while it runs."""
        self._submit(work, name, scores=False)

    def _submit(
        self, work: Callable[[sqlite3.Connection], object], name: str | None, *, scores: bool
    ) -> None:
        def step() -> None:
            if self._failed:
                return  # an earlier write failed: this one would be rolled back with it
            started = time.perf_counter()
            try:
                # The scores' transaction begins with their first write, in the thread that
                # writes: the write lock is held from there to the end of the block only.
                if scores and not self.began:
                    self._conn.execute("BEGIN IMMEDIATE")
                    self.began = True
                elif scores and not self._conn.in_transaction:
                    # SQLite ends a transaction itself on some errors (I/O, no memory):
                    # a write now would commit alone, outside it.
                    raise StoreError("the transaction of the score writes ended early")
                work(self._conn)
            except BaseException:
                self._failed = True
                raise
            if name is not None:
                self.seconds[name] = time.perf_counter() - started

        if self._pool is None:
            step()
        else:
            self._pending.append(self._pool.submit(step))

    def _finish(self, ok: bool) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=not ok)
        if self.began and self._conn.in_transaction:
            self._conn.execute("COMMIT" if ok else "ROLLBACK")


@contextmanager
def replacing_scores(
    conn: sqlite3.Connection, *, beside: bool = True, ids: NodeIds | None = None
) -> Iterator[ScoreWrites]:
    """Replace score tables a level at a time, as the caller hands them over
    (``writes.level(level, columns)``), in one transaction committed when the block ends:
    an error in the block or in a write, or a crash, leaves the previous scores whole.
    ``writes.run(work)`` runs other work on the store in the same thread, outside it.

    ``beside``: the writes run in a second thread while the caller goes on (ranking the
    next level): SQLite inserts and builds the rank index with the GIL released. ``conn``
    must then allow use from another thread (:func:`writer` opens it so), and the caller
    must not use it inside the block. Without, each write is done before it returns.
    ``ids``: the store ids of the levels' nodes, when the graph was renumbered past gaps
    in them (:attr:`GraphLoader.ids`).
    """
    writes = ScoreWrites(conn, beside, ids)
    try:
        yield writes
        for done in writes._pending:
            done.result()
        if writes._cleared:  # emptied, never written: keep the scores that were there
            raise StoreError(f"the {', '.join(writes._cleared)} scores were emptied, not written")
    except BaseException:
        writes._finish(ok=False)
        raise
    writes._finish(ok=True)


def top_domains(conn: sqlite3.Connection, limit: int = 5) -> list[tuple[str, float]]:
    """``(name, authority)`` of the domains with the highest PageRank."""
    return [
        (name, authority)
        for name, authority in conn.execute(
            "SELECT d.name, s.authority FROM domain_scores s JOIN domains d ON d.id = s.domain_id"
            # Ties in the order SQLite's rank index gives them (the newest domain first).
            " ORDER BY s.pagerank DESC, s.domain_id DESC LIMIT ?",
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
