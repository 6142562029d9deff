"""Backlink queries: inbound links, referring domains, top lists, the link gap (anchor
texts: :mod:`.anchortexts`).

Definitions (the README repeats them):

- A **backlink** is a distinct (source page, target URL) pair of kind ``link``. Counts of
  backlinks count such pairs, however many links (anchors, placements) a page has to the
  same URL. A pair is a **follow backlink** when any of its links is followable (no
  nofollow, sponsored or ugc).
- A link is **current** while its source page still carries it (``lost_at`` is NULL,
  :data:`storage.queries.CURRENT`); every query reads current links only unless asked
  (``include_lost``), and then gives each record ``lost_at`` and ``lost_reason``.
- A link is **internal** when source and target share a registrable domain; queries
  leave internal links out unless asked (``include_internal``).
- A **target** is a URL (``exact``: that URL; ``prefix``: every URL starting with it), a
  host (``host``: every URL on it), or a domain (``domain``: every URL on the name and
  its subdomains).

Every query is one SQL statement driven by the links table's primary key, which is
clustered by target: the inbound links of a URL are one range scan.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

from . import inlinks
from .dialect import SQLITE, Dialect
from .domainrecords import DomainTable, domain_info, domain_order, domain_records, subnet_24
from .errors import StoreError
from .identity import host_of, normalize, registrable_domain, url_hash
from .interface import LinkFilter
from .linksources import JOIN_LINK_SOURCE
from .queries import LOST_COLUMNS, current, link_record
from .records import PLACEMENTS, Target
from .vocab import FLAG_INTERNAL, LEVEL_NAMES, LEVEL_SCORES, NOT_FOLLOW_FLAGS

__all__ = [
    "MODES",
    "Target",
    "backlinks",
    "intersect",
    "referring_domains",
    "resolve_target",
    "subnet_24",
    "top",
]

MODES = ("exact", "prefix", "host", "domain")
_PAIR = "((l.source_id << 32) | l.target_id)"


class TargetError(StoreError):
    """A target that cannot be understood (not a URL, not a host name)."""


def resolve_target(conn: sqlite3.Connection, target: str, mode: str | None = None) -> Target:
    """Turn ``https://x.com/a`` (a URL, mode exact) or ``x.com`` (a name, mode domain) into SQL."""
    target = target.strip()
    if mode is not None and mode not in MODES:
        raise TargetError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if "://" in target:
        url = normalize(target)
        if url is None:
            raise TargetError(f"not an http(s) URL: {target!r}")
        mode = mode or "exact"
        host = host_of(url)
    else:
        if mode in ("exact", "prefix"):
            raise TargetError(f"mode {mode} needs a URL with a scheme, not {target!r}")
        url = None
        normalized = normalize(f"http://{target}/")
        if not target or normalized is None or "/" in target:
            raise TargetError(f"not a host or domain name: {target!r}")
        host = host_of(normalized)
        mode = mode or "domain"
    domain = registrable_domain(host)
    if mode == "exact":
        assert url is not None
        return Target(
            target,
            mode,
            domain,
            "SELECT id FROM urls WHERE hash = ? AND url = ?",
            (url_hash(url), url),
        )
    if mode == "prefix":
        assert url is not None
        return Target(
            target,
            mode,
            domain,
            "SELECT id FROM urls WHERE host_id = (SELECT id FROM hosts WHERE name = ?)"
            " AND substr(url, 1, ?) = ?",
            (host, len(url), url),
        )
    if mode == "host":
        return Target(
            target,
            mode,
            domain,
            "SELECT id FROM urls WHERE host_id = (SELECT id FROM hosts WHERE name = ?)",
            (host,),
        )
    # domain: the name and every subdomain of it (all within one registrable domain)
    return Target(
        target,
        mode,
        domain,
        "SELECT u.id FROM urls u WHERE u.host_id IN (SELECT h.id FROM hosts h"
        " WHERE h.domain_id = (SELECT id FROM domains WHERE name = ?) AND (h.name = ? OR h.name GLOB ?))",
        (domain, host, "*." + host),
    )


