"""Moving the link graph between the store and numpy arrays, for ``graph/`` to rank.

``graph/`` does no I/O; this module is its only bridge to SQLite. Node ids are the
store's own ids minus one (ids are dense: rows are never deleted), so arrays index
directly and results go back without a mapping table.

Reading speed matters on a store of ten million links: a row per Python tuple costs
about 1.5 µs, so each query packs what it needs into one integer per row
(``source << 32 | target``), which SQLite computes in C and numpy unpacks in bulk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .vocab import LEVEL_SCORES, NOT_FOLLOW_FLAGS

__all__ = ["GraphArrays", "load_graph", "write_scores"]


@dataclass(slots=True)
class GraphArrays:
    """The link graph of a store as arrays (all ids are 0-based: store id - 1).

    ``src``/``dst``: distinct (source page, target URL) pairs of current links of kind
    ``link`` — the backlinks — with ``follow`` true when any current link of the pair is
    followable. ``redirect_src``/``redirect_dst``: current redirect hops. ``url_host`` maps URL → host,
    ``host_domain`` host → domain.
    """

    n_urls: int
    n_hosts: int
    n_domains: int
    src: np.ndarray
    dst: np.ndarray
    follow: np.ndarray
    redirect_src: np.ndarray
    redirect_dst: np.ndarray
    url_host: np.ndarray
    host_domain: np.ndarray

    @property
    def url_domain(self) -> np.ndarray:
        return self.host_domain[self.url_host]


def _ints(conn: sqlite3.Connection, sql: str, params: Iterable[object] = ()) -> np.ndarray:
    cur = conn.execute(sql, tuple(params))
    return np.fromiter((v for (v,) in cur), dtype=np.int64)


def load_graph(conn: sqlite3.Connection) -> GraphArrays:
    """Read every current link and the URL → host → domain maps into arrays.

    Lost links (``lost_at`` set: the page dropped them or stopped counting) are left out,
    so nothing ranked or exported as a graph passes authority through a link that is gone.
    """
    n_urls = conn.execute("SELECT coalesce(max(id), 0) FROM urls").fetchone()[0]
    n_hosts = conn.execute("SELECT coalesce(max(id), 0) FROM hosts").fetchone()[0]
    n_domains = conn.execute("SELECT coalesce(max(id), 0) FROM domains").fetchone()[0]

    url_host = np.zeros(n_urls, dtype=np.int32)
    packed = _ints(conn, "SELECT (id << 32) | host_id FROM urls")
    url_host[(packed >> 32) - 1] = (packed & 0xFFFFFFFF) - 1
    host_domain = np.zeros(n_hosts, dtype=np.int32)
    packed = _ints(conn, "SELECT (id << 32) | domain_id FROM hosts")
    host_domain[(packed >> 32) - 1] = (packed & 0xFFFFFFFF) - 1

    # Lowest bit: this link is followable. A pair is follow when any of its links is.
    packed = _ints(
        conn,
        f"SELECT (source_id << 33) | (target_id << 1) | ((flags & {NOT_FOLLOW_FLAGS}) = 0)"
        " FROM links WHERE kind = 0 AND lost_at IS NULL",
    )
    packed.sort()
    pair = packed >> 1
    last_of_pair = np.ones(len(pair), dtype=bool)
    last_of_pair[:-1] = pair[1:] != pair[:-1]
    # Sorted ascending, so the last entry of a pair has follow=1 if any entry does.
    kept = packed[last_of_pair]
    src = ((kept >> 33) - 1).astype(np.int32)
    dst = (((kept >> 1) & 0xFFFFFFFF) - 1).astype(np.int32)
    follow = (kept & 1).astype(bool)

    # One redirect per page: the latest current one (a store written before recrawls
    # marked redirect hops lost may hold an older one beside it).
    packed = _ints(
        conn,
        "SELECT (source_id << 32) | target_id FROM (SELECT source_id, target_id, max(coalesce(last_seen, first_seen))"
        " FROM links WHERE kind = 1 AND lost_at IS NULL GROUP BY source_id)",
    )
    redirect_src = ((packed >> 32) - 1).astype(np.int32)
    redirect_dst = ((packed & 0xFFFFFFFF) - 1).astype(np.int32)
    return GraphArrays(
        n_urls,
        n_hosts,
        n_domains,
        src,
        dst,
        follow,
        redirect_src,
        redirect_dst,
        url_host,
        host_domain,
    )


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
) -> None:
    """Replace one level's score table (indexes are 0-based ids; rows get id + 1).

    Runs inside the caller's transaction, so all levels change together or not at all.
    """
    table, key = LEVEL_SCORES[level]
    n = len(pagerank)
    ids = range(1, n + 1)
    columns = [
        ids,
        pagerank.tolist(),
        authority.tolist(),
        backlinks.tolist(),
        referring_domains.tolist(),
    ]
    names = [key, "pagerank", "authority", "backlinks", "referring_domains"]
    if trust is not None:
        columns.append(trust.tolist())
        names.append("trust")
    if harmonic is not None and level != "page":
        columns.append(harmonic.tolist())
        names.append("harmonic")
    conn.execute(f"DELETE FROM {table}")
    conn.executemany(
        f"INSERT INTO {table}({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        zip(*columns, strict=True),
    )
