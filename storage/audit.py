"""What the backlink audit reads from the store: plain rows for ``graph``'s pure scoring.

Every function takes a read connection and a resolved :class:`~storage.records.Target`
and returns dicts or dataclasses; none of them scores anything. All of them read current
links only (:data:`storage.queries.CURRENT`), but :func:`changes`, which is about history.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from .backlinks import Target, link_filters
from .dialect import SQLITE, Dialect
from .interface import LinkFilter, LinkFilters
from .queries import CURRENT, iso, lost_reason
from .records import LOST_REASONS, PLACEMENTS, BacklinkDetail
from .vocab import LINK_FLAGS, NOT_FOLLOW_FLAGS

__all__ = [
    "DETAIL_SQL",
    "UNREACHABLE",
    "BacklinkDetail",
    "LinkFilters",
    "backlink_detail",
    "backlink_details",
    "broken_links",
    "broken_record",
    "changes",
    "changes_from_rows",
    "domain_sizes",
    "mentions",
    "page_texts",
    "since_timestamp",
]

_CHUNK = 900
# Fetch errors that mean the target could not be reached: a broken link, as 4xx/5xx is.
UNREACHABLE = ("dns", "connect", "timeout", "blocked-address", "protocol")

# The columns and joins of :func:`backlink_detail`'s rows; the caller adds ``WHERE``.
# Plain SQL that the PostgreSQL store (storage/pg/audit.py) runs as it is. Flags without
# the kind, placement and rel bits a SQLite store keeps in them (vocab.LINK_FLAGS).
DETAIL_SQL = (
    "SELECT l.source_id, l.target_id, s.url, t.url, a.text, r.tokens,"
    f" l.flags & {LINK_FLAGS}, l.placement,"
    " l.first_seen, coalesce(l.last_seen, l.first_seen), sh.domain_id, d.name, p.outlinks, ps.authority,"
    " ds.authority, l.lost_at, l.lost_reason"
    " FROM links l JOIN urls s ON s.id = l.source_id JOIN hosts sh ON sh.id = s.host_id"
    " JOIN domains d ON d.id = sh.domain_id JOIN urls t ON t.id = l.target_id"
    " JOIN anchors a ON a.id = l.anchor_id LEFT JOIN rels r ON r.id = l.rel_id"
    " LEFT JOIN pages p ON p.url_id = l.source_id LEFT JOIN page_scores ps ON ps.url_id = l.source_id"
    " LEFT JOIN domain_scores ds ON ds.domain_id = sh.domain_id"
)


def backlink_detail(row: tuple[Any, ...]) -> BacklinkDetail:
    """One row of :data:`DETAIL_SQL` as the record the audits score."""
    (sid, tid, src, tgt, anchor, tokens, flags, pl, first, last, did, dname, outlinks,
     authority, domain_authority, lost_at, reason) = row  # fmt: skip
    return BacklinkDetail(
        sid,
        tid,
        src,
        tgt,
        anchor,
        tokens.split(" ") if tokens else [],
        flags,
        PLACEMENTS[pl],
        iso(first),
        iso(last),
        did,
        dname,
        outlinks,
        authority,
        domain_authority,
        iso(lost_at),
        lost_reason(reason),
    )


def backlink_details(
    conn: sqlite3.Connection, target: Target, where: LinkFilter
) -> list[BacklinkDetail]:
    """Every current link into the target that ``where`` keeps (``include_lost``: and
    every lost one), with source page facts."""
    condition, params = link_filters(target, where)
    return [backlink_detail(row) for row in conn.execute(f"{DETAIL_SQL} WHERE {condition}", params)]


def _by_id_chunks(conn: sqlite3.Connection, sql: str, ids: set[int]) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` (whose ``{ids}`` stands for a list of placeholders) for all
    these ids, asked in chunks that stay under SQLite's limit on parameters."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        yield from conn.execute(sql.format(ids=",".join("?" * len(chunk))), chunk)


def domain_sizes(conn: sqlite3.Connection, domain_ids: set[int]) -> dict[int, int]:
    """Crawled HTML-or-not pages (a response received) per registrable domain."""
    sql = (
        "SELECT h.domain_id, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
        " JOIN hosts h ON h.id = u.host_id WHERE p.status BETWEEN 200 AND 299"
        " AND h.domain_id IN ({ids}) GROUP BY h.domain_id"
    )
    return dict(_by_id_chunks(conn, sql, domain_ids))


def page_texts(conn: sqlite3.Connection, url_ids: set[int]) -> dict[int, str]:
    """Stored visible text of these pages (pages crawled with ``store_text``)."""
    sql = "SELECT rowid, text FROM page_text WHERE rowid IN ({ids})"
    return dict(_by_id_chunks(conn, sql, url_ids))


def target_domain_links_to(
    conn: Any, target: Target, domain_ids: set[int], sql: Dialect = SQLITE
) -> set[int]:
    """Of these domains, the ones the target's own registrable domain links to now."""
    if not domain_ids:
        return set()
    rows = conn.execute(
        "SELECT DISTINCT th.domain_id FROM domains d JOIN hosts sh ON sh.domain_id = d.id"
        " JOIN urls s ON s.host_id = sh.id"
        f" JOIN links l ON l.source_id = s.id AND l.kind = 0 AND {CURRENT}"
        " JOIN urls t ON t.id = l.target_id JOIN hosts th ON th.id = t.host_id"
        f" WHERE d.name = {sql.mark}",
        (target.domain,),
    )
    return {did for (did,) in rows} & domain_ids


