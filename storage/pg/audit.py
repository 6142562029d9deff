"""What the backlink audits and the graph export read, on PostgreSQL.

The rows of :mod:`storage.audit`, :mod:`storage.scores` and :mod:`storage.graphload`
from PostgreSQL, turned into records by the same functions (``backlink_detail``,
``broken_record``; ``changes`` is SQLite's own, in PostgreSQL's dialect) so
that both backends answer alike. Rows are
read in the links' primary-key order, the order SQLite meets them in, where the records
keep the order of the rows. ``mentions`` is PostgreSQL full-text search: the same pages
as SQLite's FTS5 finds, ranked by ``ts_rank`` and quoted by ``ts_headline`` (the order
among them and the snippets are PostgreSQL's own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import audit as _sqlite_audit
from ..audit import DETAIL_SQL, UNREACHABLE, backlink_detail, broken_record, mention_records
from ..backlinks import link_filters
from ..dialect import POSTGRES
from ..interface import LinkFilter
from ..queries import CURRENT
from ..records import BacklinkDetail, Target
from ..vocab import LEVEL_NAMES, LEVEL_SCORES, NOT_FOLLOW_FLAGS
from .backlinks import _LINK_KEY
from .queries import BYTEWISE

if TYPE_CHECKING:
    from ..graphload import GraphArrays

__all__ = [
    "backlink_details",
    "broken_links",
    "changes",
    "domain_authority",
    "domain_sizes",
    "integers",
    "link_graph",
    "mentions",
    "node_names",
    "node_scores",
    "page_texts",
    "target_domain_links_to",
]

_KEY_ORDER = " ORDER BY " + ", ".join(f"l.{c}" for c in _LINK_KEY)


def backlink_details(conn: Any, target: Target, where: LinkFilter) -> list[BacklinkDetail]:
    condition, params = link_filters(target, where, POSTGRES)
    rows = conn.execute(f"{DETAIL_SQL} WHERE {condition}{_KEY_ORDER}", params)
    return [backlink_detail(row) for row in rows]


def domain_sizes(conn: Any, domain_ids: set[int]) -> dict[int, int]:
    return dict(
        conn.execute(
            "SELECT h.domain_id, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            " JOIN hosts h ON h.id = u.host_id WHERE p.status BETWEEN 200 AND 299"
            " AND h.domain_id = ANY(%s) GROUP BY h.domain_id",
            (sorted(domain_ids),),
        )
    )


def page_texts(conn: Any, url_ids: set[int]) -> dict[int, str]:
    return dict(
        conn.execute(
            "SELECT url_id, text FROM page_text WHERE url_id = ANY(%s)", (sorted(url_ids),)
        )
    )


def target_domain_links_to(conn: Any, target: Target, domain_ids: set[int]) -> set[int]:
    return _sqlite_audit.target_domain_links_to(conn, target, domain_ids, POSTGRES)


def changes(
    conn: Any, target: Target, *, since: str | None, by: str, include_internal: bool
) -> dict[str, list[dict[str, Any]]]:
    return _sqlite_audit.changes(
        conn,
        target,
        since=since,
        by=by,
        include_internal=include_internal,
        sql=POSTGRES,
        order=_KEY_ORDER,
    )


def broken_links(
    conn: Any, target: Target | None, *, outbound: bool, limit: int | None
) -> list[dict[str, Any]]:
    clauses = [
        "l.kind = 0",
        CURRENT,
        "(p.status >= 400 OR (p.status IS NULL AND p.error = ANY(%s)))",
    ]
    params: list[Any] = [list(UNREACHABLE)]
    if target is not None:
        column = "l.source_id" if outbound else "l.target_id"
        clauses.append(f"{column} IN ({target.url_ids_sql})")
        params.extend(target.params)
    params.append(limit)
    sql = (
        "SELECT s.url, t.url, a.text, l.flags, l.placement, p.status, p.error, p.fetched_at"
        " FROM links l JOIN pages p ON p.url_id = l.target_id JOIN urls s ON s.id = l.source_id"
        " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
        f" WHERE {' AND '.join(clauses)} ORDER BY t.url {BYTEWISE}, s.url {BYTEWISE},"
        + _KEY_ORDER.removeprefix(" ORDER BY ")
        + " LIMIT %s"
    )
    return [broken_record(row) for row in conn.execute(sql, params)]


def mentions(
    conn: Any, phrase: str, *, exclude_linking: Target | None, limit: int | None
) -> list[dict[str, Any]]:
    """Pages whose visible text holds ``phrase`` (its words in a row, as FTS5's phrase
    query), best matches first; with ``exclude_linking``, not those that link to it."""
    words = phrase.replace('"', " ").split()
    if not words:
        raise ValueError("give a brand name or phrase to look for")
    linking = "FALSE"
    params: list[Any] = [" ".join(words)]
    if exclude_linking is not None:
        linking = (
            "EXISTS (SELECT 1 FROM links l WHERE l.source_id = pt.url_id AND l.kind = 0"
            f" AND {CURRENT} AND l.target_id IN ({exclude_linking.url_ids_sql}))"
        )
        params = [*exclude_linking.params, *params]  # the select list comes first
    sql = (
        "SELECT u.url, p.title, ts_headline('simple', pt.text, q, 'StartSel=[, StopSel=],"
        ' MaxWords=12, MinWords=4, MaxFragments=1, FragmentDelimiter=" … "\'),'
        f" {linking} FROM phraseto_tsquery('simple', %s) q JOIN page_text pt ON pt.words @@ q"
        " JOIN urls u ON u.id = pt.url_id LEFT JOIN pages p ON p.url_id = pt.url_id"
        f" ORDER BY ts_rank(pt.words, q) DESC, u.url {BYTEWISE}"
    )
    return mention_records(conn.execute(sql, params), exclude_linking is not None, limit)


def domain_authority(conn: Any) -> dict[int, float | None]:
    return {
        did - 1: authority
        for did, authority in conn.execute("SELECT domain_id, authority FROM domain_scores")
    }


def node_names(conn: Any, level: str, ids: Iterable[int]) -> dict[int, str]:
    table, column = LEVEL_NAMES[level]
    wanted = sorted({int(i) + 1 for i in ids})
    rows = conn.execute(f"SELECT id, {column} FROM {table} WHERE id = ANY(%s)", (wanted,))
    return {rid - 1: name for rid, name in rows}


def node_scores(conn: Any, level: str) -> dict[int, dict[str, Any]]:
    table, key = LEVEL_SCORES[level]
    scores = {}
    for node, authority, pagerank, backlinks, domains, trust in conn.execute(
        f"SELECT {key}, authority, pagerank, backlinks, referring_domains, trust FROM {table}"
    ):
        attrs = {
            "authority": authority,
            "pagerank": pagerank,
            "backlinks": backlinks,
            "referring_domains": domains,
        }
        if trust is not None:
            attrs["trust"] = trust
        scores[node - 1] = attrs
    return scores


def integers(conn: Any, sql: str) -> Any:
    """The one integer column of ``sql``, as an int64 array, through ``COPY TO``: parsed
    by numpy in C, not a Python object per row."""
    import numpy as np

    # psycopg hands COPY's text over a row at a time: appended to one buffer, not kept as
    # an object per row (about 200 bytes a link before, under 50 now).
    text = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT") as copy:
        for chunk in copy:
            text += chunk
    if not text:
        return np.zeros(0, np.int64)
    return np.fromstring(text.decode("ascii"), dtype=np.int64, sep=" ")


def link_graph(conn: Any) -> GraphArrays:
    """Every current link and the URL → host → domain maps, as
    :func:`storage.graphload.load_graph` reads them from SQLite."""
    import numpy as np

    from ..graphload import check_packable, distinct_pairs, graph_arrays, place_ids

    def id_map(sql: str, n: int) -> Any:
        out = np.zeros(n, dtype=np.int32)
        place_ids(out, integers(conn, sql))
        return out

    top = conn.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM urls), (SELECT coalesce(max(id), 0) FROM hosts),"
        " (SELECT coalesce(max(id), 0) FROM domains)"
    ).fetchone()
    n_urls, n_hosts, n_domains = top
    check_packable(n_urls)
    url_host = id_map("SELECT (id << 32) | host_id FROM urls", n_urls)
    host_domain = id_map("SELECT (id << 32) | domain_id FROM hosts", n_hosts)
    pairs = distinct_pairs(
        integers(
            conn,
            "SELECT (target_id << 33) | (source_id << 1)"
            f" | ((flags & {NOT_FOLLOW_FLAGS}) = 0)::int FROM links"
            " WHERE kind = 0 AND lost_at IS NULL",
        )
    )
    # One redirect per page: its latest current one (SQLite: the first such row by key).
    packed = integers(
        conn,
        "SELECT DISTINCT ON (source_id) (source_id << 32) | target_id FROM links"
        " WHERE kind = 1 AND lost_at IS NULL"
        " ORDER BY source_id, coalesce(last_seen, first_seen) DESC, target_id",
    )
    return graph_arrays((n_urls, n_hosts, n_domains), pairs, packed, url_host, host_domain)
