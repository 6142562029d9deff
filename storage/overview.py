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
from collections.abc import Callable
from datetime import date
from itertools import chain
from typing import Any

import numpy as np

from .backlinks import link_filters, linking_domains
from .domainindex import DomainIndex
from .domainrecords import domain_info, domain_records, subnet_24
from .identity import normalize, url_hash
from .interface import LinkFilter
from .listpages import hub_table
from .records import LOST_REASONS, PLACEMENTS, Target
from .vocab import LEVEL_NAMES, LEVEL_SCORES, NOT_FOLLOW_FLAGS

__all__ = ["authority_of", "domain_summary", "link_summary"]

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def domain_summary(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    top: int = 10,
    index: Callable[[], DomainIndex] | None = None,
) -> dict[str, Any]:
    """The referring domains in numbers: ``count``, distinct ``ips`` and ``subnets`` of
    their linking hosts, the domains by the day (since 1970-01-01, UTC) they were first
    seen on (``first_seen_days``) and by their authority's ten (``authority_tens``: 0,
    10, ... 90, with 100 in 90; unranked domains left out), and the records of the ``top`` strongest, as
    ``referring_domains`` lists them first. With the store's ``index``, a hub's domains
    under the default filter are counted as arrays (:mod:`.hubdomains`)."""
    hub = hub_table(conn, target, where, index)
    if hub is not None:
        ips, subnets = hub.addresses()
        authority = hub.index.domain_authority[hub.ids]
        tens = np.minimum(authority[~np.isnan(authority)] // 10 * 10, 90).astype(np.int64)
        return {
            "count": len(hub.ids),
            "ips": ips,
            "subnets": subnets,
            "first_seen_days": _counts(hub.first // 86400),
            "authority_tens": _counts(tens),
            "top": hub.records(np.arange(min(top, len(hub.ids))), conn),
        }
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
        "first_seen_days": Counter(table.spans.first[d] // 86400 for d in table.count),
        "authority_tens": Counter(
            min(int(a // 10) * 10, 90) for d in table.count if (a := info[d][1]) is not None
        ),
        "top": domain_records(table, strongest, info, include_lost=where.include_lost),
    }


def link_summary(
    conn: sqlite3.Connection, target: Target, *, include_internal: bool = False
) -> tuple[list[tuple[str, list[str], bool, int]], Counter[tuple[str, str]]]:
    """One read of the links into the target for two answers:

    - the links ``backlinks`` lists (current ones), counted by (placement, rel tokens,
      follow): ``(placement, rel, follow, links)`` a group;
    - new and lost backlinks of ``changes`` (no ``since``) per week: ``(week, what)`` to a
      count, ``what`` being ``new`` or ``lost: REASON`` (``lost: unknown`` without one).
      As ``changes`` does, a backlink (source page, target URL) is new once, on the first
      seen of the first of its links read, and lost once, on the loss of the first of its
      lost links read; the links are read in the same order, without their text.
    """
    condition, params = link_filters(
        target, LinkFilter(include_internal=include_internal, include_lost=True)
    )
    # Four integers a link (fewer values to read): the backlink, first seen, lost at
    # (-1: current), and the lost reason + 1, rel, placement and follow packed.
    rows = conn.execute(
        "SELECT (l.source_id << 32) | l.target_id, l.first_seen, coalesce(l.lost_at, -1),"
        " ((coalesce(l.lost_reason, -1) + 1) << 40) | (l.rel_id << 8) | (l.placement << 1)"
        f" | NOT (l.kind = 0 AND (l.flags & {NOT_FOLLOW_FLAGS}) != 0)"
        f" FROM links l WHERE {condition}",
        params,
    ).fetchall()
    counts: Counter[tuple[str, str]] = Counter()
    if not rows:
        return [], counts
    links = _array(rows, 4)
    pairs, lost_at, packed = links[:, 0], links[:, 2], links[:, 3]
    split = _counts(packed[lost_at < 0] & ((1 << 40) - 1))
    # np.unique's index: the first row of each backlink, in the order read.
    _, first_rows = np.unique(pairs, return_index=True)
    new = _per_week(links[first_rows, 1], np.zeros(len(first_rows), np.int64))
    for (week, _), n in new.items():
        counts[(week, "new")] += n
    lost = np.flatnonzero(lost_at >= 0)
    if len(lost):
        _, first_lost = np.unique(pairs[lost], return_index=True)
        chosen = lost[first_lost]
        for (week, reason), n in _per_week(lost_at[chosen], (packed[chosen] >> 40) - 1).items():
            why = LOST_REASONS[reason] if reason >= 0 else "unknown"
            counts[(week, f"lost: {why}")] += n
    return _with_rels(conn, split), counts


def _with_rels(
    conn: sqlite3.Connection, split: dict[int, int]
) -> list[tuple[str, list[str], bool, int]]:
    """``(placement, rel tokens, follow, links)`` of each packed (rel, placement, follow)."""
    rel_ids = sorted({key >> 8 for key in split})
    tokens = dict(
        conn.execute(
            f"SELECT id, tokens FROM rels WHERE id IN ({','.join('?' * len(rel_ids))})", rel_ids
        )
    )
    return [
        (
            PLACEMENTS[(key >> 1) & 127],
            tokens[key >> 8].split(" ") if tokens.get(key >> 8) else [],
            bool(key & 1),
            n,
        )
        for key, n in split.items()
    ]


def _per_week(times: np.ndarray, kinds: np.ndarray) -> dict[tuple[str, int], int]:
    """Counts of (week start, kind) over Unix ``times`` and their ``kinds`` (-1 to 14)."""
    days = times // 86400  # 1970-01-01 was a Thursday: weekday 3
    mondays = days - (days + 3) % 7
    return {
        (date.fromordinal(_EPOCH_ORDINAL + key // 16).isoformat(), key % 16 - 1): n
        for key, n in _counts(mondays * 16 + kinds + 1).items()
    }


def _counts(values: np.ndarray) -> dict[int, int]:
    """How many times each value occurs."""
    keys, n = np.unique(values, return_counts=True)
    return dict(zip(keys.tolist(), n.tolist(), strict=True))


def _array(rows: list[tuple[int, ...]], width: int) -> np.ndarray:
    """Rows of ``width`` integers as a 2-D array (np.fromiter: no tuple per element)."""
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


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