def since_timestamp(since: str | None) -> int:
    """``--since`` (an ISO date or time, UTC unless it says) as Unix seconds; 0 for none."""
    if not since:
        return 0
    try:
        when = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since wants a date like 2026-01-31, not {since!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def changes(
    conn: Any,
    target: Target,
    *,
    since: str | None = None,
    include_internal: bool = False,
    by: str = "day",
    sql: Dialect = SQLITE,
    order: str = "",
) -> dict[str, list[dict[str, Any]]]:
    """New and lost backlinks and referring domains since a date, and link velocity.

    A backlink is new on its ``first_seen``; lost on the recrawl that found it gone
    (``lost_at``, with the reason). A referring domain is new when its first link to the
    target is; lost when all its links to the target are lost.

    The PostgreSQL store asks the same in its :class:`~.dialect.Dialect`, with an ``order``
    of the rows (SQLite reads them in the links' primary key order).
    """
    if by not in ("day", "week"):
        raise ValueError(f"unknown period {by!r}: use day or week")
    start = since_timestamp(since)
    condition, params = link_filters(
        target, LinkFilter(include_internal=include_internal, include_lost=True), sql
    )
    rows = conn.execute(
        "SELECT s.url, t.url, a.text, l.first_seen, l.lost_at, l.lost_reason, sh.domain_id, d.name"
        " FROM links l JOIN urls s ON s.id = l.source_id JOIN hosts sh ON sh.id = s.host_id"
        " JOIN domains d ON d.id = sh.domain_id JOIN urls t ON t.id = l.target_id"
        f" JOIN anchors a ON a.id = l.anchor_id WHERE {condition}{order}",
        params,
    ).fetchall()
    return changes_from_rows(rows, start=start, by=by)


def changes_from_rows(
    rows: list[tuple[Any, ...]], *, start: int, by: str
) -> dict[str, list[dict[str, Any]]]:
    """:func:`changes` from its rows: (source, target, anchor, first_seen, lost_at,
    lost_reason, source domain id, source domain) of every link into the target, in any
    order: a source that links to a target with several anchors is one change, named by
    its first seen anchor (ties: the first by text), whatever ids the store gave them."""
    # By names and dates, not ids: two stores filled alike (SQLite, PostgreSQL) number
    # anchors and URLs each its own way, and the same question gets the same answer.
    rows = sorted(rows, key=lambda r: (r[0], r[1], r[3], r[2], r[4] is None, r[4] or 0))
    link_changes: list[dict[str, Any]] = []
    seen_pairs: set[tuple[str, str, str]] = set()
    per_domain: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
    for source, tgt, anchor, first, lost, reason, _, domain in rows:
        per_domain[domain].append((first, lost))
        if first >= start and (source, tgt, "new") not in seen_pairs:
            seen_pairs.add((source, tgt, "new"))
            link_changes.append(
                {
                    "source": source,
                    "target": tgt,
                    "anchor": anchor,
                    "change": "new",
                    "reason": None,
                    "date": iso(first),
                }
            )
        if lost is not None and lost >= start and (source, tgt, "lost") not in seen_pairs:
            seen_pairs.add((source, tgt, "lost"))
            link_changes.append(
                {
                    "source": source,
                    "target": tgt,
                    "anchor": anchor,
                    "change": "lost",
                    "reason": LOST_REASONS[reason] if reason is not None else None,
                    "date": iso(lost),
                }
            )
    link_changes.sort(key=lambda r: (r["date"] or "", r["change"], r["source"]), reverse=True)
    domains: list[dict[str, Any]] = []
    for domain, links in per_domain.items():
        first = min(f for f, _ in links)
        if first >= start:
            domains.append({"domain": domain, "change": "new", "date": iso(first)})
        if all(lost is not None for _, lost in links):
            last_lost = max(lost for _, lost in links if lost is not None)
            if last_lost >= start:
                domains.append({"domain": domain, "change": "lost", "date": iso(last_lost)})
    domains.sort(key=lambda r: (r["date"] or "", r["change"], r["domain"]), reverse=True)
    buckets: dict[str, dict[str, Any]] = {}
    for record in link_changes:
        when = datetime.fromisoformat(record["date"].replace("Z", "+00:00"))
        key = (
            when.strftime("%Y-%m-%d")
            if by == "day"
            else f"{when.isocalendar().year}-W{when.isocalendar().week:02d}"
        )
        bucket = buckets.setdefault(key, {"period": key, "new": 0, "lost": 0})
        bucket[record["change"]] += 1
    velocity = [buckets[k] for k in sorted(buckets)]
    return {"links": link_changes, "referring_domains": domains, "velocity": velocity}


def broken_links(
    conn: sqlite3.Connection,
    target: Target | None,
    *,
    outbound: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Links whose target answered 4xx/5xx or could not be reached.

    With a ``target``: links *into* it (its dead pages that still have backlinks), or with
    ``outbound`` links *from* it (dead links on its pages).
    """
    clauses = [
        "l.kind = 0",
        CURRENT,
        f"(p.status >= 400 OR (p.status IS NULL AND p.error IN ({','.join('?' * len(UNREACHABLE))})))",
    ]
    params: list[Any] = list(UNREACHABLE)
    if target is not None:
        column = "l.source_id" if outbound else "l.target_id"
        clauses.append(f"{column} IN ({target.url_ids_sql})")
        params.extend(target.params)
    sql = (
        "SELECT s.url, t.url, a.text, l.flags, l.placement, p.status, p.error, p.fetched_at"
        " FROM links l JOIN pages p ON p.url_id = l.target_id JOIN urls s ON s.id = l.source_id"
        " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY t.url, s.url"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [broken_record(row) for row in conn.execute(sql, params)]


def broken_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row (source, target, anchor, flags, placement, status, error, fetched_at) of a
    broken link as :func:`broken_links` gives it."""
    source, tgt, anchor, flags, placement, status, error, checked = row
    return {
        "source": source,
        "target": tgt,
        "anchor": anchor,
        "follow": not flags & NOT_FOLLOW_FLAGS,
        "placement": PLACEMENTS[placement],
        "status": status,
        "error": error,
        "checked": iso(checked),
    }


def mentions(
    conn: sqlite3.Connection,
    phrase: str,
    *,
    exclude_linking: Target | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Pages whose visible text contains ``phrase`` (a full-text phrase match).

    ``links_to_target`` says whether the page links to ``exclude_linking``; with that
    target given, the linking pages are left out: what remains are unlinked mentions.
    """
    words = phrase.replace('"', " ").split()
    if not words:
        raise ValueError("give a brand name or phrase to look for")
    query = '"' + " ".join(words) + '"'
    params: list[Any] = [query]
    linking = "0"
    if exclude_linking is not None:
        linking = (
            f"EXISTS (SELECT 1 FROM links l WHERE l.source_id = pt.rowid AND l.kind = 0 AND {CURRENT}"
            f" AND l.target_id IN ({exclude_linking.url_ids_sql}))"
        )
        params = list(exclude_linking.params) + params
    sql = (
        f"SELECT u.url, p.title, snippet(page_text, 0, '[', ']', ' … ', 12), {linking}"
        " FROM page_text pt JOIN urls u ON u.id = pt.rowid LEFT JOIN pages p ON p.url_id = pt.rowid"
        " WHERE page_text MATCH ? ORDER BY rank"
    )
    return mention_records(conn.execute(sql, params), exclude_linking is not None, limit)


def mention_records(
    rows: Iterable[tuple[str, str | None, str, Any]], excluding: bool, limit: int | None
) -> list[dict[str, Any]]:
    """The records of ``mentions`` from rows of (URL, title, snippet, links to the target);
    ``excluding``: pages that link to it are left out (both backends)."""
    records = []
    for url, title, snippet, links in rows:
        if excluding and links:
            continue
        records.append(
            {"url": url, "title": title, "snippet": snippet, "links_to_target": bool(links)}
        )
        if limit is not None and len(records) >= limit:
            break
    return records