def link_filters(target: Target, where: LinkFilter, sql: Dialect = SQLITE) -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) on ``links l`` for the links into ``target``
    that ``where`` keeps."""
    clauses = [f"l.target_id IN ({target.url_ids_sql})", "l.kind = 0"]
    params: list[Any] = list(target.params)
    if not where.include_lost:
        clauses.append(current())
    if not where.include_internal:
        clauses.append(f"(l.flags & {FLAG_INTERNAL}) = 0")
    if where.follow_only:
        clauses.append(f"(l.flags & {NOT_FOLLOW_FLAGS}) = 0")
    if where.placement is not None:
        if where.placement not in PLACEMENTS:
            raise TargetError(
                f"unknown placement {where.placement!r}: use one of {', '.join(PLACEMENTS)}"
            )
        clauses.append(f"l.placement = {sql.mark}")
        params.append(PLACEMENTS.index(where.placement))
    return " AND ".join(clauses), params


_SOURCE_HOST = "JOIN hosts sh ON sh.id = s.host_id"
# The orders of ``backlinks`` over a link's columns (``{l}``) and its source page's
# PageRank (``{s}pagerank``). Links tied on the named columns follow their primary key
# (kind is always ``link`` here): a page of the list is then a slice of one order.
_LINK_KEY = "{l}target_id, {l}source_id, {l}anchor_id, {l}placement, {l}rel_id, {l}flags"
BACKLINK_ORDERS = {
    "authority": "{s}pagerank IS NULL, {s}pagerank DESC, {l}first_seen DESC, " + _LINK_KEY,
    "first_seen": "{l}first_seen DESC, {s}pagerank DESC, " + _LINK_KEY,
}


def backlinks(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    limit: int | None = 100,
    sort: str = "authority",
    offset: int = 0,
    ahead: tuple[str, str, bool] | None = None,
) -> list[dict[str, Any]]:
    """The current links into a target, one record per stored link, with the source page's
    authority (``source_authority``) and its registrable domain's
    (``source_domain_authority``); ``include_lost``: the lost ones too, with ``lost_at``
    and ``lost_reason``.

    ``sort="authority"`` puts the strongest source pages first; ``"first_seen"`` the
    newest links first; links tied on both in the order of their key, so that the order
    is one and the same on every call. ``offset`` skips that many links of the order
    first (a page of the list). ``ahead``: an order before ``sort``'s, as SQL over
    ``links l`` (true for the links to put last, the value, whether descending), from
    :mod:`.listpages`.
    """
    condition, params = link_filters(target, where)
    order = BACKLINK_ORDERS.get(sort)
    if order is None:
        raise TargetError(f"unknown sort {sort!r}: use authority or first_seen")
    # Filter and sort on ids first; fetch URL, anchor and rel text, and authority, only
    # for the rows kept.
    lost = f", {LOST_COLUMNS}" if where.include_lost else ""
    columns = (
        "SELECT l.target_id, l.source_id, l.anchor_id, l.rel_id, l.flags, l.placement, l.kind,"
        " l.first_seen, coalesce(l.last_seen, l.first_seen) AS last_seen, {s}pagerank AS pagerank"
        f"{lost}"
    )
    if ahead is not None:
        last, value, descending = ahead
        columns += f", {last} AS ahead_last, {value} AS ahead_value"
        order = "{x}ahead_last, {x}ahead_value" + (" DESC, " if descending else ", ") + order
    # The linking domain's authority beside the page's: a site can raise its own pages'
    # PageRank by linking them in circles (link farms do), its domain's far less.
    outer = (
        "SELECT s.url, t.url, a.text, r.tokens, x.flags, x.placement, x.kind, x.first_seen,"
        f" x.last_seen{lost.replace('l.', 'x.')}, ps.authority, ds.authority, x.pagerank"
        " FROM ({inner}) x"
        " JOIN urls s ON s.id = x.source_id LEFT JOIN page_scores ps ON ps.url_id = x.source_id"
        " JOIN urls t ON t.id = x.target_id JOIN anchors a ON a.id = x.anchor_id"
        f" LEFT JOIN rels r ON r.id = x.rel_id {_SOURCE_HOST}"
        " LEFT JOIN domain_scores ds ON ds.domain_id = sh.domain_id ORDER BY "
        + order.format(s="x.", l="x.", x="x.")
    )
    rows = None
    if sort == "authority" and limit and target.mode == "exact" and ahead is None:
        weakest = _weakest_probed(conn, target, offset + limit)
        if weakest is not None:
            # The pages at least that strong, strongest first, each probed for links into
            # the target until `offset + limit` links: those are the first ones when found
            # (the others' pages are weaker, or have no score and sort last).
            inner = (
                columns.format(s="ps.") + " FROM page_scores ps CROSS JOIN links l"
                f" WHERE ps.pagerank >= ? AND l.source_id = ps.url_id AND {condition}"
                # The index on page_scores(pagerank) gives this order up to ties: no
                # `pagerank IS NULL` here (none is), so the scan can stop at the limit.
                f" ORDER BY ps.pagerank DESC, l.first_seen DESC, {_LINK_KEY.format(l='l.')}"
                " LIMIT ? OFFSET ?"
            )
            rows = conn.execute(
                outer.format(inner=inner), [weakest, *params, limit, offset]
            ).fetchall()
            if len(rows) < limit:
                rows = None  # not enough links from those pages: read every link
    if rows is None:
        # Each linking page's PageRank from its narrow row (storage.linksources: the same
        # value as page_scores), for every link into the target.
        inner = (
            columns.format(s="src.") + f" FROM links l {JOIN_LINK_SOURCE}"
            f" WHERE {condition} ORDER BY {order.format(s='src.', l='l.', x='')}"
        )
        if limit is not None or offset:
            inner += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else limit, offset]
        rows = conn.execute(outer.format(inner=inner), params).fetchall()
    records = []
    for row in rows:
        record = link_record(*row[:-3])
        record["source_authority"] = row[-3]
        record["source_domain_authority"] = row[-2]
        records.append(record)
    return records


def _weakest_probed(conn: sqlite3.Connection, target: Target, limit: int) -> float | None:
    """The PageRank down to which to probe the strongest pages for the first ``limit``
    links into the hub URL ``target`` (None: read its links instead).

    Reading the links costs a step per link; probing pages in PageRank order, a step per
    page probed, about ``scored * limit / linking pages`` of them. On the 10M-link store
    (2.2M scored pages), CPU: at 508,443 links 0.5 ms against 128 ms; at 41,396 links 3.7
    against 17; at 10,286 links 13 against 7. A hub's linking pages are counted ahead
    (storage.inlinks); the probes stop at four times the expected number."""
    if not inlinks.hubs_among(conn, target.url_ids_sql, target.params):
        return None
    pages, scored = conn.execute(
        "SELECT (SELECT sum(backlinks) FROM hub_inlinks"
        f" WHERE target_id IN ({target.url_ids_sql})), (SELECT max(url_id) FROM page_scores)",
        target.params,
    ).fetchone()
    if not pages or not scored or pages * pages <= scored * limit:
        return None
    row = conn.execute(
        "SELECT pagerank FROM page_scores ORDER BY pagerank DESC LIMIT 1 OFFSET ?",
        (min(scored, 4 * scored * limit // pages) - 1,),
    ).fetchone()
    return row[0] if row else None


def referring_domains(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    *,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """One record per registrable domain with a current link to the target, strongest first.

    Each record has ``domain``, ``backlinks``, ``follow_backlinks``, ``first_seen``,
    ``last_seen``, ``authority``, ``ips``: the addresses its linking hosts resolved to, and
    their ``subnets`` (:func:`subnet_24`).
    ``include_lost`` also counts lost links, and adds the domains that only had lost ones;
    each record then has ``lost_at`` and ``lost_reason``: when and why its last current
    link to the target was lost (``None`` while it has one).
    """
    if limit == 0:  # "at most 0 records", as every other listing reads it
        return []
    # Strongest first: by domain PageRank, then backlinks, then name. ``keys`` holds
    # (no PageRank, -PageRank, -backlinks, domain) of the domains that can make the cut;
    # names and authority are fetched for those only, not for every linking domain.
    if limit is not None and _from_hub_rows(conn, target, where):
        # A hub's linking hosts are counted ahead (storage.inlinks): SQLite ranks a row
        # per linking domain, and only the domains kept are read in detail.
        keys, count = inlinks.strongest_domains(conn, target.url_ids_sql, target.params, limit)
        follow_count, spans = inlinks.domain_details(
            conn, target.url_ids_sql, target.params, [k[3] for k in keys]
        )
        table = DomainTable(count, follow_count, spans)
    else:
        table = linking_domains(conn, target, where)
        rank = domain_info(conn, list(table.count))
        keys = [(rank[d][2] is None, -(rank[d][2] or 0.0), -n, d) for d, n in table.count.items()]
    order, info = domain_order(keys, limit, lambda ids: domain_info(conn, ids))
    return domain_records(table, order, info, include_lost=where.include_lost)


def _from_hub_rows(conn: sqlite3.Connection, target: Target, where: LinkFilter) -> bool:
    """Whether the target's linking domains can be read from the rows counted ahead."""
    return where == LinkFilter() and inlinks.hubs_among(conn, target.url_ids_sql, target.params)


