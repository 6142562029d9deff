"""One batch of crawl records, written in one transaction.

First the batch's URLs, hosts, domains and anchors get their ids (:mod:`.intern`, a few
set-based statements). Then pages, their links and the frontier change together: a page's
record, its links, what it discovered and the removal of its own frontier entry commit at
once, or not at all.

A page fetched before is compared with what the store knew (recrawl history):

- links seen again get ``last_seen`` (NULL until then: most links are seen once, and a
  NULL costs no bytes; readers use ``coalesce(last_seen, first_seen)``) and lose any
  ``lost_at`` (a link that came back);
- links the page no longer carries are marked lost, reason ``removed``; redirect hops and
  canonical declarations too (a page that stopped redirecting no longer passes its score
  on);
- when the whole page stopped counting (404, 410, a redirect, a new noindex or a
  canonical pointing elsewhere, a failed fetch) all its links are marked lost with that
  reason instead, and are not refreshed; the redirect or canonical it declares now is
  current;
- a ``304 Not Modified`` refreshes ``last_seen`` of the links still standing;
- a URL now blocked by robots.txt (or otherwise skipped) leaves its history untouched.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import operator
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import numpy as np

from .edgerows import Edge, EdgeColumns, insert_rows, rows_of_keys, stored_current
from .inlinks import HubTracker
from .intern import MAX_ANCHOR as _MAX_ANCHOR
from .intern import YIELD_EVERY
from .intern import col as _col
from .intern import cols as _cols
from .intern import insert_values as _insert_values
from .intern import intern as _intern
from .intern import to_json as _json
from .linksources import KnownSources, add_sources, new_sources
from .pageloss import page_loss
from .queued import QueuedStatements, in_transaction
from .records import KINDS, LOST_REASONS, PLACEMENTS, Link, Page, QueueItem, link_flags
from .urlhashes import UrlHashes
from .vocab import QUEUE_KIND_ID, ROBOTS_NOFOLLOW, ROBOTS_NOINDEX, SKIP_REASONS, packed_flags_sql

__all__ = ["Batch", "Committed", "Edge", "begin", "commit_batch"]

_KIND_ID = {k: i for i, k in enumerate(KINDS)}
_PLACEMENT_ID = {p: i for i, p in enumerate(PLACEMENTS)}
_LOST_ID = {r: i for i, r in enumerate(LOST_REASONS)}
_INTERNAL = link_flags(Link(""), internal=True)  # the flag bit link_flags sets for internal
_NO_ROWS = np.empty((0, 8), dtype=np.int64)
_KIND_OF = operator.itemgetter(Link._fields.index("kind"))


@dataclass(slots=True)
class Batch:
    pages: list[Page] = field(default_factory=list)
    queued: list[QueueItem] = field(default_factory=list)
    hosts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    loose: list[tuple[str, list[Link], float]] = field(default_factory=list)
    # Imported links as plain rows, (source, target, anchor, rel) each, with the time they
    # were seen: loose links of kind link, placement content, without a Link per row.
    edges: list[tuple[list[Edge], int]] = field(default_factory=list)
    columns: list[EdgeColumns] = field(default_factory=list)  # the same, located beforehand

    def __bool__(self) -> bool:
        return any((self.pages, self.queued, self.hosts, self.loose, self.edges, self.columns))

    def absorb(self, later: Batch) -> None:
        """Put records buffered after this batch back behind it (a failed commit)."""
        self.pages.extend(later.pages)
        self.queued.extend(later.queued)
        self.hosts.update(later.hosts)
        self.loose.extend(later.loose)
        self.edges.extend(later.edges)
        self.columns.extend(later.columns)


@dataclass(slots=True)
class Committed:
    """How one batch changed the store's totals, as ``storage.queries.stats`` counts them:
    current links (all kinds), and per host id the pages that answered (crawled, not just
    checked). The writer keeps running totals from these, for the live display."""

    links: int = 0
    answered: dict[int, int] = field(default_factory=dict)
    # Ids of the hosts this batch looked up, for the caller to pass back in later batches.
    hosts: dict[str, int] = field(default_factory=dict)
    # Hashes of the URLs this batch inserted, for the caller's UrlHashes, and the id of
    # the first: they have the ids from it on, in this order.
    url_hashes: list[int] = field(default_factory=list)
    first_url_id: int = 0
    # Pages that have their link_sources row once this batch commits, in id order.
    sources: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


async def _previous_pages(
    conn: aiosqlite.Connection, url_ids: list[int]
) -> dict[int, tuple[int | None, int, int | None, int]]:
    rows = await conn.execute_fetchall(
        "SELECT json_group_array(json_array(url_id, status, robots, canonical_id, checked_only))"
        " FROM pages WHERE url_id IN (SELECT value FROM json_each(?))",
        (_json(url_ids),),
    )
    return {
        url_id: (status, robots, canonical, checked)
        for url_id, status, robots, canonical, checked in json.loads(rows[0][0])
    }


async def _current_links_of(conn: aiosqlite.Connection, sources: list[int]) -> int:
    """Current links (all kinds) from these source pages: one index range each."""
    if not sources:
        return 0
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM links WHERE source_id IN (SELECT value FROM json_each(?))"
        " AND lost_at IS NULL",
        (_json(sources),),
    )
    return rows[0][0]


async def _sources_with_links(conn: aiosqlite.Connection, sources: list[int]) -> list[int]:
    """Of these pages, the ones with links stored already (refetched or imported): only
    their links can change state; every link of the others is new."""
    if not sources:
        return []
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT source_id FROM links WHERE source_id IN (SELECT value FROM json_each(?))",
        (_json(sources),),
    )
    return [source for (source,) in rows]


# Another writer of the store (`rank` writing its scores, an import) may hold it for longer
# than one busy timeout of the crawl's connection (10 s): a transaction waits that many
# times over before it fails.
BEGIN_TRIES = 12


async def begin(conn: aiosqlite.Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting out another writer: each try waits the connection's
    busy timeout, and nothing is written before one succeeds, so trying again is safe."""
    for attempt in range(BEGIN_TRIES):
        try:
            await conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or attempt == BEGIN_TRIES - 1:
                raise


