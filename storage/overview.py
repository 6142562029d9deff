"""What ``linkgraph serve``'s overview of a target shows, counted in the store: its links
by placement, rel and follow; its referring domains' numbers; its new and lost backlinks
per week; the authority of a page, host or domain by name.

Each number is the one the overview used to derive from every record of ``backlinks``,
``referring-domains`` and ``changes`` (the definitions of :mod:`.backlinks` hold), from
grouped queries and per-domain counts instead of one record per link.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import Counter
from datetime import date
from typing import Any

from .backlinks import _filters, domain_info, domain_records, linking_domains, subnet_24
from .identity import normalize, url_hash
from .interface import LinkFilter
from .records import LOST_REASONS, PLACEMENTS, Target
from .vocab import LEVEL_NAMES, LEVEL_SCORES, NOT_FOLLOW_FLAGS

__all__ = ["authority_of", "change_weeks", "domain_summary", "link_split"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def link_split(
    conn: sqlite3.Connection, target: Target, where: LinkFilter
) -> list[tuple[str, list[str], bool, int]]:
    """The links ``backlinks`` lists, counted by (placement, rel tokens, follow):
    ``(placement, rel, follow, links)`` a group."""
    condition, params = _filters(target, where)
    rows = conn.execute(
        f"SELECT l.placement, l.rel_id, NOT (l.kind = 0 AND (l.flags & {NOT_FOLLOW_FLAGS}) != 0),"
        f" count(*) FROM links l WHERE {condition} GROUP BY 1, 2, 3",
        params,
    ).fetchall()
    rel_ids = sorted({rel for _, rel, _, _ in rows})
    tokens = dict(
        conn.execute(
            f"SELECT id, tokens FROM rels WHERE id IN ({','.join('?' * len(rel_ids))})", rel_ids
        )
    )
    return [
        (PLACEMENTS[placement], tokens[rel].split(" ") if tokens.get(rel) else [], bool(f), n)
        for placement, rel, f, n in rows
    ]


def domain_summary(
    conn: sqlite3.Connection, target: Target, where: LinkFilter, *, top: int = 10
) -> dict[str, Any]:
    """The referring domains in numbers: ``count``, distinct ``ips`` and ``subnets`` of
    their linking hosts, each domain's ``first_seen`` (Unix seconds) and ``authority``
    (``None``: not ranked), and the records of the ``top`` strongest, as
    ``referring_domains`` lists them first."""
    table = linking_domains(conn, target, where)
    info = domain_info(conn, list(table.count))
    strongest = heapq.nsmallest(
        top,
        table.count,
        key=lambda d: (info[d][2] is None, -(info[d][2] or 0.0), -table.count[d], info[d][0]),
    )
    ips = set().union(*table.spans.ips.values())
    return {
        "count": len(table.count),
        "ips": len(ips),
        "subnets": len({subnet_24(ip) for ip in ips}),
        "first_seen": [table.spans.first[d] for d in table.count],
        "authority": [info[d][1] for d in table.count],
        "top": domain_records(table, strongest, info, include_lost=where.include_lost),
    }


def week_start(ts: int) -> str:
    """The Monday (UTC) starting the ISO week of Unix time ``ts``, as ``YYYY-MM-DD``."""
    day = ts // 86400  # 1970-01-01 was a Thursday: weekday 3
    return date.fromordinal(_EPOCH_ORDINAL + day - (day + 3) % 7).isoformat()


def change_weeks(
    conn: sqlite3.Connection, target: Target, *, include_internal: bool = False
) -> Counter[tuple[str, str]]:
    """New and lost backlinks of ``changes`` (no ``since``) per week: ``(week, what)`` to
    a count, ``what`` being ``new`` or ``lost: REASON`` (``lost: unknown`` without one).

    As ``changes`` does, a backlink (source page, target URL) is new once, on the first
    seen of the first of its links read, and lost once, on the loss of the first of its
    lost links read; the links are read in the same order, without their text."""
    condition, params = _filters(
        target, LinkFilter(include_internal=include_internal, include_lost=True)
    )
    counts: Counter[tuple[str, str]] = Counter()
    weeks: dict[int, str] = {}
    new: set[tuple[int, int]] = set()
    lost: set[tuple[int, int]] = set()
    for source, tgt, first, lost_at, reason in conn.execute(
        "SELECT l.source_id, l.target_id, l.first_seen, l.lost_at, l.lost_reason"
        f" FROM links l WHERE {condition}",
        params,
    ):
        pair = (source, tgt)
        if pair not in new:
            new.add(pair)
            day = first // 86400
            week = weeks.get(day) or weeks.setdefault(day, week_start(first))
            counts[(week, "new")] += 1
        if lost_at is not None and pair not in lost:
            lost.add(pair)
            why = LOST_REASONS[reason] if reason is not None else "unknown"
            counts[(week_start(lost_at), f"lost: {why}")] += 1
    return counts


def authority_of(conn: sqlite3.Connection, level: str, name: str) -> float | None:
    """The 0-100 authority of a page (by URL), host or domain (by name) as ``top`` lists
    it; ``None`` when it has none (not ranked, not in the store)."""
    table, key = LEVEL_SCORES[level]
    names, column = LEVEL_NAMES[level]
    if level == "page":
        url = normalize(name)
        if url is None:
            return None
        where, params = "n.hash = ? AND n.url = ?", (url_hash(url), url)
    else:
        where, params = f"n.{column} = ?", (name,)
    row = conn.execute(
        f"SELECT sc.authority FROM {names} n JOIN {table} sc ON sc.{key} = n.id WHERE {where}",
        params,
    ).fetchone()
    return row[0] if row else None