def linking_domains(conn: sqlite3.Connection, target: Target, where: LinkFilter) -> DomainTable:
    """Every domain linking to the target, as ``where`` counts the links: for a hub under
    the default filter from its rows counted ahead (a row per linking host), else from
    the links."""
    if _from_hub_rows(conn, target, where):
        count: Counter[int] = Counter()
        follow: Counter[int] = Counter()
        spans = inlinks.Spans()
        for domain, ip, n, nf, seen_first, seen_last in conn.execute(
            "SELECT h.domain_id, h.ip, r.backlinks, r.follow_backlinks, r.first_seen,"
            " coalesce(r.last_seen, r.first_seen) FROM hub_inlinks r"
            f" JOIN hosts h ON h.id = r.host_id WHERE r.target_id IN ({target.url_ids_sql})",
            target.params,
        ):
            count[domain] += n
            follow[domain] += nf
            spans.note(domain, seen_first, seen_last, ip)
        return DomainTable(count, follow, spans)
    table = DomainTable(Counter(), Counter(), inlinks.Spans())
    table.count, table.follow, table.spans = _domains_from_links(
        conn, target, where, table.lost, table.still_current
    )
    return table


def _domains_from_links(
    conn: sqlite3.Connection,
    target: Target,
    where: LinkFilter,
    lost: dict[int, tuple[int, int]],
    still_current: set[int],
) -> tuple[Counter[int], Counter[int], inlinks.Spans]:
    """Per linking domain: backlinks, follow backlinks, first and last seen, addresses,
    from the links into ``target``; with ``include_lost``, fills ``lost`` and
    ``still_current`` too."""
    # One narrow row per link, grouped here: measured on a 10M-link store, SQLite's own
    # GROUP BY with aggregates took three times as long as reading the rows.
    condition, params = link_filters(target, where)
    rows = conn.execute(
        f"SELECT {_PAIR}, sh.domain_id, sh.ip, (l.flags & {NOT_FOLLOW_FLAGS}) = 0, l.first_seen,"
        " coalesce(l.last_seen, l.first_seen)"
        + (f", {LOST_COLUMNS}" if where.include_lost else "")
        + f" FROM links l JOIN urls s ON s.id = l.source_id {_SOURCE_HOST} WHERE {condition}",
        params,
    ).fetchall()
    if where.include_lost:  # history costs its own pass; the default one stays as narrow
        for _, domain, _, _, _, _, lost_at, reason in rows:
            if lost_at is None:
                still_current.add(domain)
            elif lost.get(domain, (lost_at,))[0] <= lost_at:
                lost[domain] = (lost_at, reason)
        rows = [row[:6] for row in rows]
    domain_of: dict[int, int] = {}  # backlink (source, target pair) -> linking domain
    follow: set[int] = set()
    spans = inlinks.Spans()
    for pair, domain, ip, followable, seen_first, seen_last in rows:
        domain_of[pair] = domain
        if followable:
            follow.add(pair)
        spans.note(domain, seen_first, seen_last, ip)
    count = Counter(domain_of.values())
    follow_count = Counter(domain_of[pair] for pair in follow)
    return count, follow_count, spans


