"""Moving the link graph between the store and numpy arrays, for ``graph/`` to rank.

``graph/`` does no I/O; this module is its only bridge to SQLite. Node ids are the
store's own ids minus one (ids are dense: rows are never deleted), so arrays index
directly and results go back without a mapping table.

Reading speed matters on a store of ten million links. A row per Python object costs
0.3-1.5 µs, so each query packs what it needs into one integer per row (a link:
``target << 33 | internal << 32 | redirect << 31 | source << 1 | follow``; the one scan
of the links also gives the redirects and the hubs) and SQLite's ``group_concat`` joins a range
of them into one string, which numpy parses in C (:func:`_scan`, on two read connections in two threads where
there are two cores): the scan itself is then most of the cost. The ``links`` table is clustered by ``(target_id, source_id)``,
so its rows arrive grouped by pair and are made distinct without a sort. Ids are
int32 from here on (a store's ids stay far below 2**31): half the memory of int64.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import TypeVar

import numpy as np
from linkgraph.graph.ranking import LinkArrays, run_starts

from .errors import StoreError
from .inlinks import HUB_LINKS
from .linksources import copy_pagerank
from .vocab import FLAG_INTERNAL, KIND_SHIFT, LEVEL_SCORES, NOT_FOLLOW_FLAGS

__all__ = [
    "MAX_PACKED_ID",
    "REDIRECTS_SQL",
    "GraphArrays",
    "check_packable",
    "clear_scores",
    "distinct_pairs",
    "graph_arrays",
    "load_graph",
    "place_ids",
    "write_scores",
]

# Rows joined into one string per query: about 5 MB of text, a bounded buffer. Smaller
# than glibc's mmap threshold as `linkgraph rank` sets it (16 MiB), so the strings and the
# arrays made from them reuse heap memory instead of new mappings faulted in page by page:
# on the 10M-link store the scan took 1.3-1.6 s of system time instead of 1.7-2.2 s with
# 1M-row ranges, and held 250-260 MB at its peak instead of 305-317.
_CHUNK_ROWS = 1 << 18
# Keys in the first range of a scan: few, as the first ids of a crawl are often its hubs.
_FIRST_RANGE = 1 << 8
_T = TypeVar("_T")
# Opens (and closes) a read connection to the store being loaded.
Reader = Callable[[], AbstractContextManager[sqlite3.Connection]]
# Score rows converted to Python objects at a time, on the way back, and rows per INSERT.
_WRITE_SLICE = 1 << 16
_ROWS_PER_INSERT = 1000

# One redirect per page: the latest current one (a store written before recrawls marked
# redirect hops lost may hold an older one beside it). ``+source_id`` keeps SQLite from
# grouping through the ``links_source`` index: that plan fetches the full row of every
# link (9.9M on the 10M-link store, 15 s) to find the few redirects, where scanning the
# table takes 0.4 s.
REDIRECTS_SQL = (
    "SELECT (source_id << 32) | target_id AS packed FROM ("
    "SELECT source_id, target_id, max(coalesce(last_seen, first_seen))"
    " FROM links WHERE kind = 1 AND lost_at IS NULL GROUP BY +source_id)"
)


# A link is read as one 64-bit integer, ``target << 33 | source << 1 | follow``.
MAX_PACKED_ID = (1 << 30) - 1


def check_packable(top_id: int) -> None:
    """Refuse a store whose URL ids do not fit the packed link integers (over a billion
    URLs, or ids that far apart) rather than rank a wrapped-around graph."""
    if top_id > MAX_PACKED_ID:
        raise StoreError(
            f"URL ids reach {top_id:,}: the link graph is read with ids below {MAX_PACKED_ID + 1:,}"
        )


# The record the graph pipeline reads is graph's own; the loader below fills it.
GraphArrays = LinkArrays


class _Ranges:
    """Key ranges covering ``1..top``, handed out one at a time to whichever reader asks
    next (thread-safe). Each is sized from the rows the asker's last range held, to about
    ``_CHUNK_ROWS``, the first ``_FIRST_RANGE`` keys."""

    def __init__(self, top: int) -> None:
        self._lo = 1
        self._top = top
        self._lock = threading.Lock()

    def claim(self, last: tuple[int, int] | None) -> tuple[int, int] | None:
        """The next ``(lo, step)``, given the asker's last ``(step, rows)``; ``None``: done."""
        step = (
            _FIRST_RANGE
            if last is None
            else max(1, min(last[0] * 4, last[0] * _CHUNK_ROWS // max(last[1], 1)))
        )
        with self._lock:
            lo = self._lo
            if lo > self._top:
                return None
            self._lo = lo + step
        return lo, step

    def stop(self) -> None:
        """Hand out no more ranges: a reader failed (or was interrupted), so the scan has."""
        with self._lock:
            self._lo = self._top + 1


def _scan(
    conn: sqlite3.Connection,
    sql: str,
    top: int,
    convert: Callable[[np.ndarray], _T],
    helper: Reader | None = None,
) -> list[_T]:
    """Run ``sql`` (one integer column ``packed``; two parameters, the half-open range of
    the key it filters on) over key ranges covering ``1..top``, and ``convert`` the int64
    array of each range; the results in key order.

    With a ``helper`` (it opens a second read connection) a thread reads beside ``conn``:
    SQLite runs the query and joins its rows into one string with the GIL released, so
    two readers keep two cores busy where one kept one.
    """
    ranges = _Ranges(top)
    done: list[tuple[int, _T]] = []

    def read(conn: sqlite3.Connection) -> None:
        last = None
        while (claimed := ranges.claim(last)) is not None:
            lo, step = claimed
            text, rows = conn.execute(
                f"SELECT group_concat(packed), count(*) FROM ({sql})", (lo, lo + step)
            ).fetchone()
            if rows:
                done.append((lo, convert(np.fromstring(text, dtype=np.int64, sep=","))))
            last = (step, rows)

    def read_or_stop(reader: Callable[[], None]) -> None:
        try:
            reader()
        except BaseException:
            ranges.stop()  # the other reader takes no new range: the scan has failed
            raise

    def read_beside() -> None:
        assert helper is not None
        with helper() as other:  # opened in its thread: a connection stays in one thread
            read(other)

    if helper is None:
        read(conn)
    else:
        with ThreadPoolExecutor(1) as pool:
            beside = pool.submit(read_or_stop, read_beside)
            read_or_stop(lambda: read(conn))
            beside.result()  # an error in the other reader is the scan's
    done.sort(key=lambda item: item[0])
    return [result for _, result in done]


def place_ids(out: np.ndarray, packed: np.ndarray) -> None:
    """Put ``(id << 32) | value`` rows into ``out`` as ``value - 1`` at ``id - 1``."""
    out[(packed >> 32) - 1] = (packed & 0xFFFFFFFF) - 1


def _id_map(conn: sqlite3.Connection, sql: str, n: int, helper: Reader | None) -> np.ndarray:
    """``(id << 32) | value`` rows as an int32 array ``value - 1`` indexed by ``id - 1``."""
    out = np.zeros(n, dtype=np.int32)
    _scan(conn, sql, n, lambda packed: place_ids(out, packed), helper)
    return out


def graph_arrays(
    counts: tuple[int, int, int],
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    redirects: np.ndarray,
    url_host: np.ndarray,
    host_domain: np.ndarray,
) -> GraphArrays:
    """The graph of ``(urls, hosts, domains)`` counts, :func:`distinct_pairs`'s
    ``(src, dst, follow)`` and the ``(source << 32) | target`` rows of the redirects."""
    return GraphArrays(
        *counts,
        *pairs,
        ((redirects >> 32) - 1).astype(np.int32),
        ((redirects & 0xFFFFFFFF) - 1).astype(np.int32),
        url_host,
        host_domain,
    )


def distinct_pairs(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``target << 33 | source << 1 | follow`` rows to distinct (source, target) pairs,
    follow when any row of the pair is."""
    pair = packed >> 1
    if pair.size > 1 and np.any(pair[1:] < pair[:-1]):  # not in key order: group by sorting
        packed = np.sort(packed)
        pair = packed >> 1
    first = np.ones(pair.size, dtype=bool)
    np.not_equal(pair[1:], pair[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    follow = np.logical_or.reduceat((packed & 1).astype(bool), starts) if starts.size else first
    pair = pair[starts]
    src = ((pair & 0xFFFFFFFF) - 1).astype(np.int32)
    dst = ((pair >> 32) - 1).astype(np.int32)
    return src, dst, follow


# The packed row of the links scan: ``target << 33 | internal << 32 | redirect << 31 |
# source << 1 | follow`` (ids stay below 2**30, so the two middle bits are free).
_INTERNAL_BIT = 1 << 32
_REDIRECT_BIT = 1 << 31
# ``flags`` bits moved to bits 32 (internal) and 31 (a redirect: kind 1; kinds 0 and 1
# are read, whose bit 1 is clear), read from ``flags`` itself: through the generated
# ``kind`` column it cost 0.2 s more per scan of the 10M-link store.
_INTERNAL_SHIFT = 32 - (FLAG_INTERNAL.bit_length() - 1)
_LINKS_SQL = (
    f"SELECT (target_id << 33) | ((flags & {FLAG_INTERNAL}) << {_INTERNAL_SHIFT})"
    f" | ((flags & {1 << KIND_SHIFT}) << {31 - KIND_SHIFT})"
    f" | (source_id << 1) | ((flags & {NOT_FOLLOW_FLAGS}) = 0) AS packed FROM links"
    " WHERE target_id >= ? AND target_id < ?"
    f" AND (flags & {2 << KIND_SHIFT}) = 0 AND lost_at IS NULL"
)


class _Part:
    """What one key range of the links scan holds: its distinct pairs, its redirect rows
    (``source << 32 | target``) and its hubs (store ids)."""

    __slots__ = ("hubs", "pairs", "redirects")

    def __init__(self, packed: np.ndarray, hub_links: int) -> None:
        kind = (packed & _REDIRECT_BIT) != 0
        if kind.any():
            red = packed[kind]
            self.redirects = (((red >> 1) & MAX_PACKED_ID) << 32) | (red >> 33)
            packed = packed[~kind]
        else:
            self.redirects = np.zeros(0, np.int64)
        del kind
        self.hubs = _hubs(packed, hub_links) if packed.size >= hub_links else np.zeros(0, np.int64)
        np.bitwise_and(packed, ~_INTERNAL_BIT, out=packed)  # a pair is a pair, internal or not
        self.pairs = distinct_pairs(packed)


def _hubs(packed: np.ndarray, hub_links: int) -> np.ndarray:
    """The targets (store ids) of at least ``hub_links`` of these links that are not
    internal: :mod:`storage.inlinks`' hubs, counted as its own query counts them."""
    target = packed[(packed & _INTERNAL_BIT) == 0] >> 33
    if target.size > 1 and np.any(target[1:] < target[:-1]):
        target.sort()
    starts = np.flatnonzero(run_starts(target))
    runs = np.diff(np.append(starts, target.size))
    return target[starts[runs >= hub_links]]


def load_graph(
    conn: sqlite3.Connection, *, helper: Reader | None = None, hubs: list[int] | None = None
) -> GraphArrays:
    """Read every current link and the URL → host → domain maps into arrays.

    Lost links (``lost_at`` set: the page dropped them or stopped counting) are left out,
    so nothing ranked or exported as a graph passes authority through a link that is gone.
    ``helper`` opens another read connection to the same store, for a second thread.
    ``hubs``, when given, is filled with the store ids of the URLs that are hubs
    (:data:`storage.inlinks.HUB_LINKS` counted links or more), counted from the rows read:
    ``linkgraph rank`` then chooses the hubs without a scan of its own.

    Links and redirects come from one scan (redirect rows are rare): a second pass over
    the table for the redirects cost 0.65 s on the 10M-link store, and the hubs' 1.5 s.
    """
    n_urls = conn.execute("SELECT coalesce(max(id), 0) FROM urls").fetchone()[0]
    check_packable(n_urls)
    n_hosts = conn.execute("SELECT coalesce(max(id), 0) FROM hosts").fetchone()[0]
    n_domains = conn.execute("SELECT coalesce(max(id), 0) FROM domains").fetchone()[0]
    url_host = _id_map(
        conn,
        "SELECT (id << 32) | host_id AS packed FROM urls WHERE id >= ? AND id < ?",
        n_urls,
        helper,
    )
    host_domain = _id_map(
        conn,
        "SELECT (id << 32) | domain_id AS packed FROM hosts WHERE id >= ? AND id < ?",
        n_hosts,
        helper,
    )

    # Ranges of target ids never split a pair, nor a hub's links.
    parts = _scan(conn, _LINKS_SQL, n_urls, lambda packed: _Part(packed, HUB_LINKS), helper)
    src, dst, follow = (
        (np.concatenate([p.pairs[i] for p in parts]) for i in range(3))
        if parts
        else (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, bool))
    )
    redirects = np.concatenate([p.redirects for p in parts] + [np.zeros(0, np.int64)])
    redirects.sort()  # by source, as REDIRECTS_SQL gives them
    if hubs is not None:
        hubs.extend(np.concatenate([p.hubs for p in parts] + [np.zeros(0, np.int64)]).tolist())
    del parts
    if redirects.size > 1 and np.any((redirects[1:] >> 32) == (redirects[:-1] >> 32)):
        # A page with two current redirects (a store written before recrawls marked
        # redirect hops lost): the latest one counts, which SQL chooses.
        text = conn.execute(f"SELECT group_concat(packed) FROM ({REDIRECTS_SQL})").fetchone()[0]
        redirects = np.fromstring(text, dtype=np.int64, sep=",")
    return graph_arrays(
        (n_urls, n_hosts, n_domains), (src, dst, follow), redirects, url_host, host_domain
    )


def clear_scores(conn: sqlite3.Connection, level: str) -> list[str]:
    """Empty ``level``'s score table and drop its indexes, in the caller's transaction;
    the indexes' definitions, for :func:`write_scores` to build them again."""
    table, _ = LEVEL_SCORES[level]
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        " AND sql IS NOT NULL",
        (table,),
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(f"DELETE FROM {table}")
    return [sql for _, sql in indexes]


def write_scores(
    conn: sqlite3.Connection,
    level: str,
    *,
    pagerank: np.ndarray,
    authority: np.ndarray,
    backlinks: np.ndarray,
    referring_domains: np.ndarray,
    trust: np.ndarray | None = None,
    harmonic: np.ndarray | None = None,
    ids: np.ndarray | None = None,
    cleared: list[str] | None = None,
) -> None:
    """Replace one level's score table (indexes are 0-based ids; rows get id + 1; or,
    for a graph renumbered past gaps in the ids, :mod:`storage.nodeids`, ``ids[i] + 1``).

    Runs inside the caller's transaction, so all levels change together or not at all.
    The table is emptied first and its indexes dropped (:func:`clear_scores`; ``cleared``:
    the index definitions it gave, when the caller has emptied the table already), and
    the indexes are built again after the insert: updating the ``pagerank`` index row by
    row, in random order, cost 10 s for 2.2M pages, building it once from sorted keys 1-2 s.
    """
    table, key = LEVEL_SCORES[level]
    n = len(pagerank)
    columns = [pagerank, authority, backlinks, referring_domains]
    names = [key, "pagerank", "authority", "backlinks", "referring_domains"]
    if trust is not None:
        columns.append(trust)
        names.append("trust")
    if harmonic is not None and level != "page":
        columns.append(harmonic)
        names.append("harmonic")
    if any(len(column) != n for column in columns):
        raise ValueError(f"{level} score columns differ in length")
    indexes = clear_scores(conn, level) if cleared is None else cleared
    if ids is None:
        # Node i is row i + 1: the rows go in in that order with no key bound, and SQLite
        # numbers them 1, 2, ... (an emptied table's next rowid is 1, then the largest + 1),
        # appending each without the lookup a bound key costs: 0.85 s instead of 1.3 s
        # for the 2.2M pages of the 10M-link store.
        _insert(
            conn, f"INSERT INTO {table}({', '.join(names[1:])}) VALUES ", columns, n, keys=False
        )
        if n and conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] != n:
            raise StoreError(f"{table} was not numbered 1 to {n}")
    else:
        _insert(conn, f"INSERT INTO {table}({', '.join(names)}) VALUES ", columns, n, ids)
    for sql in indexes:
        conn.execute(sql)
    if level == "page":  # its copy beside the links' sources, in the same transaction
        copy_pagerank(conn)


def _insert(
    conn: sqlite3.Connection,
    head: str,
    columns: list[np.ndarray],
    n: int,
    ids: np.ndarray | None = None,
    *,
    keys: bool = True,
) -> None:
    """Insert rows ``(id + 1, *values)`` (``id``: the row's index, or ``ids[index]``),
    many rows per statement; ``keys=False``: rows ``values`` alone, in index order.

    ``executemany`` pays 2-5 µs a row binding its five or six values one row at a time
    (10 s for 2.2M pages); a statement of 1,000 rows binds the same values, exactly, in a
    third of that. The values are converted to Python a slice of rows at a time: whole
    columns as lists would hold 2.2M float objects per column (about 70 MB each) at once.
    """
    first = 1 if keys else 0  # the value column of columns[0]
    k = len(columns) + first
    per = max(1, min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // k))
    row = "(" + ",".join("?" * k) + ")"
    many = head + ",".join([row] * per)
    for start in range(0, n, _WRITE_SLICE):
        stop = min(n, start + _WRITE_SLICE)
        values: list[object] = [None] * ((stop - start) * k)
        if keys:
            values[0::k] = (
                range(start + 1, stop + 1) if ids is None else (ids[start:stop] + 1).tolist()
            )
        for j, column in enumerate(columns, first):
            values[j::k] = column[start:stop].tolist()
        whole = (stop - start) // per * per * k
        for i in range(0, whole, per * k):
            conn.execute(many, values[i : i + per * k])
        if whole < len(values):
            conn.execute(head + ",".join([row] * ((len(values) - whole) // k)), values[whole:])