async def commit_batch(
    conn: aiosqlite.Connection,
    batch: Batch,
    rel_id: Callable[[tuple[str, ...]], Awaitable[int]],
    host_ids: Mapping[str, int] | None = None,
    url_hashes: UrlHashes | None = None,
    *,
    keep_frontier: bool = False,
    sources: KnownSources | None = None,
) -> Committed:
    """Write one batch in one transaction (the caller rolls back nothing: this does).

    ``host_ids`` are ids of hosts committed before (from earlier batches' ``hosts``);
    ``url_hashes`` the store's URL hashes, ``sources`` the pages known to have their
    ``link_sources`` row, when the caller keeps them (it adds the batch's ``url_hashes``
    and ``sources`` once committed). ``keep_frontier``: the pages were not fetched by a
    crawl (an archive import), so a crawl's queued entries for them stay.
    """
    await begin(conn)
    args = (host_ids or {}, url_hashes, keep_frontier, sources)
    return await in_transaction(conn, lambda queue: _write(conn, batch, rel_id, *args, queue))


async def _write(
    conn: aiosqlite.Connection,
    batch: Batch,
    rel_id: Callable[[tuple[str, ...]], Awaitable[int]],
    host_ids: Mapping[str, int],
    url_hashes: UrlHashes | None,
    keep_frontier: bool = False,
    sources_known: KnownSources | None = None,
    queue: QueuedStatements | None = None,
) -> Committed:
    # An import's batch without pages: its inserts are read by nothing after them in the
    # batch, so they run while the rest is prepared (.queued), and the hubs (no source to
    # probe: below) are read first, not behind them. None: each statement awaited.
    later = queue if not batch.pages and url_hashes is not None and url_hashes.complete else None
    hubs = await HubTracker.before(conn, []) if later is not None else None
    got = await _intern(conn, batch, host_ids, url_hashes, later)
    ids, anchor_ids, domains, first_new = got.ids, got.anchor_ids, got.domains, got.first_new
    edges = got.edges
    committed = Committed(hosts=got.hosts, url_hashes=got.new_hashes, first_url_id=first_new)
    # The change in current links is counted where it can happen: pages with links stored
    # already are counted before and after; every link of the other pages is new. A first
    # crawl pays one index probe per page for this; a URL this batch inserted (id from
    # first_new on) has no links yet and is not probed.

    def sources() -> list[int]:
        found = (
            {ids[p.url][0] for p in batch.pages}
            | {ids[s][0] for s, _, _ in batch.loose}
            | set(got.url_ids[edges.source_at].tolist())
        )
        return [source for source in found if source < first_new]

    # An import into an empty store (its writer knows every URL: url_hashes complete)
    # leaves links_source out until its end, and a probe by source would read the whole
    # table. Without pages a batch loses no link, so the links it adds are counted from
    # its own rows instead (below): those not stored and current already.
    by_keys = later is not None
    known = [] if by_keys else await _sources_with_links(conn, sources())
    links_before = await _current_links_of(conn, known)
    hubs = hubs if hubs is not None else await HubTracker.before(conn, known)
    if by_keys and hubs.hubs:  # ranked meanwhile: the hubs' counts need the sources read
        known = await _sources_with_links(conn, sources())
        hubs = await HubTracker.before(conn, known)
    # A link's key (target, source, kind, anchor, placement, rel, flags) -> first seen.
    link_rows: dict[tuple[int, ...], int] = {}
    rel_ids: dict[tuple[str, ...], int] = {(): 0}
    lists = itertools.chain((p.links for p in batch.pages), (ls for _, ls, _ in batch.loose))
    for n, links in enumerate(lists):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        for link in links:
            if link.rel not in rel_ids:
                rel_ids[link.rel] = await rel_id(link.rel)
    edge_flags: dict[tuple[str, ...], int] = {}  # rel tokens -> flags, of the batch's edges
    for rel in dict.fromkeys(edges.rels):
        edge_flags[rel] = link_flags(Link("", rel=rel))
        if rel not in rel_ids:
            rel_ids[rel] = await rel_id(rel)

    # A crawled page's links: tens per page, so per link only lookups. A link's kind,
    # placement and rel ids and its flags but the internal bit depend on its last four
    # fields alone (rel, placement, image, kind): worked out once per such class.
    classes: dict[tuple[Any, ...], tuple[int, int, int, int]] = {}

    def add_links(
        source_url: str,
        links: list[Link],
        seen: int,
        keys: list[tuple] | None = None,
        *,
        kinds: frozenset[str] | None = None,
    ) -> None:
        """Add the links' rows, first seen ``seen``; their keys to ``keys`` if given."""
        source, own = ids[source_url][0], domains[source_url]
        add_row = link_rows.setdefault
        for link in links:
            target, anchor, rel, placement, _, kind = link
            if kinds is not None and kind not in kinds:
                continue
            of = classes.get(link[2:])
            if of is None:
                of = (_KIND_ID[kind], _PLACEMENT_ID[placement], rel_ids[rel], link_flags(link))
                classes[link[2:]] = of
            key = (
                ids[target][0],
                source,
                of[0],
                anchor_ids[anchor[:_MAX_ANCHOR]],
                of[1],
                of[2],
                of[3] | _INTERNAL if domains[target] == own else of[3],
            )
            add_row(key, seen)
            if keys is not None:
                keys.append(key)

    # The loose links of an import (parquet.py: a source's links in one group).
    for source_url, links, seen_at in batch.loose:
        add_links(source_url, links, int(seen_at))
    # The edges' rows, a column at a time (.edgerows), in key order, one per key.
    edge_rows = _NO_ROWS
    if edges:
        edge_rows = edges.rows(
            got.url_ids,
            got.url_domains,
            {a: anchor_ids[a[:_MAX_ANCHOR]] for a in dict.fromkeys(edges.anchors)},
            rel_ids,
            edge_flags,
            kind=_KIND_ID["link"],
            placement=_PLACEMENT_ID["content"],
            internal=_INTERNAL,
        )
        if batch.pages or batch.loose:
            # Mixed with other links (no caller mixes them): one row per key over all of
            # them, as before, the loose links' first, then the edges', then the pages'.
            for row in edge_rows.tolist():
                link_rows.setdefault(tuple(row[:7]), row[7])
            edge_rows = _NO_ROWS

    previous = await _previous_pages(conn, [ids[p.url][0] for p in batch.pages])
    page_rows = []
    done = []
    texts = []
    unchanged = []  # (seen, source): 304 Not Modified
    # source -> (fetched, lost reason id, keys carried now): every other current link of
    # the source is lost, with that reason (0, removed, unless the whole page is lost).
    diffed: dict[int, tuple[int, int, list[tuple]]] = {}
    for n, page in enumerate(batch.pages):
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        source = ids[page.url][0]
        done.append(source)
        seen = int(page.fetched_at)
        before = previous.get(source)
        refetch = before is not None and before[0] is not None
        if refetch and page.error in SKIP_REASONS:
            continue  # blocked now (robots.txt...): we know nothing new about the page
        if refetch and page.not_modified:
            unchanged.append((page.fetched_at, seen, source))
            continue
        # This page's row is replaced below: did its host gain or lose an answered page?
        was = before is not None and before[0] is not None and not before[3]
        now = page.status is not None and not page.checked_only
        if was != now:
            host = ids[page.url][1]
            committed.answered[host] = committed.answered.get(host, 0) + (now - was)
        canonical_id = ids[page.canonical][0] if page.canonical in ids else None
        loss = page_loss(page, before, source, canonical_id) if refetch else None  # type: ignore[arg-type]
        if loss is not None:
            keys: list[tuple] = []
            add_links(page.url, page.links, seen, keys, kinds=frozenset({"redirect", "canonical"}))
            diffed[source] = (seen, _LOST_ID[loss], keys)
        elif refetch:
            keys = []
            add_links(page.url, page.links, seen, keys)
            diffed[source] = (seen, 0, keys)
        else:
            add_links(page.url, page.links, seen)
        if page.text:
            texts.append((source, page.text))
        page_rows.append(
            (
                source,
                page.status,
                page.error,
                ids[page.final_url][0] if page.final_url in ids else None,
                page.content_type,
                page.fetched_at,
                page.depth,
                page.title,
                page.lang,
                canonical_id,
                (ROBOTS_NOINDEX if page.noindex else 0) | (ROBOTS_NOFOLLOW if page.nofollow else 0),
                page.size,
                int(page.elapsed * 1000),
                page.etag,
                page.last_modified,
                list(map(_KIND_OF, page.links)).count("link"),
                int(page.checked_only),
            )
        )

    # By target and source, the rows go into the links B-tree (clustered by target) from
    # left to right, each page filled once, instead of at random places.
    key_rows = rows_of_keys(link_rows)
    stored_before = 0
    if by_keys:
        rows = edge_rows if len(edge_rows) else key_rows
        stored_before = await stored_current(conn, rows, first_new)
    await insert_rows(conn, key_rows, later)
    await insert_rows(conn, edge_rows, later)
    # The pages that had no links before get their row (storage.linksources), each
    # once (an import's repeat), in id order, less those known to have one already.
    edge_sources = np.unique(got.url_ids[edges.source_at], return_index=True)
    edge_sources = (edge_sources[0], got.url_hosts[edges.source_at][edge_sources[1]])
    rows = new_sources(link_rows, ids.values(), known, *edge_sources)
    committed.sources = await add_sources(conn, rows, sources_known, later)
    if diffed:
        await conn.execute("DELETE FROM temp.sk")
        await conn.execute(
            "INSERT INTO temp.sk(target_id, source_id, anchor_id, flags)"
            f" SELECT {_col(0)}, {_col(1)}, {_col(3)},"
            f" {packed_flags_sql(_col(6), _col(2), _col(4), _col(5))} FROM json_each(?)",
            (_json([key for _, _, keys in diffed.values() for key in keys]),),
        )
        await conn.executemany(
            "UPDATE links SET lost_at = ?, lost_reason = ? WHERE source_id = ? AND lost_at IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM temp.sk k WHERE k.source_id = links.source_id"
            " AND k.target_id = links.target_id AND k.anchor_id = links.anchor_id"
            " AND k.flags = links.flags)",
            [(seen, reason, source) for source, (seen, reason, _) in diffed.items()],
        )
    if unchanged:
        await conn.executemany(
            "UPDATE pages SET fetched_at = ? WHERE url_id = ?",
            [(at, source) for at, _, source in unchanged],
        )
        await conn.executemany(
            "UPDATE links SET last_seen = ? WHERE source_id = ? AND lost_at IS NULL",
            [(seen, source) for _, seen, source in unchanged],
        )
    if page_rows:
        # Bound, not JSON: 15,000 page rows in batches of 1,000 took a third of the CPU.
        await _insert_values(
            conn,
            "INSERT INTO pages(url_id, status, error, final_id, content_type, fetched_at,"
            " depth, title, lang, canonical_id, robots, size, elapsed_ms, etag,"
            " last_modified, outlinks, checked_only)",
            page_rows,
            "ON CONFLICT(url_id) DO UPDATE SET status = excluded.status,"
            " error = excluded.error, final_id = excluded.final_id,"
            " content_type = excluded.content_type, fetched_at = excluded.fetched_at,"
            " title = excluded.title, lang = excluded.lang,"
            " canonical_id = excluded.canonical_id, robots = excluded.robots,"
            " size = excluded.size, elapsed_ms = excluded.elapsed_ms,"
            " etag = excluded.etag, last_modified = excluded.last_modified,"
            " outlinks = excluded.outlinks, checked_only = excluded.checked_only",
        )
    if texts:
        await conn.execute(
            "DELETE FROM page_text WHERE rowid IN (SELECT value FROM json_each(?))",
            (_json([s for s, _ in texts]),),
        )
        # In rowid order: FTS5 writes out the terms it holds (a new segment, merged later)
        # whenever a row comes with a rowid below the last one, and a crawl's pages come in
        # fetch order. Unsorted, a batch's texts cost the index three times the CPU.
        await _insert_values(conn, "INSERT INTO page_text(rowid, text)", sorted(texts))
    if batch.queued:
        await conn.execute(
            f"INSERT OR IGNORE INTO frontier(url_id, host_id, depth, hops, kind) SELECT {_cols(5)} FROM json_each(?)",
            (
                _json(
                    [
                        (*ids[item.url], item.depth, item.hops, QUEUE_KIND_ID[item.kind])
                        for item in batch.queued
                    ]
                ),
            ),
        )
    if done and not keep_frontier:
        await conn.execute(
            "DELETE FROM frontier WHERE url_id IN (SELECT value FROM json_each(?))", (_json(done),)
        )
    if batch.hosts:
        await conn.executemany(
            "UPDATE hosts SET ip = coalesce(?, ip), note = coalesce(?, note) WHERE name = ?",
            [(ip, note, host) for host, (ip, note) in batch.hosts.items()],
        )
    old = set(known)
    if hubs.hubs:  # a store never ranked has none: nothing to keep, nothing to build
        await (later or QueuedStatements(conn)).drain()  # the hub rows read the links
        urls = itertools.chain((p.url for p in batch.pages), (s for s, _, _ in batch.loose))
        source_hosts = {ids[u][0]: ids[u][1] for u in urls}
        source_hosts.update(
            zip(
                got.url_ids[edges.source_at].tolist(),
                got.url_hosts[edges.source_at].tolist(),
                strict=True,
            )
        )
        # A source the batch diffed may have lost rows the batch itself wrote (the same
        # page twice, or a page and loose links from it): read those from the links too.
        await hubs.after(
            itertools.chain(map(tuple, key_rows.tolist()), map(tuple, edge_rows.tolist())),
            old | diffed.keys(),
            source_hosts,
        )
    if by_keys:
        committed.links = len(link_rows) + len(edge_rows) - stored_before
    else:
        committed.links = (
            await _current_links_of(conn, known)
            - links_before
            + (sum(1 for key in link_rows if key[1] not in old) if old else len(link_rows))
            + int(np.isin(edge_rows[:, 1], np.array(sorted(old), np.int64), invert=True).sum())
        )
    return committed
