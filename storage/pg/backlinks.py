"""The backlink queries on PostgreSQL: inbound links, referring domains, anchors, top
lists and the link gap, with the same definitions and answers as :mod:`storage.backlinks`.

A target is read by the SQLite store's own :func:`storage.backlinks.resolve_target` (one
reading of URLs, hosts and domains for both backends), then given PostgreSQL SQL by
:func:`pg_target`. The records are built by the same functions as SQLite's
(:func:`storage.queries.link_record`, :class:`storage.inlinks.Spans`); where the SQLite
query leaves an order to its plan, this one names a tie-break (the links' primary key).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

from .. import backlinks as _sqlite
from ..anchortexts import anchor_records
from ..backlinks import TargetError, link_filters, subnet_24
from ..backlinks import resolve_target as read_target
from ..dialect import POSTGRES
from ..domainrecords import domain_order
from ..inlinks import Spans
from ..interface import LinkFilter
from ..queries import LOST_COLUMNS, iso, link_record, lost_reason
from ..records import Target
from ..vocab import NOT_FOLLOW_FLAGS
from .queries import BYTEWISE

__all__ = [
    "anchors",
    "backlinks",
    "intersect",
    "pg_target",
    "referring_domains",
    "resolve_target",
    "top",
]

_PAIR = "((l.source_id << 32) | l.target_id)"
_SOURCE_HOST = "JOIN hosts sh ON sh.id = s.host_id"
_LINK_KEY = ("target_id", "source_id", "kind", "anchor_id", "placement", "rel_id", "flags")


def pg_target(target: Target) -> Target:
    """A target resolved for SQLite, with PostgreSQL SQL finding the same URLs."""
    by_host = "SELECT id FROM urls WHERE host_id = (SELECT id FROM hosts WHERE name = %s)"
    p = target.params
    if target.mode == "exact":
        sql, params = "SELECT id FROM urls WHERE hash = %s AND url = %s", p
    elif target.mode == "prefix":  # (host, length of the prefix, the prefix)
        sql, params = f"{by_host} AND left(url, %s) = %s", p
    elif target.mode == "host":
        sql, params = by_host, p
    else:  # domain: (domain, host, "*." + host): the name and every subdomain of it
        suffix = p[2][1:]
        sql = (
            "SELECT u.id FROM urls u WHERE u.host_id IN (SELECT h.id FROM hosts h"
            " WHERE h.domain_id = (SELECT id FROM domains WHERE name = %s)"
            " AND (h.name = %s OR right(h.name, %s) = %s))"
        )
        params = (p[0], p[1], len(suffix), suffix)
    return Target(target.text, target.mode, target.domain, sql, tuple(params))


def resolve_target(conn: Any, target: str, mode: str | None = None) -> Target:
    """``target`` as the user wrote it, resolved for the PostgreSQL store."""
    return pg_target(read_target(conn, target, mode))


def backlinks(
    conn: Any,
    target: Target,
    where: LinkFilter,
    *,
    limit: int | None = 100,
    sort: str = "authority",
) -> list[dict[str, Any]]:
    """The links into a target, as :func:`storage.backlinks.backlinks` gives them."""
    condition, params = link_filters(target, where, POSTGRES)
    order = {
        "authority": "ps.pagerank IS NULL, ps.pagerank DESC, l.first_seen DESC",
        "first_seen": "l.first_seen DESC, ps.pagerank IS NULL, ps.pagerank DESC",
    }.get(sort)
    if order is None:
        raise TargetError(f"unknown sort {sort!r}: use authority or first_seen")
    order += "".join(f", l.{column}" for column in _LINK_KEY)
    lost = f", {LOST_COLUMNS}" if where.include_lost else ""
    inner = (
        "SELECT l.target_id, l.source_id, l.anchor_id, l.rel_id, l.flags, l.placement, l.kind,"
        " l.first_seen, coalesce(l.last_seen, l.first_seen) AS last_seen,"
        f" ps.authority AS authority, ps.pagerank AS pagerank{lost}"
        " FROM links l LEFT JOIN page_scores ps ON ps.url_id = l.source_id"
        f" WHERE {condition} ORDER BY {order} LIMIT %s"
    )
    params.append(limit)
    sql = (
        "SELECT s.url, t.url, a.text, r.tokens, x.flags, x.placement, x.kind, x.first_seen,"
        f" x.last_seen{lost.replace('l.', 'x.')}, x.authority, ds.authority"
        f" FROM ({inner}) x JOIN urls s ON s.id = x.source_id JOIN urls t ON t.id = x.target_id"
        " JOIN anchors a ON a.id = x.anchor_id LEFT JOIN rels r ON r.id = x.rel_id"
        f" {_SOURCE_HOST} LEFT JOIN domain_scores ds ON ds.domain_id = sh.domain_id"
        " ORDER BY " + order.replace("ps.", "x.").replace("l.", "x.")
    )
    records = []
    for row in conn.execute(sql, params):
        record = link_record(*row[:-2])
        record["source_authority"] = row[-2]
        record["source_domain_authority"] = row[-1]
        records.append(record)
    return records


def _domain_info(conn: Any, domain_ids: list[int]) -> dict[int, tuple[str, float | None]]:
    """Name and authority of these domains, by id."""
    return {
        did: (name, authority)
        for did, name, authority in conn.execute(
            "SELECT d.id, d.name, ds.authority FROM domains d"
            " LEFT JOIN domain_scores ds ON ds.domain_id = d.id WHERE d.id = ANY(%s)",
            (domain_ids,),
        )
    }


def referring_domains(
    conn: Any, target: Target, where: LinkFilter, *, limit: int | None = 100
) -> list[dict[str, Any]]:
    """One record per registrable domain linking to the target, as
    :func:`storage.backlinks.referring_domains` gives them (hubs need no shortcut here:
    PostgreSQL groups the links itself)."""
    if limit == 0:
        return []
    lost: dict[int, tuple[int, int]] = {}
    still_current: set[int] = set()
    count, follow_count, spans = _domains_from_links(conn, target, where, lost, still_current)
    rank = dict(
        conn.execute(
            "SELECT domain_id, pagerank FROM domain_scores WHERE domain_id = ANY(%s)",
            (list(count),),
        )
    )
    keys = [(rank.get(d) is None, -(rank.get(d) or 0.0), -n, d) for d, n in count.items()]
    order, info = domain_order(keys, limit, lambda ids: _domain_info(conn, ids))
    records = [
        {
            "domain": info[d][0],
            "backlinks": count[d],
            "follow_backlinks": follow_count[d],
            "first_seen": iso(spans.first[d]),
            "last_seen": iso(spans.last[d]),
            "authority": info[d][1],
            "ips": sorted(spans.ips.get(d, ())),
        }
        for d in order
    ]
    if where.include_lost:
        for d, record in zip(order, records, strict=True):
            gone = None if d in still_current else lost.get(d)
            record["lost_at"] = iso(gone[0]) if gone else None
            record["lost_reason"] = lost_reason(gone[1]) if gone else None
    for record in records:
        record["subnets"] = sorted({subnet_24(ip) for ip in record["ips"]})
    return records


def _domains_from_links(
    conn: Any,
    target: Target,
    where: LinkFilter,
    lost: dict[int, tuple[int, int]],
    still_current: set[int],
) -> tuple[Counter[int], Counter[int], Spans]:
    condition, params = link_filters(target, where, POSTGRES)
    rows = conn.execute(
        f"SELECT {_PAIR}, sh.domain_id, sh.ip, (l.flags & {NOT_FOLLOW_FLAGS}) = 0, l.first_seen,"
        " coalesce(l.last_seen, l.first_seen)"
        + (f", {LOST_COLUMNS}" if where.include_lost else "")
        + f" FROM links l JOIN urls s ON s.id = l.source_id {_SOURCE_HOST} WHERE {condition}"
        # SQLite meets a target's links in its primary key's order: the same ties win here.
        + "".join(f"{', ' if i else ' ORDER BY '}l.{c}" for i, c in enumerate(_LINK_KEY)),
        params,
    ).fetchall()
    if where.include_lost:
        for _, domain, _, _, _, _, lost_at, reason in rows:
            if lost_at is None:
                still_current.add(domain)
            elif lost.get(domain, (lost_at,))[0] <= lost_at:
                lost[domain] = (lost_at, reason)
        rows = [row[:6] for row in rows]
    domain_of: dict[int, int] = {}
    follow: set[int] = set()
    spans = Spans()
    for pair, domain, ip, followable, seen_first, seen_last in rows:
        domain_of[pair] = domain
        if followable:
            follow.add(pair)
        spans.note(domain, seen_first, seen_last, ip)
    return Counter(domain_of.values()), Counter(domain_of[p] for p in follow), spans


def anchors(
    conn: Any, target: Target, where: LinkFilter, *, limit: int | None = 100
) -> list[dict[str, Any]]:
    """Anchor texts of the links into a target, as :func:`storage.backlinks.anchors`
    gives them."""
    condition, params = link_filters(target, where, POSTGRES)
    # The reason of the latest loss. SQLite takes the bare column from the first row of
    # the group, in its scan order (the links' primary key), that holds max(lost_at).
    first_latest = ", ".join(f"l.{c}" for c in _LINK_KEY)
    sql = (
        f"SELECT a.text, count(DISTINCT {_PAIR}),"
        f" count(DISTINCT CASE WHEN (l.flags & {NOT_FOLLOW_FLAGS}) = 0 THEN {_PAIR} END),"
        " count(DISTINCT sh.domain_id), (l.flags & 8) > 0,"
        " count(*) = count(l.lost_at), max(l.lost_at),"
        f" (array_agg(l.lost_reason ORDER BY l.lost_at DESC NULLS LAST, {first_latest}))[1]"
        f" FROM links l JOIN anchors a ON a.id = l.anchor_id JOIN urls s ON s.id = l.source_id"
        f" {_SOURCE_HOST} WHERE {condition} GROUP BY l.anchor_id, a.text, (l.flags & 8) > 0"
        f" ORDER BY 4 DESC, 2 DESC, a.text {BYTEWISE}, 5 LIMIT %s"
    )
    params.append(limit)
    return anchor_records(conn.execute(sql, params), include_lost=where.include_lost)


# The SQLite store's own, in PostgreSQL's dialect.
top = partial(_sqlite.top, sql=POSTGRES)
intersect = partial(_sqlite.intersect, sql=POSTGRES)