# The record's key for the name: a page is named by its URL.
_LABELS = {"page": "url", "host": "host", "domain": "domain"}


def top(
    conn: Any, *, level: str = "domain", limit: int | None = 20, sql: Dialect = SQLITE
) -> list[dict[str, Any]]:
    """The highest-authority pages, hosts or domains (needs ``linkgraph rank``)."""
    if level not in LEVEL_SCORES:
        raise TargetError(f"unknown level {level!r}: use page, host or domain")
    (table, key), (names, column), label = LEVEL_SCORES[level], LEVEL_NAMES[level], _LABELS[level]
    if (
        conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) AS one").fetchone()[0]
        == 0
    ):
        raise StoreError("no authority scores yet: run `linkgraph rank --db PATH` first")
    query = (
        f"SELECT n.{column}, sc.authority, sc.pagerank, sc.referring_domains, sc.backlinks, sc.trust"
        f" FROM {table} sc JOIN {names} n ON n.id = sc.{key}"
        f" ORDER BY sc.pagerank DESC, n.{column} {sql.bytewise} LIMIT {sql.mark}"
    )
    records = []
    for name, authority, pagerank, rd, bl, trust in conn.execute(
        query, (sql.no_limit if limit is None else limit,)
    ):
        record = {
            label: name,
            "authority": authority,
            "pagerank": pagerank,
            "referring_domains": rd,
            "backlinks": bl,
        }
        if trust is not None:
            record["trust"] = trust
        records.append(record)
    return records


