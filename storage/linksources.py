"""What the backlink queries need of every page that has links, one narrow row a page:
its registrable domain, and its PageRank as of the last ``linkgraph rank``.

``anchors`` counts the distinct domains linking with each anchor text, so it needs the
domain of every linking page; ``backlinks`` sorts the links by the linking page's
PageRank. A link row holds the page, not its domain or score, and looking those up in
``urls`` (2.2M rows of about 90 bytes on the 10M-link benchmark store) or
``page_scores`` (2.2M rows, 65 MB) reads a page of a large table per link: 10-20 ms at
10,000 links, about as much as the rest of the query. ``link_sources`` holds the 250,000
pages with links in 5 MB (0.5 bytes a link there), whose B-tree stays in the page cache
after a few hundred lookups.

Each row is exact at every commit, for a reason of its own:

- ``domain_id``: a URL's domain never changes (a URL keeps its host, a host its
  domain), so a row, once written, is never stale;
- ``pagerank``: a copy of ``page_scores.pagerank`` (NULL where it has none), and only
  :func:`copy_pagerank`, run by :func:`.graphload.write_scores` in the transaction that
  replaces ``page_scores``, and :func:`add_sources` change either.

Rows are added where links are: the migration to this schema adds every page that had
links, :func:`add_sources` the new ones of each batch, in the transaction that writes
their first links (:mod:`.commit`, the one place links are inserted). Every source of a
link has its row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .queued import QueuedStatements

__all__ = [
    "JOIN_LINK_SOURCE",
    "KnownSources",
    "add_sources",
    "copy_pagerank",
    "fill",
    "new_sources",
]

# The linking page's row as ``src``, for queries over ``links l``. LEFT: a page without
# its row (which the writes never leave) would lose its domain or score, not its links.
JOIN_LINK_SOURCE = "LEFT JOIN link_sources src ON src.url_id = l.source_id"
# Pages an import's writer remembers as having their row (KnownSources): 80 MB.
MAX_SOURCES = 10_000_000


def new_sources(
    link_keys: Iterable[tuple[int, ...]],
    urls: Iterable[tuple[int, int]],
    known: Iterable[int],
    edge_sources: np.ndarray,
    edge_hosts: np.ndarray,
) -> np.ndarray:
    """``(URL id, host id)`` rows, an ``(n, 2)`` array in id order, each page once: the
    pages of a batch's links that had none before, the sources of ``link_keys``
    (``target, source, ...``) among ``urls`` (the batch's URLs, ``(id, host)`` each), and
    the sources of an import's edges (two arrays, a value an edge), less the pages in
    ``known``."""
    import numpy as np  # here: the queries import this module, and no numpy at start-up

    had = set(known)
    linking = {key[1] for key in link_keys}
    found = [url for url in urls if url[0] in linking and url[0] not in had]
    rows = np.concatenate(
        [
            np.array(found, dtype=np.int64).reshape(-1, 2),
            np.column_stack([edge_sources, edge_hosts]).astype(np.int64, copy=False),
        ]
    )
    if had:
        rows = rows[~np.isin(rows[:, 0], np.fromiter(had, np.int64, len(had)))]
    _, first = np.unique(rows[:, 0], return_index=True)  # a URL has one host
    return rows[first]


class KnownSources:
    """URL ids of pages whose row is committed, as an import's writer learns them: a
    batch gives rows only to the sources not here. At a million links two sources in
    five of a batch had their row from an earlier batch, and each ``INSERT OR IGNORE``
    probe cost SQLite about as much as an insert (``link_sources`` was the largest
    statement of the load).

    The ids are exactly a subset of the pages with a row: filled from committed batches
    only (the writer adds a batch's sources after its COMMIT: a rolled-back batch's rows
    are not in the store), and no write removes a row (``fill`` replaces rows, never
    drops one). Past :data:`MAX_SOURCES` nothing more is added, which only costs
    probes. One sorted int64 array, 8 bytes a page."""

    def __init__(self) -> None:
        import numpy as np

        self._ids = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def unknown(self, rows: np.ndarray) -> np.ndarray:
        """Of ``(URL id, host id)`` rows (:func:`new_sources`), those whose page is not
        known to have its row."""
        ids = self._ids
        if not len(ids) or not len(rows):
            return rows
        at = ids.searchsorted(rows[:, 0])
        at[at == len(ids)] = 0  # past the end: compared with ids[0], no match
        return rows[ids[at] != rows[:, 0]]

    def add(self, ids: np.ndarray) -> None:
        """Record pages that have their row (a committed batch's sources, ascending,
        distinct, none known already: :meth:`unknown` of :func:`new_sources`' rows)."""
        if not len(ids) or len(self._ids) + len(ids) > MAX_SOURCES:
            return
        # A linear merge of two sorted arrays (the new ids go where searchsorted puts
        # them), not a sort of both: the known ids are most of it.
        import numpy as np

        self._ids = np.insert(self._ids, self._ids.searchsorted(ids), ids)


async def add_sources(
    conn: Any,
    rows: np.ndarray,
    known: KnownSources | None = None,
    queue: QueuedStatements | None = None,
) -> np.ndarray:
    """Give these pages, ``(URL id, host id)`` rows (:func:`new_sources`), their rows if
    they have none yet (an aiosqlite connection inside the batch's transaction), less
    those ``known`` to have one; returns the URL ids of the pages given a row. With
    ``queue``, the statements are queued there (:mod:`.queued`), not awaited. The batch
    knows each page's host: no lookup of ``urls``, which an import into an empty store
    never makes. As bound values: a JSON array of an import's hundred thousand pages a
    batch, encoded on the event loop's thread and parsed again in SQLite, took twice the
    CPU."""
    if known is not None:
        rows = known.unknown(rows)
    from .queued import execute_rows  # aiosqlite's: not for the readers of this module

    await execute_rows(
        conn,
        lambda n: "INSERT OR IGNORE INTO link_sources(url_id, domain_id, pagerank)"
        " SELECT v.column1, h.domain_id, ps.pagerank FROM (VALUES "
        + ",".join(["(?,?)"] * n)
        + ") v JOIN hosts h ON h.id = v.column2"
        " LEFT JOIN page_scores ps ON ps.url_id = v.column1",
        rows,
        queue,
    )
    return rows[:, 0]


def copy_pagerank(conn: Any) -> None:
    """Copy ``page_scores.pagerank`` into every row (a sqlite3 connection, inside the
    transaction that has just replaced ``page_scores``)."""
    conn.execute(
        "UPDATE link_sources SET pagerank ="
        " (SELECT ps.pagerank FROM page_scores ps WHERE ps.url_id = link_sources.url_id)"
    )


def fill(conn: Any) -> None:
    """Give every page with links its row, from the links (a sqlite3 connection in a
    transaction): for a store whose links were written around the writer, a copy from
    another backend (:mod:`.pg.copy`). The migration to this schema does the same."""
    conn.execute(
        "INSERT OR REPLACE INTO link_sources(url_id, domain_id, pagerank)"
        " SELECT s.id, h.domain_id, ps.pagerank FROM (SELECT DISTINCT source_id AS id FROM links) x"
        " JOIN urls s ON s.id = x.id JOIN hosts h ON h.id = s.host_id"
        " LEFT JOIN page_scores ps ON ps.url_id = s.id"
    )
