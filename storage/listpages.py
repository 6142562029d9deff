"""One page of a target's backlinks, referring domains or anchors, in the order of any of
their columns, and how many records the whole list has: what ``linkgraph serve`` lists.

A page is the slice of the list the query function returns with ``limit=None``
(:func:`.backlinks.backlinks`, :func:`.backlinks.referring_domains`,
:func:`.anchortexts.anchors`) sorted by the column as :func:`sort_records` sorts: numbers
by value, lists by length, text by its lower case, empty values (``None``, ``""``,
``[]``) last either way, and records tied on the column in the function's own order.
Backlinks and anchors are sorted and cut in SQL (the column's value as SQL over the
links, ``LIMIT``/``OFFSET``); referring domains are counted per domain first, as the
query function does, and sorted here by the column's value, records built for the page's
domains only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import inlinks
from .anchortexts import ANCHOR_ORDER, anchor_groups, anchor_records, hub_anchor_groups
from .backlinks import backlinks, link_filters, linking_domains
from .domainindex import DomainIndex
from .domainrecords import domain_info, domain_records, subnet_24
from .errors import StoreError
from .hubdomains import HubDomains, hub_domains
from .interface import LinkFilter
from .records import DOMAIN_FIELDS, LOST_REASONS, PLACEMENTS, Target
from .vocab import NOT_FOLLOW_FLAGS

__all__ = [
    "anchors_page",
    "backlinks_page",
    "hub_table",
    "is_empty",
    "referring_domains_page",
    "sort_key",
    "sort_records",
    "sortable",
]

# The largest OFFSET SQLite binds (a 64-bit integer); no list is longer.
_LAST_OFFSET = 2**63 - 1

_LOWER = "linkgraph_lower"


def is_empty(value: Any) -> bool:
    """Whether a record's value sorts last whatever the direction."""
    return value is None or value == "" or value == []


def sort_key(value: Any) -> tuple[int, Any]:
    """A non-empty value's place: numbers (and booleans) by value, lists by length, text
    by its lower case."""
    if isinstance(value, list | tuple | set | frozenset):
        return (1, len(value))
    return (0, value) if isinstance(value, int | float) else (2, str(value).lower())


def sort_records(
    records: list[dict[str, Any]], column: str, descending: bool
) -> list[dict[str, Any]]:
    """``records`` by ``column``; empty values last either way, ties in the given order."""
    return _sorted(records, lambda r: r.get(column), descending)


def _sorted(items: Iterable[Any], value_of: Callable[[Any], Any], descending: bool) -> list[Any]:
    # sorted() keeps ties in their order, also with reverse=True.
    present, empty = [], []
    for item in items:
        (empty if is_empty(value_of(item)) else present).append(item)
    present.sort(key=lambda item: sort_key(value_of(item)), reverse=descending)
    return present + empty


def _lowering(conn: sqlite3.Connection) -> None:
    # Python's own str.lower, so that SQL orders text exactly as sort_key does (SQLite's
    # lower() folds ASCII only); text then compares by code point, as in Python.
    conn.create_function(
        _LOWER, 1, lambda t: None if t is None else str(t).lower(), deterministic=True
    )


def _names_rank(names: Iterable[str]) -> dict[str, int]:
    """Each name's place among ``names`` sorted by their lower case."""
    return {name: i for i, name in enumerate(sorted(names, key=str.lower))}


def _case(column: str, names: tuple[str, ...]) -> str:
    """SQL: the place of the name a stored index stands for (NULL for NULL)."""
    rank = _names_rank(names)
    whens = " ".join(f"WHEN {i} THEN {rank[name]}" for i, name in enumerate(names))
    return f"CASE {column} {whens} END"


def _count_words(tokens: str) -> str:
    return f"length({tokens}) - length(replace({tokens}, ' ', '')) + 1"


def _nullable(value: str) -> tuple[str, str]:
    return f"{value} IS NULL", value


