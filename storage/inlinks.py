"""The linking hosts of hub URLs, counted ahead: what ``referring-domains`` reads for a
target with tens of thousands of links instead of every one of those links.

Answering "which domains link to this URL" from the links table costs a lookup of every
linking page's host (the link row holds the page, not its host): about 2 µs a link, so
60 ms for a URL with 10,000 links and well over a second at 500,000. For the few URLs with
at least :data:`HUB_LINKS` current links (*hubs*), ``hub_inlinks`` keeps one row per
(target URL, linking host) with exactly what ``referring_domains`` derives from those
links under its default filter (current, external, kind ``link``, any placement):

- ``backlinks``: distinct linking pages (backlinks: (source, target) pairs, one target);
- ``follow_backlinks``: those with at least one followable link;
- ``first_seen``: the oldest ``first_seen`` of those links; ``last_seen``: the newest
  ``coalesce(last_seen, first_seen)``, NULL when it equals ``first_seen`` (no bytes).

``hub_targets`` lists the hubs: a hub whose links are all lost is still a hub, answered
from its (then empty) rows. Hubs are chosen where counting is cheap: when the store is
migrated to this schema (every hub counted) and on every ``linkgraph rank``
(:func:`refresh`: new hubs counted, the others kept); a URL that passes the threshold
in between is answered from its links, exactly as before.

Every write keeps the rows exact (:class:`HubTracker`, which :mod:`.commit` runs around
each batch): counts move by the pairs that appeared or went; the oldest and newest times move
when a batch adds an older or newer one; when a batch loses the link that held a group's
oldest or newest time, that group alone is counted again from the links.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from . import hubanchors
from .vocab import FLAG_INTERNAL, NOT_FOLLOW_FLAGS

__all__ = [
    "HUB_LINKS",
    "HubTracker",
    "Spans",
    "count_all",
    "domain_details",
    "hubs_among",
    "rebuild",
    "refresh",
    "strongest_domains",
]

# A target with at least this many current external links is a hub. Its rows cost about
# 21 bytes per linking host (on the 10M-link benchmark store: 41 hubs, 887,232 rows,
# 18 MiB, 1.9 bytes per link); below it the links answer in tens of milliseconds.
HUB_LINKS = 10_000

# The links the rows count, as SQL over ``links l``: referring_domains' default filter.
COUNTED = f"l.kind = 0 AND l.lost_at IS NULL AND (l.flags & {FLAG_INTERNAL}) = 0"
_FOLLOW = f"(l.flags & {NOT_FOLLOW_FLAGS}) = 0"

# One group's values from its links (GROUP BY target, host); the migration to this
# schema repeats it in SQL of its own, as migrations never change.
_GROUP_VALUES = (
    "count(DISTINCT l.source_id),"
    f" count(DISTINCT CASE WHEN {_FOLLOW} THEN l.source_id END),"
    " min(l.first_seen),"
    " nullif(max(coalesce(l.last_seen, l.first_seen)), min(l.first_seen))"
)


class _Conn(Protocol):
    """What :func:`rebuild` needs of a connection (sqlite3's, in a transaction)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def rebuild(conn: _Conn, *, min_links: int = HUB_LINKS) -> int:
    """Choose the hubs again (targets with ``min_links`` or more counted links) and count
    all their rows from the links; returns how many hubs. Run inside the caller's
    transaction. :func:`refresh` does the same work for the hubs that changed only."""
    conn.execute("DELETE FROM hub_inlinks")
    conn.execute("DELETE FROM hub_anchors")
    conn.execute("DELETE FROM hub_targets")
    return _choose(conn, min_links)


def refresh(conn: Any, *, min_links: int = HUB_LINKS, wanted: Iterable[int] | None = None) -> int:
    """What ``linkgraph rank`` runs, in a transaction of its own (a sqlite3 connection in
    autocommit): URLs that reached ``min_links`` counted links become hubs, their rows
    counted from the links; hubs that fell below stop being hubs. The rows of the hubs
    that stay are exact already (every write keeps them so) and are kept, which on the
    10M-link store saves recounting 3.5M links (7 of its 10 s). Returns how many hubs.

    ``wanted``: the hubs' URL ids, when the caller has counted them already (``rank``
    does, from the links it reads: :func:`storage.graphload.load_graph`), which saves a
    pass over the links (1.5 s on that store). Counted from an earlier read, they may
    miss a URL that passed the threshold since, which is answered from its links, as
    between two ranks; a hub's rows are exact whatever its count."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        hubs = _choose(conn, min_links, wanted)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return hubs


def _choose(conn: Any, min_links: int, counted: Iterable[int] | None = None) -> int:
    if counted is None:
        rows = conn.execute(
            f"SELECT l.target_id FROM links l WHERE {COUNTED}"
            " GROUP BY l.target_id HAVING count(*) >= ?",
            (min_links,),
        ).fetchall()
        counted = [t for (t,) in rows]
    wanted = [int(t) for t in counted]
    have = {t for (t,) in conn.execute("SELECT target_id FROM hub_targets").fetchall()}
    gone = json.dumps(sorted(have - set(wanted)))
    new = json.dumps(sorted(set(wanted) - have))
    conn.execute(
        "DELETE FROM hub_inlinks WHERE target_id IN (SELECT value FROM json_each(?))", (gone,)
    )
    conn.execute(
        "DELETE FROM hub_anchors WHERE target_id IN (SELECT value FROM json_each(?))", (gone,)
    )
    conn.execute(
        "DELETE FROM hub_targets WHERE target_id IN (SELECT value FROM json_each(?))", (gone,)
    )
    conn.execute("INSERT INTO hub_targets(target_id) SELECT value FROM json_each(?)", (new,))
    conn.execute(_INSERT_ROWS, (new,))
    conn.execute(hubanchors.INSERT_GROUPS, (new,))
    return len(wanted)


# The rows of the hub URLs ``h.value`` (json_each), counted from their links.
_INSERT_ROWS = (
    "INSERT INTO hub_inlinks(target_id, host_id, backlinks, follow_backlinks, first_seen,"
    f" last_seen) SELECT l.target_id, s.host_id, {_GROUP_VALUES}"
    " FROM json_each(?) h JOIN links l ON l.target_id = h.value"
    f" JOIN urls s ON s.id = l.source_id WHERE {COUNTED} GROUP BY l.target_id, s.host_id"
)


def count_all(conn: Any) -> None:
    """Count the rows of every hub again from its links (a sqlite3 connection in a
    transaction): for a store whose links were written around the writer, a copy from
    PostgreSQL (:mod:`.pg.copy`), which keeps no hub rows up to date."""
    hubs = [t for (t,) in conn.execute("SELECT target_id FROM hub_targets")]
    conn.execute("DELETE FROM hub_inlinks")
    conn.execute(_INSERT_ROWS, (json.dumps(hubs),))


def hubs_among(conn: Any, url_ids_sql: str, params: Iterable[Any]) -> bool:
    """Whether the URLs that ``url_ids_sql`` selects are all hubs (and there is one).

    Stops at the first URL that is not a hub, so a domain of a million URLs, or a store
    with no hub at all, costs a lookup or two, not a pass over its URLs."""
    params = tuple(params)
    return bool(
        conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM hub_targets) AND EXISTS ({url_ids_sql})"
            f" AND NOT EXISTS (SELECT 1 FROM ({url_ids_sql}) u"
            " WHERE u.id NOT IN (SELECT target_id FROM hub_targets))",
            params * 2,
        ).fetchone()[0]
    )


def strongest_domains(
    conn: Any, url_ids_sql: str, params: Iterable[Any], limit: int | None
) -> tuple[list[tuple[bool, float, int, int]], dict[int, int]]:
    """The linking domains of the hub URLs that ``url_ids_sql`` selects, strongest first
    as ``referring_domains`` orders them before names: ``(no PageRank, -PageRank,
    -backlinks, domain id)`` of the first ``limit`` and of any tied with the last of
    them; and the backlinks of each. SQLite groups and sorts; Python reads the head."""
    cur = conn.execute(
        "WITH g AS (SELECT h.domain_id AS d, sum(r.backlinks) AS n FROM hub_inlinks r"
        f" JOIN hosts h ON h.id = r.host_id WHERE r.target_id IN ({url_ids_sql})"
        " GROUP BY h.domain_id)"
        " SELECT g.d, g.n, ds.pagerank FROM g LEFT JOIN domain_scores ds ON ds.domain_id = g.d"
        " ORDER BY ds.pagerank IS NULL, ds.pagerank DESC, g.n DESC",
        tuple(params),
    )
    keys: list[tuple[bool, float, int, int]] = []
    count: dict[int, int] = {}
    for domain, n, pagerank in cur:
        key = (pagerank is None, -(pagerank or 0.0), -n, domain)
        if limit is not None and len(keys) >= limit and key[:3] != keys[-1][:3]:
            break  # past the cut and its ties (names order those)
        keys.append(key)
        count[domain] = n
    cur.close()
    return keys, count


class Spans:
    """Per linking domain, as its links or hosts are met: the oldest ``first_seen``, the
    newest ``last_seen``, and the addresses its hosts resolved to."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.ips: dict[int, set[str]] = {}

    def note(self, domain: int, seen_first: int, seen_last: int, ip: str | None) -> None:
        if self.first.get(domain, seen_first) >= seen_first:
            self.first[domain] = seen_first
        if self.last.get(domain, seen_last) <= seen_last:
            self.last[domain] = seen_last
        if ip is not None:
            self.ips.setdefault(domain, set()).add(ip)


def domain_details(
    conn: Any, url_ids_sql: str, params: Iterable[Any], domains: list[int]
) -> tuple[dict[int, int], Spans]:
    """Follow backlinks, and the first seen, last seen and host addresses of ``domains``
    linking to the hub URLs that ``url_ids_sql`` selects."""
    follow: dict[int, int] = {}
    spans = Spans()
    for domain, ip, nf, seen_first, seen_last in conn.execute(
        "SELECT h.domain_id, h.ip, r.follow_backlinks, r.first_seen,"
        " coalesce(r.last_seen, r.first_seen) FROM hosts h JOIN hub_inlinks r ON r.host_id = h.id"
        f" WHERE h.domain_id IN (SELECT value FROM json_each(?)) AND r.target_id IN ({url_ids_sql})",
        (json.dumps(domains), *params),
    ):
        follow[domain] = follow.get(domain, 0) + nf
        spans.note(domain, seen_first, seen_last, ip)
    return follow, spans


# A (source, target) pair's part of its group: (host, followable, oldest, newest).
_Pair = tuple[int, bool, int, int]


class HubTracker:
    """Keeps ``hub_inlinks`` and ``hub_anchors`` exact across one batch of link writes (an aiosqlite
    connection inside the batch's transaction)::

        tracker = await HubTracker.before(conn, sources_with_links)
        ...  # the batch's inserts and updates of links, all from the batch's sources
        await tracker.after(link_rows_written, sources_to_read_back, host_of_source)

    Only the links into hubs of pages that had links before are read, twice, through
    ``links_source``; with no hub (a store never ranked) it reads nothing at all.
    """

    def __init__(
        self,
        conn: Any,
        hubs: frozenset[int],
        before: dict[tuple[int, int], _Pair],
        anchors_before: dict[hubanchors.Key, bool],
    ):
        self.conn = conn
        self.hubs = hubs
        self._before = before
        self._anchors_before = anchors_before

    @classmethod
    async def before(cls, conn: Any, sources: list[int]) -> HubTracker:
        hubs = frozenset(
            t for (t,) in await conn.execute_fetchall("SELECT target_id FROM hub_targets")
        )
        before = await _pairs(conn, sources, hubs) if hubs and sources else {}
        return cls(conn, hubs, before, await hubanchors.pairs(conn, sources, hubs))

    async def after(
        self, rows: Iterable[tuple[Any, ...]], known: set[int], hosts: Mapping[int, int]
    ) -> None:
        """Apply the batch. ``rows`` are the link rows it wrote (``target, source, kind,
        anchor, placement, rel, flags, seen``), ``known`` the sources to read back from
        the links after it (those given to :meth:`before`, and any the batch diffed:
        its own diff may have lost rows it wrote), ``hosts`` the host of each source. Any
        other source has, after, exactly its rows of this batch: its pairs are worked
        out here."""
        if not self.hubs:
            return
        rows = list(rows)
        fresh: dict[tuple[int, int], _Pair] = {}
        wanted = {s for _, s in self._before}
        for target, source, kind, _, _, _, flags, seen in rows:
            if target not in self.hubs or kind != 0 or flags & FLAG_INTERNAL:
                continue
            if source in known:
                wanted.add(source)
                continue
            follow = not flags & NOT_FOLLOW_FLAGS
            pair = fresh.get((target, source))
            fresh[target, source] = (
                (hosts[source], follow, seen, seen)
                if pair is None
                else (pair[0], pair[1] or follow, min(pair[2], seen), max(pair[3], seen))
            )
        now = await _pairs(self.conn, list(wanted), self.hubs) if wanted else {}
        now.update(fresh)
        # The same pairs by anchor, for hub_anchors (storage.hubanchors).
        anchors_now = await hubanchors.pairs(self.conn, list(wanted), self.hubs)
        anchors_now.update(hubanchors.fresh(rows, self.hubs, known))
        await hubanchors.apply(self.conn, self._anchors_before, anchors_now)
        groups: dict[tuple[int, int], list[tuple[_Pair | None, _Pair | None]]] = {}
        for key in self._before.keys() | now.keys():
            old, new = self._before.get(key), now.get(key)
            if old != new:
                host = (old or new)[0]  # type: ignore[index]
                groups.setdefault((key[0], host), []).append((old, new))
        if groups:
            await self._apply(groups)

    async def _apply(
        self, groups: dict[tuple[int, int], list[tuple[_Pair | None, _Pair | None]]]
    ) -> None:
        # Imported here: intern loads numpy and aiosqlite, which the queries of this module
        # (read by every backlink command) must not load.
        from .intern import col, cols

        stored = {
            (t, h): (n, nf, first, last)
            for t, h, n, nf, first, last in await self.conn.execute_fetchall(
                "SELECT r.target_id, r.host_id, r.backlinks, r.follow_backlinks, r.first_seen,"
                " coalesce(r.last_seen, r.first_seen) FROM hub_inlinks r"
                f" JOIN json_each(?) j ON r.target_id = {col(0, 'j.value')}"
                f" AND r.host_id = {col(1, 'j.value')}",
                (json.dumps(list(groups)),),
            )
        }
        writes: list[tuple[int, int, int, int, int, int | None]] = []
        recount: list[tuple[int, int]] = []
        for (target, host), changes in groups.items():
            row = stored.get((target, host))
            n, nf, first, last = row if row is not None else (0, 0, None, None)
            exact = row is not None or all(old is None for old, _ in changes)
            for old, new in changes:
                n += (new is not None) - (old is not None)
                nf += (new is not None and new[1]) - (old is not None and old[1])
                if old is not None and (
                    (old[2] == first and (new is None or new[2] > old[2]))
                    or (old[3] == last and (new is None or new[3] < old[3]))
                ):
                    exact = False  # the group's oldest or newest link went: count again
                if new is not None:
                    first = new[2] if first is None else min(first, new[2])
                    last = new[3] if last is None else max(last, new[3])
            if not exact:
                recount.append((target, host))
            elif n:
                writes.append((target, host, n, nf, first, None if last == first else last))  # type: ignore[arg-type]
            else:
                writes.append((target, host, 0, 0, 0, None))  # deleted below
        if recount:
            await self.conn.execute(
                "DELETE FROM hub_inlinks WHERE (target_id, host_id) IN"
                f" (SELECT {col(0)}, {col(1)} FROM json_each(?))",
                (json.dumps(recount),),
            )
            # The URLs of each host, each probed for links into its target: a range of
            # urls_host and one index seek per URL. CROSS JOIN fixes that order: left to
            # choose, SQLite scanned the hub's whole range of links instead (2.4 s for two
            # hosts of a 500,000-link hub, against 12 ms).
            await self.conn.execute(
                "INSERT INTO hub_inlinks(target_id, host_id, backlinks, follow_backlinks,"
                f" first_seen, last_seen) SELECT l.target_id, s.host_id, {_GROUP_VALUES}"
                " FROM json_each(?) j CROSS JOIN urls s CROSS JOIN links l"
                f" WHERE s.host_id = {col(1, 'j.value')} AND l.target_id = {col(0, 'j.value')}"
                f" AND l.source_id = s.id AND {COUNTED} GROUP BY l.target_id, s.host_id",
                (json.dumps(recount),),
            )
        if writes:
            await self.conn.execute(
                "INSERT INTO hub_inlinks(target_id, host_id, backlinks, follow_backlinks,"
                f" first_seen, last_seen) SELECT {cols(6)} FROM json_each(?) WHERE {col(2)} > 0"
                " ON CONFLICT DO UPDATE"
                " SET backlinks = excluded.backlinks, follow_backlinks = excluded.follow_backlinks,"
                " first_seen = excluded.first_seen, last_seen = excluded.last_seen",
                (json.dumps(writes),),
            )
            await self.conn.execute(
                "DELETE FROM hub_inlinks WHERE (target_id, host_id) IN"
                f" (SELECT {col(0)}, {col(1)} FROM json_each(?) WHERE {col(2)} = 0)",
                (json.dumps(writes),),
            )


async def _pairs(
    conn: Any, sources: list[int], hubs: frozenset[int]
) -> dict[tuple[int, int], _Pair]:
    """The counted links from ``sources`` into hubs, one entry per (target, source) pair.

    Driven by ``links_source`` (the unary ``+`` keeps SQLite from scanning the hubs'
    ranges of the primary key instead): a few dozen index entries per source.
    """
    rows = await conn.execute_fetchall(
        f"SELECT l.target_id, l.source_id, s.host_id, max({_FOLLOW}), min(l.first_seen),"
        " max(coalesce(l.last_seen, l.first_seen)) FROM links l JOIN urls s ON s.id = l.source_id"
        " WHERE l.source_id IN (SELECT value FROM json_each(?))"
        " AND +l.target_id IN (SELECT value FROM json_each(?))"
        f" AND {COUNTED} GROUP BY l.target_id, l.source_id",
        (json.dumps(sources), json.dumps(sorted(hubs))),
    )
    return {(t, s): (h, bool(f), first, last) for t, s, h, f, first, last in rows}