def _linking_domains(
    conn: Any, target: Target, *, include_lost: bool = False, sql: Dialect = SQLITE
) -> set[int]:
    condition, params = link_filters(target, LinkFilter(include_lost=include_lost), sql)
    query = (
        "SELECT DISTINCT sh.domain_id FROM links l JOIN urls s ON s.id = l.source_id"
        f" {_SOURCE_HOST} WHERE {condition}"
    )
    return {d for (d,) in conn.execute(query, params)}


def intersect(
    conn: Any,
    competitors: list[Target],
    *,
    exclude: Target | None = None,
    min_count: int = 2,
    limit: int | None = 100,
    include_lost: bool = False,
    sql: Dialect = SQLITE,
) -> list[dict[str, Any]]:
    """Domains with current links to at least ``min_count`` competitors but none to ``exclude``.

    The competitor backlink gap: sites that link to your competitors and not to you.
    ``include_lost`` also counts the competitors a domain linked to before (each record
    then lists those in ``lost_competitors``); ``exclude`` always means current links:
    a domain that dropped its link to you is back in the gap.
    """
    if not competitors:
        raise TargetError("name at least one competitor")
    linked: dict[int, list[str]] = {}
    lost_only: dict[int, list[str]] = {}
    for competitor in competitors:
        now = _linking_domains(conn, competitor, sql=sql)
        ever = (
            _linking_domains(conn, competitor, include_lost=True, sql=sql) if include_lost else now
        )
        for domain_id in sorted(ever):
            linked.setdefault(domain_id, []).append(competitor.text)
            if domain_id not in now:
                lost_only.setdefault(domain_id, []).append(competitor.text)
    excluded = _linking_domains(conn, exclude, sql=sql) if exclude is not None else set()
    own = {c.domain for c in competitors} | ({exclude.domain} if exclude else set())
    wanted = [d for d, names in linked.items() if len(names) >= min_count and d not in excluded]
    if not wanted:
        return []
    info: dict[int, tuple[str, float | None]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for did, name, authority in conn.execute(
            f"SELECT d.id, d.name, ds.authority FROM domains d LEFT JOIN domain_scores ds ON ds.domain_id = d.id"
            f" WHERE d.id IN ({sql.marks(len(chunk))})",
            chunk,
        ):
            info[did] = (name, authority)
    records = [
        {
            "domain": info[d][0],
            "competitors": linked[d],
            "count": len(linked[d]),
            "authority": info[d][1],
        }
        | ({"lost_competitors": lost_only.get(d, [])} if include_lost else {})
        for d in wanted
        if info[d][0] not in own
    ]
    records.sort(key=lambda r: (-r["count"], -(r["authority"] or 0.0), r["domain"]))
    return records[:limit] if limit is not None else records