# A backlink record's column as SQL over ``links l`` and its source's row ``src``:
# (true when the value is empty, the value to sort by).
_BACKLINK_COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("0", f"(SELECT {_LOWER}(u.url) FROM urls u WHERE u.id = l.source_id)"),
    "target": ("0", f"(SELECT {_LOWER}(u.url) FROM urls u WHERE u.id = l.target_id)"),
    "anchor": (
        "(SELECT a.text FROM anchors a WHERE a.id = l.anchor_id) = ''",
        f"(SELECT {_LOWER}(a.text) FROM anchors a WHERE a.id = l.anchor_id)",
    ),
    "rel": (
        "coalesce((SELECT r.tokens FROM rels r WHERE r.id = l.rel_id), '') = ''",
        f"(SELECT {_count_words('r.tokens')} FROM rels r WHERE r.id = l.rel_id)",
    ),
    "follow": ("0", f"NOT (l.kind = 0 AND (l.flags & {NOT_FOLLOW_FLAGS}) != 0)"),
    "placement": ("0", _case("l.placement", PLACEMENTS)),
    "first_seen": ("0", "l.first_seen"),
    "last_seen": ("0", "coalesce(l.last_seen, l.first_seen)"),
    "source_authority": _nullable(
        "(SELECT ps.authority FROM page_scores ps WHERE ps.url_id = l.source_id)"
    ),
    "source_domain_authority": _nullable(
        "(SELECT ds.authority FROM domain_scores ds WHERE ds.domain_id = src.domain_id)"
    ),
    "lost_at": ("l.lost_at IS NULL", "l.lost_at"),
    "lost_reason": ("l.lost_reason IS NULL", _case("l.lost_reason", LOST_REASONS)),
}
# An anchor record's column over the columns of anchortexts.anchor_groups.
_ANCHOR_COLUMNS: dict[str, tuple[str, str]] = {
    "anchor": ("anchor = ''", f"{_LOWER}(anchor)"),
    "backlinks": ("0", "n"),
    "follow_backlinks": ("0", "nf"),
    "referring_domains": ("0", "nd"),
    "image": ("0", "image"),
    # A record's lost_at and lost_reason are those of its latest loss once every link
    # is lost, empty before: the empty ones sort last, in the list's order.
    "lost_at": ("NOT all_lost", "CASE WHEN all_lost THEN lost_at END"),
    "lost_reason": (
        "NOT all_lost OR reason IS NULL",
        f"CASE WHEN all_lost THEN {_case('reason', LOST_REASONS)} END",
    ),
}


_DOMAIN_COLUMNS = (*DOMAIN_FIELDS, "lost_at", "lost_reason")
_SORTABLE = {
    "backlinks": tuple(_BACKLINK_COLUMNS),
    "referring-domains": _DOMAIN_COLUMNS,
    "anchors": tuple(_ANCHOR_COLUMNS),
}


def sortable(listing: str, where: LinkFilter) -> frozenset[str]:
    """The columns a page of ``listing`` (``backlinks``, ``referring-domains``,
    ``anchors``) can be sorted by under ``where`` (``lost_*`` with ``include_lost``)."""
    return frozenset(
        c for c in _SORTABLE[listing] if where.include_lost or not c.startswith("lost_")
    )


def _column(columns: dict[str, tuple[str, str]], order: str, where: LinkFilter) -> tuple[str, str]:
    if order not in columns or (order.startswith("lost_") and not where.include_lost):
        raise StoreError(f"cannot sort by {order!r}")
    return columns[order]


