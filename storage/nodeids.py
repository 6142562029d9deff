"""Store ids with gaps, and the dense node numbers ranking needs.

The link graph's arrays number nodes by store id - 1 (:mod:`storage.graphload`), and
PageRank counts every number up to the highest id as a node: each one gets its share of
the teleport and, without links, passes its mass on as a dangling node. A SQLite store
never leaves a gap (rows are never deleted, ``INSERT OR IGNORE`` takes no id), but a
PostgreSQL store does: an identity column takes a value for every row an ``INSERT ... ON
CONFLICT DO NOTHING`` proposes, kept or not, so a crawl into it leaves ids unused, and a
copy keeps them. Ranked with the gaps as nodes, the scores would differ from the same
links ranked in a store without them. :func:`compact` renumbers the nodes densely;
:class:`NodeIds` maps them back for the score tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from linkgraph.graph.ranking import LinkArrays

from .vocab import LEVEL_NAMES

__all__ = ["COUNT_SQL", "NodeIds", "compact", "present_ids", "stored_nodes"]

# The 0-based ids (store id - 1) of one table's rows, in order: ``integers(sql)`` runs a
# query of one integer column and returns it as an int64 array.
_IDS_SQL = {
    "page": "SELECT id - 1 FROM urls ORDER BY id",
    "host": "SELECT id - 1 FROM hosts ORDER BY id",
    "domain": "SELECT id - 1 FROM domains ORDER BY id",
}
# The rows of urls, hosts and domains, for :func:`present_ids`.
COUNT_SQL = (
    "SELECT (SELECT count(*) FROM urls), (SELECT count(*) FROM hosts),"
    " (SELECT count(*) FROM domains)"
)


@dataclass(frozen=True, slots=True)
class NodeIds:
    """Per level, the 0-based store id of node ``i`` (sorted, as nodes are numbered)."""

    page: np.ndarray
    host: np.ndarray
    domain: np.ndarray

    def of(self, level: str) -> np.ndarray:
        return {"page": self.page, "host": self.host, "domain": self.domain}[level]

    def nodes(self, level: str, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """The node numbers of these 0-based store ids of ``level``, and which ids are
        nodes at all (a row stored after the graph was read is not): ``numbers[found]``
        are the numbers of ``ids[found]``."""
        have = self.of(level)
        ids = np.asarray(ids, dtype=np.int64)
        at = np.searchsorted(have, ids)
        found = at < len(have)
        found[found] = have[at[found]] == ids[found]
        return at.astype(np.int64), found


def present_ids(
    g: LinkArrays,
    counts: tuple[int, int, int],
    integers: Callable[[str], np.ndarray],
) -> NodeIds | None:
    """The ids a graph's nodes stand for where the store's ids have gaps, else ``None``.

    ``counts``: the rows of urls, hosts and domains (:data:`COUNT_SQL`); ``integers`` reads
    a query's one integer column (the ids are read only where there are gaps).
    """
    if counts == (g.n_urls, g.n_hosts, g.n_domains):
        return None
    return NodeIds(*(integers(_IDS_SQL[level]) for level in ("page", "host", "domain")))


def compact(g: LinkArrays, ids: NodeIds) -> LinkArrays:
    """The same graph with its nodes numbered densely (node ``i`` of a level is store id
    ``ids.of(level)[i] + 1``): no number stands for an id no row has. The numbering keeps
    the ids' order, so pairs sorted by target stay sorted."""

    def renumber(values: np.ndarray, level: str) -> np.ndarray:
        return np.searchsorted(ids.of(level), values).astype(np.int32)

    return replace(
        g,
        n_urls=len(ids.page),
        n_hosts=len(ids.host),
        n_domains=len(ids.domain),
        src=renumber(g.src, "page"),
        dst=renumber(g.dst, "page"),
        redirect_src=renumber(g.redirect_src, "page"),
        redirect_dst=renumber(g.redirect_dst, "page"),
        url_host=renumber(g.url_host[ids.page], "host"),
        host_domain=renumber(g.host_domain[ids.host], "domain"),
    )


def stored_nodes(conn: Any, level: str) -> tuple[np.ndarray, dict[str, int]]:
    """The 0-based store ids of a level's rows in id order, and each name's node number
    (its place in that order): scores computed elsewhere (``linkgraph import-scores``)
    are matched to the store through it, on either backend's connection."""
    table, column = LEVEL_NAMES[level]
    rows = conn.execute(f"SELECT id - 1, {column} FROM {table} ORDER BY id").fetchall()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    return ids, {row[1]: i for i, row in enumerate(rows)}
