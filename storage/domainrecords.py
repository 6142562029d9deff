"""The records of ``referring_domains`` from what the links say of each linking domain:
the table of per-domain numbers both its ways of counting fill (the links, or a hub's
rows counted ahead), the domains' names and scores, and the /24 subnets."""

from __future__ import annotations

import functools
import heapq
import ipaddress
import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .inlinks import Spans
from .queries import iso, lost_reason

__all__ = ["DomainTable", "domain_info", "domain_records", "subnet_24"]


@dataclass
class DomainTable:
    """What the links into a target say of each linking domain (by id): backlinks, follow
    backlinks, first and last seen and addresses; with ``include_lost``, the latest loss
    (``lost_at``, reason) of each and the domains that still have a current link."""

    count: Mapping[int, int]
    follow: Mapping[int, int]
    spans: Spans
    lost: dict[int, tuple[int, int]] = field(default_factory=dict)
    still_current: set[int] = field(default_factory=set)


def domain_info(
    conn: sqlite3.Connection, domain_ids: list[int]
) -> dict[int, tuple[str, float | None, float | None]]:
    """``(name, authority, PageRank)`` of these domains (no score: ``None``)."""
    return {
        did: (name, authority, pagerank)
        for did, name, authority, pagerank in conn.execute(
            "SELECT d.id, d.name, ds.authority, ds.pagerank FROM domains d"
            " LEFT JOIN domain_scores ds ON ds.domain_id = d.id"
            " WHERE d.id IN (SELECT value FROM json_each(?))",
            (json.dumps(domain_ids),),
        )
    }


def domain_order(
    keys: list[tuple[bool, float, int, int]],
    limit: int | None,
    info_of: Callable[[list[int]], Mapping[int, tuple[Any, ...]]],
) -> tuple[list[int], Mapping[int, tuple[Any, ...]]]:
    """The first ``limit`` domains of ``referring_domains``, in order, and their
    ``info_of`` (name first): ``keys`` are (no PageRank, -PageRank, -backlinks, domain id),
    and ties on those go by name, so names are read only for the domains that can make
    the cut."""
    if limit is not None and len(keys) > limit:
        cut = heapq.nsmallest(limit, keys)[-1][:3]
        keys = [k for k in keys if k[:3] <= cut]
    if not keys:
        return [], {}
    info = info_of([k[3] for k in keys])
    order = [k[3] for k in sorted(keys, key=lambda k: (k[:3], info[k[3]][0]))]
    return (order[:limit] if limit is not None else order), info


def domain_records(
    table: DomainTable,
    order: list[int],
    info: Mapping[int, tuple[str, float | None, float | None]],
    *,
    include_lost: bool,
) -> list[dict[str, Any]]:
    """The records of ``referring_domains`` for the domains ``order`` lists, in its order."""
    spans = table.spans
    records = [
        {
            "domain": info[d][0],
            "backlinks": table.count[d],
            "follow_backlinks": table.follow[d],
            "first_seen": iso(spans.first[d]),
            "last_seen": iso(spans.last[d]),
            "authority": info[d][1],
            "ips": sorted(spans.ips.get(d, ())),
        }
        for d in order
    ]
    if include_lost:
        for d, record in zip(order, records, strict=True):
            gone = None if d in table.still_current else table.lost.get(d)
            record["lost_at"] = iso(gone[0]) if gone else None
            record["lost_reason"] = lost_reason(gone[1]) if gone else None
    for record in records:  # last: the field order of the records is part of the output
        record["subnets"] = sorted({subnet_24(ip) for ip in record["ips"]})
    return records


@functools.lru_cache(maxsize=65536)
def subnet_24(ip: str) -> str:
    """The /24 of an IPv4 address (the /48 of an IPv6 one): links from one subnet often
    share an owner, which is why backlink tools count referring subnets."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
