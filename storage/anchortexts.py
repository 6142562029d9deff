"""Anchor texts of the links into a target, with backlink and referring-domain counts
(the definitions of :mod:`.backlinks` hold: backlinks are distinct (page, URL) pairs,
current links only unless asked, internal links left out unless asked)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from . import inlinks
from .backlinks import _PAIR, link_filters
from .interface import LinkFilter
from .linksources import JOIN_LINK_SOURCE
from .queries import iso, lost_reason
from .records import Target
from .vocab import NOT_FOLLOW_FLAGS

__all__ = ["ANCHOR_ORDER", "anchor_groups", "anchor_records", "anchors", "hub_anchor_groups"]


def anchor_records(rows: Iterable[tuple], *, include_lost: bool) -> list[dict[str, Any]]:
    """The records of ``anchors`` from rows of (text, backlinks, follow backlinks, referring
    domains, image, all lost, latest loss, its reason), as every backend's query gives them."""
    records = []
    for text, n, nf, nd, img, all_lost, lost_at, reason in rows:
        record = {
            "anchor": text,
            "backlinks": n,
            "follow_backlinks": nf,
            "referring_domains": nd,
            "image": bool(img),
        }
        if include_lost:
            record["lost_at"] = iso(lost_at) if all_lost else None
            record["lost_reason"] = lost_reason(reason) if all_lost else None
        records.append(record)
    return records


def anchors(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Anchor texts of the current links into a target, with backlink and referring-domain
    counts. ``include_lost`` counts lost links too; each record then has ``lost_at`` and
    ``lost_reason``: when and why the anchor's last current link was lost (``None`` while
    it has one)."""
    if where == LinkFilter() and inlinks.hubs_among(conn, target.url_ids_sql, target.params):
        return _hub_anchors(conn, target, limit)
    sql, params = anchor_groups(target, where)
    sql += f" ORDER BY {ANCHOR_ORDER}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return anchor_records(conn.execute(sql, params), include_lost=where.include_lost)


# The order of ``anchors`` over the columns of :func:`anchor_groups`: anchors tied on
# domains, backlinks and text (an image link's and a text link's) by image last.
ANCHOR_ORDER = "nd DESC, n DESC, anchor, image"


def anchor_groups(target: Target, where: LinkFilter) -> tuple[str, list[Any]]:
    """The SQL of ``anchors``' groups from the links (unordered), a row per record: text
    ``anchor``, backlinks ``n``, follow backlinks ``nf``, referring domains ``nd``,
    ``image``, ``all_lost`` (every link lost), ``lost_at`` (the latest loss) and
    ``reason`` (its reason); and its parameters."""
    condition, params = link_filters(target, where)
    # max() makes SQLite take the bare l.lost_reason from the row holding the latest loss.
    sql = (
        f"SELECT a.text AS anchor, count(DISTINCT {_PAIR}) AS n,"
        f" count(DISTINCT CASE WHEN (l.flags & {NOT_FOLLOW_FLAGS}) = 0 THEN {_PAIR} END) AS nf,"
        " count(DISTINCT src.domain_id) AS nd, (l.flags & 8) > 0 AS image,"
        " count(*) = count(l.lost_at) AS all_lost, max(l.lost_at) AS lost_at,"
        " l.lost_reason AS reason"
        # Each linking page's domain from its narrow row (storage.linksources), not urls.
        f" FROM links l JOIN anchors a ON a.id = l.anchor_id {JOIN_LINK_SOURCE}"
        f" WHERE {condition} GROUP BY l.anchor_id, (l.flags & 8) > 0"
    )
    return sql, params


def hub_anchor_groups(target: Target) -> tuple[str, list[Any]]:
    """:func:`anchor_groups` of hub URLs under the default filter, from their rows counted
    ahead (storage.hubanchors): a domain's row counts it once for one URL; a domain
    linking to several of the target's URLs has a row for each, so those are told apart."""
    domains = "count(*)" if target.mode == "exact" else "count(DISTINCT r.domain_id)"
    sql = (
        "SELECT a.text AS anchor, g.n AS n, g.nf AS nf, g.nd AS nd, g.k & 1 AS image,"
        " 0 AS all_lost, NULL AS lost_at, NULL AS reason FROM (SELECT r.anchor AS k,"
        f" sum(r.backlinks) AS n, sum(r.follow_backlinks) AS nf, {domains} AS nd"
        f" FROM hub_anchors r WHERE r.target_id IN ({target.url_ids_sql}) GROUP BY r.anchor) g"
        " JOIN anchors a ON a.id = g.k >> 1"
    )
    return sql, list(target.params)


def _hub_anchors(
    conn: sqlite3.Connection, target: Target, limit: int | None
) -> list[dict[str, Any]]:
    """``anchors`` of hub URLs under the default filter (:func:`hub_anchor_groups`)."""
    sql, params = hub_anchor_groups(target)
    sql += f" ORDER BY {ANCHOR_ORDER}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return anchor_records(conn.execute(sql, params), include_lost=False)
