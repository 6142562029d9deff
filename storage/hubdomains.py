"""The referring domains of hub URLs as arrays: from the hub's rows counted ahead (a row
per linking host, :mod:`.inlinks`) and the store's :class:`~.domainindex.DomainIndex`,
grouped, ranked and sorted by numpy instead of a Python step per row.

What it answers is exactly what :func:`.backlinks.linking_domains` and
:func:`.backlinks.referring_domains` derive from the same rows (the default filter, hub
targets only): each domain's backlinks, follow backlinks, first and last seen and
addresses, in ``referring_domains``' order (PageRank, none last; backlinks; name); the
records of a page are built by :func:`.backlinks.domain_records` from those rows.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from .domainindex import DomainIndex
from .domainrecords import DomainTable, domain_info, domain_records
from .inlinks import Spans
from .records import Target

__all__ = ["HubDomains", "hub_domains"]


@dataclass
class HubDomains:
    """A hub target's linking domains: ``ids`` in ``referring_domains``' order, and per
    domain (same positions) its numbers; per row of the hub, its host and the position
    of its domain."""

    index: DomainIndex
    ids: np.ndarray
    backlinks: np.ndarray
    follow: np.ndarray
    first: np.ndarray
    last: np.ndarray
    rows: np.ndarray  # a row of the hub's: host, backlinks, follow, first, last
    row_position: np.ndarray  # the position in ``ids`` of each row's domain

    def _distinct_per_domain(self, values: np.ndarray) -> np.ndarray:
        """How many distinct non-negative ``values`` (one per row) each domain has."""
        keep = values >= 0
        pairs = np.unique(np.stack([self.row_position[keep], values[keep]]), axis=1)
        return np.bincount(pairs[0], minlength=len(self.ids))

    def addresses(self) -> tuple[int, int]:
        """Distinct addresses of the linking hosts, and their /24 (/48) subnets."""
        ips = np.unique(self.index.host_ip[self.rows[:, 0]])
        ips = ips[ips >= 0]
        return len(ips), len(np.unique(self.index.ip_subnet[ips]))

    def values(self, column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A record column's value per domain (as numbers sorting as the record's do) and
        whether it is empty; ``None`` for a column not of these records."""
        index = self.index
        if column == "domain":
            return index.lower_place[self.ids], np.zeros(len(self.ids), dtype=bool)
        if column in ("backlinks", "follow_backlinks", "first_seen", "last_seen"):
            array = {
                "backlinks": self.backlinks,
                "follow_backlinks": self.follow,
                "first_seen": self.first,
                "last_seen": self.last,
            }[column]
            return array, np.zeros(len(self.ids), dtype=bool)
        if column == "authority":
            authority = index.domain_authority[self.ids]
            return authority, np.isnan(authority)
        if column in ("ips", "subnets"):
            ips = index.host_ip[self.rows[:, 0]]
            if column == "subnets":
                ips = np.append(index.ip_subnet, -1)[ips]  # no address (-1): no subnet
            counts = self._distinct_per_domain(ips)
            return counts, counts == 0
        return None

    def order(self, column: str, descending: bool) -> np.ndarray | None:
        """Positions of the domains sorted by ``column`` (ties in the list's order, empty
        values last); ``None`` for an unknown column."""
        found = self.values(column)
        if found is None:
            return None
        values, empty = found
        present = np.flatnonzero(~empty)
        keys = values[present].astype(np.float64)
        present = present[np.argsort(-keys if descending else keys, kind="stable")]
        return np.concatenate([present, np.flatnonzero(empty)])

    def records(self, positions: np.ndarray, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        """The ``referring_domains`` records of the domains at ``positions``, in order."""
        chosen = [int(d) for d in self.ids[positions]]
        spans = Spans()
        ips = self.index.ips
        rows = np.flatnonzero(np.isin(self.row_position, positions))
        for (host, _, _, seen_first, seen_last), at in zip(
            self.rows[rows].tolist(), self.row_position[rows].tolist(), strict=True
        ):
            ip = self.index.host_ip[host]
            spans.note(int(self.ids[at]), seen_first, seen_last, ips[ip] if ip >= 0 else None)
        table = DomainTable(
            {int(self.ids[p]): int(self.backlinks[p]) for p in positions},
            {int(self.ids[p]): int(self.follow[p]) for p in positions},
            spans,
        )
        return domain_records(table, chosen, domain_info(conn, chosen), include_lost=False)


def hub_domains(conn: sqlite3.Connection, target: Target, index: DomainIndex) -> HubDomains | None:
    """The linking domains of the hub URLs of ``target`` (the caller has checked they are
    hubs and the filter is the default); ``None`` when a row names a host the index does
    not know (written since it was read)."""
    rows = conn.execute(
        "SELECT r.host_id, r.backlinks, r.follow_backlinks, r.first_seen,"
        " coalesce(r.last_seen, r.first_seen) FROM hub_inlinks r"
        f" WHERE r.target_id IN ({target.url_ids_sql})",
        target.params,
    ).fetchall()
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=5 * len(rows))
    table = flat.reshape(len(rows), 5)
    hosts = table[:, 0]
    if not index.knows(hosts):
        return None
    domains = index.host_domain[hosts]
    ids, position = np.unique(domains, return_inverse=True)
    count = len(ids)
    backlinks = np.bincount(position, weights=table[:, 1], minlength=count).astype(np.int64)
    follow = np.bincount(position, weights=table[:, 2], minlength=count).astype(np.int64)
    first = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(first, position, table[:, 3])
    last = np.full(count, np.iinfo(np.int64).min)
    np.maximum.at(last, position, table[:, 4])
    # referring_domains' order: PageRank (none last), then backlinks, then name.
    pagerank = index.domain_pagerank[ids]
    ranked = np.lexsort(
        (index.name_place[ids], -backlinks, -np.nan_to_num(pagerank), np.isnan(pagerank))
    )
    place = np.empty(count, dtype=np.int64)
    place[ranked] = np.arange(count)
    return HubDomains(
        index,
        ids[ranked],
        backlinks[ranked],
        follow[ranked],
        first[ranked],
        last[ranked],
        table,
        place[position],
    )