def backlinks_page(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    sort: str = "authority",
    order: str = "",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """``limit`` records of :func:`.backlinks.backlinks` from ``offset`` on, by the column
    ``order`` (``""``: in ``sort``'s order), and how many links the list has."""
    condition, params = link_filters(target, where)
    total = conn.execute(f"SELECT count(*) FROM links l WHERE {condition}", params).fetchone()[0]
    if offset >= total:
        return [], total
    ahead = None
    if order:
        last, value = _column(_BACKLINK_COLUMNS, order, where)
        _lowering(conn)
        ahead = (last, value, descending)
    records = backlinks(conn, target, where, limit=limit, sort=sort, offset=offset, ahead=ahead)
    return records, total


def anchors_page(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    hub: bool,
    order: str = "",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """``limit`` records of :func:`.anchortexts.anchors` from ``offset`` on, by the column
    ``order`` (``""``: in the function's order), and how many records the list has.
    ``hub``: the target's anchors are read from the rows counted ahead (as ``anchors``
    decides)."""
    sql, params = hub_anchor_groups(target) if hub else anchor_groups(target, where)
    ahead = ""
    if order:
        last, value = _column(_ANCHOR_COLUMNS, order, where)
        _lowering(conn)
        # "0" (never empty) is no term: ORDER BY reads a bare integer as a column number.
        ahead = "" if last == "0" else f"{last}, "
        ahead += f"{value}{' DESC' if descending else ''}, "
    rows = conn.execute(
        f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY {ahead}{ANCHOR_ORDER} LIMIT ? OFFSET ?",
        # SQLite binds integers up to 2**63 - 1: an offset past that is past every list.
        [*params, limit, min(offset, _LAST_OFFSET)],
    ).fetchall()
    if rows:
        total = rows[0][-1]
    else:
        total = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return anchor_records((row[:-1] for row in rows), include_lost=where.include_lost), total


def referring_domains_page(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    order: str = "",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
    index: Callable[[], DomainIndex] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """``limit`` records of :func:`.backlinks.referring_domains` from ``offset`` on, by the
    column ``order`` (``""``: strongest first), and how many domains link. With the
    store's ``index`` (called for it only then), a hub's domains under the default filter are ranked as arrays
    (:mod:`.hubdomains`)."""
    hub = hub_table(conn, target, where, index)
    if hub is not None:
        positions = np.arange(len(hub.ids)) if not order else hub.order(order, descending)
        if positions is None:
            raise StoreError(f"cannot sort by {order!r}")
        return hub.records(positions[offset : offset + limit], conn), len(hub.ids)
    table = linking_domains(conn, target, where)
    info = domain_info(conn, list(table.count))
    # referring_domains' order: by PageRank (none last), backlinks, name.
    ranked = sorted(
        table.count,
        key=lambda d: (info[d][2] is None, -(info[d][2] or 0.0), -table.count[d], info[d][0]),
    )
    if order:
        value_of = _domain_values(table, info, order, where)
        ranked = _sorted(ranked, value_of, descending)
    page = ranked[offset : offset + limit]
    return domain_records(table, page, info, include_lost=where.include_lost), len(ranked)


def hub_table(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    index: Callable[[], DomainIndex] | None,
) -> HubDomains | None:
    """The target's linking domains as arrays, when it is made of hubs, the filter is the
    default and the store's index (``index()``, asked only then: it may read the index
    again) knows every linking host; else ``None``."""
    if index is None or where != LinkFilter():
        return None
    if not inlinks.hubs_among(conn, target.url_ids_sql, target.params):
        return None
    return hub_domains(conn, target, index())


def _domain_values(
    table: Any,
    info: dict[int, tuple[str, float | None, float | None]],
    order: str,
    where: LinkFilter,
) -> Callable[[int], Any]:
    """A domain's value in the column ``order`` of its record (times as Unix seconds, in
    the same order as their ISO text)."""
    spans = table.spans

    def gone(d: int) -> tuple[int, int] | None:
        return None if d in table.still_current else table.lost.get(d)

    values: dict[str, Callable[[int], Any]] = {
        "domain": lambda d: info[d][0],
        "backlinks": lambda d: table.count[d],
        "follow_backlinks": lambda d: table.follow[d],
        "first_seen": lambda d: spans.first[d],
        "last_seen": lambda d: spans.last[d],
        "authority": lambda d: info[d][1],
        "ips": lambda d: list(spans.ips.get(d, ())),
        "subnets": lambda d: list({subnet_24(ip) for ip in spans.ips.get(d, ())}),
    }
    if where.include_lost:
        values["lost_at"] = lambda d: (gone(d) or (None,))[0]
        values["lost_reason"] = lambda d: LOST_REASONS[g[1]] if (g := gone(d)) else None
    if order not in values:
        raise StoreError(f"cannot sort by {order!r}")
    return values[order]
