"""Every host's domain and address and every domain's scores and place by name, as arrays
read once: what ``linkgraph serve`` needs to rank a hub's referring domains without a
lookup per linking host.

A hub's rows counted ahead (:mod:`.inlinks`) name linking *hosts*; its referring domains
are those hosts' domains, ranked by the domain's PageRank, backlinks and name. Looking up
the host and the domain's score of each row in SQL (16,054 rows for a URL with 20,659
links on the 10M-link benchmark store) costs more than all the rest of the page. The
arrays hold, by id: a host's domain and its address (an index into :attr:`ips`), an
address's /24 subnet, and a domain's PageRank, authority and places in name order. On
that store (40,000 hosts, 20,000 domains) they take 1.2 MB, read in 0.1-0.4 s.

They are read again when the store changes (``PRAGMA data_version``: another connection
committed), so a page never uses scores or hosts older than its own query's.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import numpy as np

from .domainrecords import subnet_24

__all__ = ["DomainIndex", "current_index"]


@dataclass
class DomainIndex:
    """The arrays, by store id (row 0 unused: ids start at 1)."""

    version: int
    host_domain: np.ndarray  # int64, -1: no such host
    host_ip: np.ndarray  # int64 index into ips, -1: no address
    ips: list[str]
    ip_subnet: np.ndarray  # int64 index of the address's /24 (/48) among the subnets
    domain_pagerank: np.ndarray  # float64, NaN: not ranked
    domain_authority: np.ndarray  # float64, NaN: not ranked
    name_place: np.ndarray  # int64: place of the domain's name in byte order
    lower_place: np.ndarray  # int64: place of its name's lower case
    build_seconds: float = 0.0

    @property
    def nbytes(self) -> int:
        arrays = (
            self.host_domain,
            self.host_ip,
            self.ip_subnet,
            self.domain_pagerank,
            self.domain_authority,
            self.name_place,
            self.lower_place,
        )
        return sum(a.nbytes for a in arrays) + sum(len(ip) + 49 for ip in self.ips)

    def knows(self, host_ids: np.ndarray) -> bool:
        """Whether every one of these hosts (and so its domain) is in the arrays."""
        if not len(host_ids):
            return True
        if int(host_ids.max()) >= len(self.host_domain):
            return False
        domains = self.host_domain[host_ids]
        return bool((domains >= 0).all()) and int(domains.max()) < len(self.name_place)


def _load(conn: sqlite3.Connection, version: int) -> DomainIndex:
    started = time.perf_counter()
    hosts = conn.execute("SELECT id, domain_id, ip FROM hosts").fetchall()
    size = max((h for h, _, _ in hosts), default=0) + 1
    host_domain = np.full(size, -1, dtype=np.int64)
    host_ip = np.full(size, -1, dtype=np.int64)
    ip_ids: dict[str, int] = {}
    for host, domain, ip in hosts:
        host_domain[host] = domain
        if ip is not None:
            host_ip[host] = ip_ids.setdefault(ip, len(ip_ids))
    ips = list(ip_ids)
    subnet_ids: dict[str, int] = {}
    ip_subnet = np.array(
        [subnet_ids.setdefault(subnet_24(ip), len(subnet_ids)) for ip in ips], dtype=np.int64
    )
    domains = conn.execute(
        "SELECT d.id, d.name, ds.pagerank, ds.authority FROM domains d"
        " LEFT JOIN domain_scores ds ON ds.domain_id = d.id"
    ).fetchall()
    size = max((d for d, _, _, _ in domains), default=0) + 1
    pagerank = np.full(size, np.nan)
    authority = np.full(size, np.nan)
    name_place = np.full(size, -1, dtype=np.int64)
    lower_place = np.full(size, -1, dtype=np.int64)
    for d, _, pr, auth in domains:
        pagerank[d] = np.nan if pr is None else pr
        authority[d] = np.nan if auth is None else auth
    for place, (d, _, _, _) in enumerate(sorted(domains, key=lambda r: r[1])):
        name_place[d] = place
    for place, (d, _, _, _) in enumerate(sorted(domains, key=lambda r: (r[1].lower(), r[1]))):
        lower_place[d] = place
    return DomainIndex(
        version,
        host_domain,
        host_ip,
        ips,
        ip_subnet,
        pagerank,
        authority,
        name_place,
        lower_place,
        build_seconds=time.perf_counter() - started,
    )


def current_index(conn: sqlite3.Connection, previous: DomainIndex | None) -> DomainIndex:
    """The arrays of the store ``conn`` reads: ``previous`` while the store is unchanged
    since it was read, else read again."""
    version = conn.execute("PRAGMA data_version").fetchone()[0]
    if previous is not None and previous.version == version:
        return previous
    return _load(conn, version)
