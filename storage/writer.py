"""The store's one writer: buffered records, committed in batches, one transaction each.

Why batches: a crawl produces tens of links per page; one transaction per page would
spend its time in fsync. Why one writer: SQLite allows one anyway, and a single owner of
the interning (URL, host, domain, anchor ids) keeps ``(hash, url)`` unique without a
UNIQUE index on URL text.

Crash safety rests on one invariant: **a page's record, its links and the frontier entries
it discovered commit in the same transaction, and its own frontier entry is deleted in
that same transaction.** A ``kill -9`` therefore loses only pages whose batch had not
committed; their URLs are still in the frontier and are fetched again on resume, and
what they discovered is discovered again.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
from collections.abc import Collection, Sequence
from typing import Any

import aiosqlite

from linkgraph.cores import usable_cores

from . import schema, sealing
from .commit import Batch, Edge, begin, commit_batch
from .edgerows import EdgeColumns
from .errors import StoreError, from_sqlite
from .identity import url_hash
from .interface import BATCH_PAGES, BufferedWriter, ResumeState
from .linksources import KnownSources
from .queries import ANSWERED
from .records import Link, Page, QueueItem
from .urlhashes import UrlHashes
from .vocab import QUEUE_KIND, QUEUE_KIND_ID, SKIP_REASONS


def queue_checks_sql() -> str:
    """Queue (kind 3, check) every link target that has no page row yet."""
    return (
        "INSERT OR IGNORE INTO frontier(url_id, host_id, depth, hops, kind)"
        " SELECT DISTINCT l.target_id, u.host_id, 0, 0, 3 FROM links l JOIN urls u ON u.id = l.target_id"
        " WHERE l.kind = 0 AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.url_id = l.target_id)"
    )


__all__ = ["StoreWriter"]

# The writer connection's SQLite page cache, in KiB. It is the frontier's largest fixed
# cost; measured (docs/benchmarks.md, "Frontier memory"), 8 MiB instead of 32 took
# 25 MiB off a crawl's resident set and made a 1M-link import no slower: pages it
# misses are read back from the OS's file cache.
_CACHE_KIB = 8_192

# The page cache while the deferred indexes are built, in KiB: also the size of the
# sorted runs CREATE INDEX's sorter spills (temp_store=FILE). Runs of 1 MiB, sorted in
# the CPU's cache (4 MiB of L2 here), took 10-15% less CPU than runs of 8 MiB for the
# three indexes of a million-link import (docs/benchmarks.md, "Fifth pass").
_SORT_KIB = 1_024

# Helper threads of that sorter (PRAGMA threads). The builds run when an import has
# read its file: the other core is idle. On a 2-core machine, two helpers built a
# million-link import's three indexes in 1.33-1.42 s instead of 1.86-1.94 s (one: 1.61),
# for 0.5 s more CPU (docs/benchmarks.md, "Import").
_SORT_THREADS = 2

# Host ids remembered across batches (about 100 bytes each); past this, forgotten and
# looked up again.
_HOST_IDS = 500_000


async def _count_committed(conn: aiosqlite.Connection) -> tuple[int, dict[int, int]]:
    """Current links (all kinds, not lost) and answered pages per host id, counted."""
    # count(*) reads the smallest index, lost links their own.
    (links,) = await (await conn.execute("SELECT count(*) FROM links")).fetchone()  # type: ignore[misc]
    (lost,) = await (  # type: ignore[misc]
        # "IS NOT NULL", not "NOT CURRENT": SQLite searches the links_lost index only so.
        await conn.execute("SELECT count(*) FROM links WHERE lost_at IS NOT NULL")
    ).fetchone()
    async with conn.execute(
        "SELECT u.host_id, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
        f" WHERE {ANSWERED} GROUP BY u.host_id"
    ) as cur:
        answered = {host: n async for host, n in cur}
    return links - lost, answered


async def _make_temp_tables(conn: aiosqlite.Connection) -> None:
    """The scratch tables :func:`.commit.commit_batch` fills (in memory: temp_store)."""
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS sa (text TEXT NOT NULL)")
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS sk (target_id INTEGER, source_id INTEGER, anchor_id INTEGER,"
        " flags INTEGER)"
    )


class StoreWriter(BufferedWriter):
    """Owns a store for writing during a crawl. Use :meth:`open` and ``async with``."""

    def __init__(
        self, conn: aiosqlite.Connection, path: str, lock_fd: int, *, batch_pages: int
    ) -> None:
        self._conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self.batch_pages = batch_pages
        self._batch = Batch()
        self._flush_lock = asyncio.Lock()
        self._rel_ids: dict[str, int] = {}
        self._host_ids: dict[str, int] = {}  # host name -> id, of committed batches
        self._url_hashes = UrlHashes(complete=False)  # complete when opened on no URLs
        # Pages whose link_sources row is committed: kept by an import's writer (bulk).
        self._sources: KnownSources | None = None
        self._deferred: list[str] = []  # indexes left out until close (bulk)
        self.committed_pages = 0
        # An archive import records pages without being a crawl: a crawl's queued entry for
        # such a page stays queued (commit_batch's keep_frontier).
        self.keep_frontier = False
        # Running totals of what is committed, by the definitions of storage.queries.stats,
        # for the live display: current links of every kind, hosts with a page that
        # answered, and those pages per host id.
        self.links = 0
        self.hosts_crawled = 0
        self._answered: dict[int, int] = {}

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        batch_pages: int = BATCH_PAGES,
        bulk: bool = False,
    ) -> StoreWriter:
        """Open ``path`` for writing (created when ``create``). ``bulk`` (an import) on a
        store without URLs leaves :data:`.schema.DEFERRABLE_INDEXES` out until
        :meth:`close` builds them."""
        path = os.fspath(path)
        schema.connect(path, create=create).close()  # validate and migrate, synchronously
        lock_fd = os.open(path, os.O_RDONLY)
        try:
            # flock is independent of SQLite's own POSIX locks; it only keeps two crawls
            # from writing one store at once.
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise StoreError(f"{path} is being written by another linkgraph process") from None
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA temp_store=MEMORY",
                f"PRAGMA cache_size=-{_CACHE_KIB}",
                "PRAGMA busy_timeout=10000",
            ):
                await conn.execute(pragma)
            await _make_temp_tables(conn)
            async with conn.execute("SELECT tokens, id FROM rels") as cur:
                rel_ids = {tokens: rid async for tokens, rid in cur}
            # A store without URLs: every URL it will hold goes through this writer (we
            # hold the flock), so the writer can know them all and skip looking up new ones.
            async with conn.execute("SELECT NOT EXISTS (SELECT 1 FROM urls)") as cur:
                no_urls = bool((await cur.fetchone())[0])  # type: ignore[index]
            deferred = list(schema.DEFERRABLE_INDEXES) if bulk and no_urls else []
            for name in deferred:
                # Safe to leave out: no URL to index yet, and a store left without it
                # gets it back at its next opening for writing (schema.connect).
                await conn.execute(f"DROP INDEX IF EXISTS {name}")
            # The totals our last clean close sealed are exact while the file is unchanged
            # (we hold the flock, so no crawl can change it now); else count, once per open.
            try:
                sealed = sealing.sealed_counters(path) or {}
                links = int(sealed["links"])
                answered = {int(host): int(n) for host, n in sealed["answered"].items()}
            except (KeyError, TypeError, ValueError, AttributeError):
                links, answered = await _count_committed(conn)
        except sqlite3.Error as exc:
            os.close(lock_fd)
            raise from_sqlite(path, exc) from None
        except BaseException:
            os.close(lock_fd)
            raise
        writer = cls(conn, path, lock_fd, batch_pages=batch_pages)
        writer._rel_ids = rel_ids
        # Imports only: a crawl's frontier keeps its own seen set, and a second copy here
        # would cost the crawl 8 bytes per URL for lookups that are few at crawl speed.
        writer._url_hashes = UrlHashes(complete=bulk and no_urls)
        # Likewise imports only: most of a crawl's sources are new pages, given their row
        # once, and an import's are repeated across its batches.
        writer._sources = KnownSources() if bulk else None
        writer._deferred = deferred
        writer.links = links
        writer._answered = answered
        writer.hosts_crawled = sum(1 for n in answered.values() if n > 0)
        return writer

    async def close(self) -> None:
        try:
            await self.flush()
            # Built after the last batch, from sorted keys. Not on a failed flush: the
            # next opening for writing builds them (schema.connect).
            await self._build_deferred()
        finally:
            await self._conn.close()
            try:
                if not self._batch:  # all committed: seal while the flock still keeps crawls out
                    counters = {"links": self.links, "answered": self._answered}
                    sealing.seal(self.path, counters)
            finally:
                os.close(self._lock_fd)

    async def _build_deferred(self, keep: Collection[str] = ()) -> None:
        """Build the indexes left out at :meth:`open` (bulk), from sorted keys; those in
        ``keep`` stay left out."""
        build = [name for name in self._deferred if name not in keep]
        if not build:
            return
        # Another opening for writing (rank, say) may have built one meanwhile.
        async with self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'") as cur:
            have = {name async for (name,) in cur}
        build = [name for name in build if name not in have]
        if build:
            # SQLite's sorter spills sorted runs of cache_size to temporary files, sorted
            # in one block of memory each, only while temporary storage is on disk; under
            # temp_store=MEMORY it sorts every key of CREATE INDEX in one linked list of
            # records allocated one by one, twice the CPU (docs/benchmarks.md, "Fifth
            # pass"). Changing temp_store drops the temporary tables: made again after.
            await self._conn.execute("PRAGMA temp_store=FILE")
            await self._conn.execute(f"PRAGMA cache_size=-{_SORT_KIB}")
            # None where this process may use one core only.
            threads = _SORT_THREADS if usable_cores() > 1 else 0
            await self._conn.execute(f"PRAGMA threads={threads}")
            try:
                for name in build:
                    await self._conn.execute(schema.DEFERRABLE_INDEXES[name])
            finally:
                await self._conn.execute("PRAGMA threads=0")
                await self._conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
                await self._conn.execute("PRAGMA temp_store=MEMORY")
                await _make_temp_tables(self._conn)
        self._deferred = [name for name in self._deferred if name in keep]

    # -- buffering ---------------------------------------------------------------------

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        """Buffer a finished URL together with the frontier entries it discovered."""
        self._batch.pages.append(page)
        if queued:
            self._batch.queued.extend(queued)

    def add_links(self, source: str, links: list[Link], seen_at: float) -> None:
        """Buffer links whose source page was not fetched by us (an imported edge list)."""
        self._batch.loose.append((source, links, seen_at))

    def add_edges(self, edges: list[Edge], seen_at: float) -> None:
        """Buffer imported links as ``(source, target, anchor, rel tokens)`` rows: what
        :meth:`add_links` stores for ``Link(target, anchor, rel)``, without building a
        ``Link`` per row (an import's millions of rows)."""
        self._batch.edges.append((edges, int(seen_at)))

    def add_columns(self, columns: EdgeColumns) -> None:
        """Buffer imported links as :func:`.intern.located_edges` made them (in an
        import's reading process): what :meth:`add_edges` stores for the same rows."""
        self._batch.columns.append(columns)

    # -- committing --------------------------------------------------------------------

    async def _commit_batch(self) -> None:
        batch, self._batch = self._batch, Batch()
        try:
            if self._deferred and (batch.pages or not self._url_hashes.complete):
                # What the writer's memory stands in for holds only while it knows every
                # URL and writes no page (a page's links are diffed by source; an archive
                # import asks for pages by hash): past that, urls_hash and links_source
                # are built now. urls_host, which no write reads, waits for the close.
                await self._build_deferred(keep=("urls_host",))
            committed = await commit_batch(
                self._conn,
                batch,
                self._rel_id,
                self._host_ids,
                self._url_hashes,
                keep_frontier=self.keep_frontier,
                sources=self._sources,
            )
        except BaseException as exc:
            # Keep the records so a later flush (or the caller's error path) can retry.
            batch.absorb(self._batch)
            self._batch = batch
            if isinstance(exc, aiosqlite.Error):
                raise StoreError(f"cannot write to {self.path}: {exc}") from None
            raise
        self.committed_pages += len(batch.pages)
        # Only ids of a committed batch are kept: a rolled-back one's may be given again.
        if len(self._host_ids) + len(committed.hosts) > _HOST_IDS:
            self._host_ids.clear()
        self._host_ids.update(committed.hosts)
        first = committed.first_url_id
        self._url_hashes.add(committed.url_hashes, range(first, first + len(committed.url_hashes)))
        if self._sources is not None:
            self._sources.add(committed.sources)
        self.links += committed.links
        for host, change in committed.answered.items():
            before = self._answered.get(host, 0)
            now = before + change
            if now:
                self._answered[host] = now
            else:  # no answered page left: not a crawled host, and not sealed as one
                self._answered.pop(host, None)
            self.hosts_crawled += (now > 0) - (before > 0)

    async def _rel_id(self, rel: tuple[str, ...]) -> int:
        tokens = " ".join(rel)
        rid = self._rel_ids.get(tokens)
        if rid is None:
            await self._conn.execute("INSERT OR IGNORE INTO rels(tokens) VALUES (?)", (tokens,))
            async with self._conn.execute("SELECT id FROM rels WHERE tokens = ?", (tokens,)) as cur:
                row = await cur.fetchone()
            assert row is not None
            rid = self._rel_ids[tokens] = row[0]
        return rid

    # -- crawl state -------------------------------------------------------------------

    async def load_crawl(self) -> dict[str, Any] | None:
        async with self._conn.execute("SELECT value FROM crawl WHERE key = 'settings'") as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def save_crawl(self, settings: dict[str, Any]) -> None:
        await self._conn.execute(
            "INSERT INTO crawl(key, value) VALUES ('settings', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (json.dumps(settings, sort_keys=True),),
        )

    async def load_state(self, key: str) -> Any:
        """The JSON value an import keeps under ``key`` in the crawl table (``None``: none)."""
        async with self._conn.execute("SELECT value FROM crawl WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def save_state(self, key: str, value: Any) -> None:
        """Keep an import's JSON ``value`` under ``key`` (never ``settings``, the crawl's)."""
        assert key != "settings"
        await self._conn.execute(
            "INSERT INTO crawl(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    async def fetch_times(self, urls: Sequence[str]) -> dict[str, float]:
        """The stored ``fetched_at`` of those of ``urls`` that have a committed page."""
        wanted = set(urls)
        hashes = {url_hash(url) for url in wanted}
        found: dict[str, float] = {}
        async with self._conn.execute(
            "SELECT u.url, p.fetched_at FROM urls u JOIN pages p ON p.url_id = u.id"
            " WHERE u.hash IN (SELECT value FROM json_each(?))",
            (json.dumps(list(hashes)),),
        ) as cur:
            async for url, fetched in cur:
                if url in wanted and fetched is not None:
                    found[url] = fetched
        return found

    @staticmethod
    def _kind_clause(kinds: tuple[str, ...] | None) -> str:
        if kinds is None:
            return ""
        return f" AND f.kind IN ({', '.join(str(QUEUE_KIND_ID[k]) for k in kinds)})"

    async def resume_state(self, *, kinds: tuple[str, ...] | None = None) -> ResumeState:
        """Per-host queue sizes, per-host request counts and the seen URL hashes.

        ``kinds`` limits the queue to entries of those kinds (a link-check run leaves a
        crawl's own entries where they are).
        """
        await self.flush()
        state = ResumeState()
        async with self._conn.execute(
            "SELECT h.name, count(*) FROM frontier f JOIN hosts h ON h.id = f.host_id"
            f" WHERE 1 {self._kind_clause(kinds)} GROUP BY f.host_id"
        ) as cur:
            state.queued_by_host = {name: n async for name, n in cur}
        skip = ", ".join(f"'{r}'" for r in sorted(SKIP_REASONS))
        async with self._conn.execute(
            "SELECT h.name, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            f" JOIN hosts h ON h.id = u.host_id WHERE p.checked_only = 0"
            f" AND (p.error IS NULL OR p.error NOT IN ({skip}))"
            " GROUP BY u.host_id"
        ) as cur:
            state.requests_by_host = {name: n async for name, n in cur}
        state.requests_total = sum(state.requests_by_host.values())
        async with self._conn.execute(
            "SELECT u.hash FROM urls u JOIN pages p ON p.url_id = u.id"
            " UNION ALL SELECT u.hash FROM urls u JOIN frontier f ON f.url_id = u.id"
        ) as cur:
            state.seen_hashes = [h async for (h,) in cur]
        return state

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        """The oldest queued entries of one host. Flushes first, so the store is current.

        The caller must hold none of this host's entries in memory or in flight, else it
        would get them twice.
        """
        await self.flush()
        async with self._conn.execute(
            "SELECT u.url, f.depth, f.hops, f.kind, p.etag, p.last_modified FROM frontier f"
            " JOIN urls u ON u.id = f.url_id LEFT JOIN pages p ON p.url_id = f.url_id AND f.kind = 2"
            " WHERE f.host_id = (SELECT id FROM hosts WHERE name = ?)"
            f"{self._kind_clause(kinds)} ORDER BY f.url_id LIMIT ?",
            (host, limit),
        ) as cur:
            return [
                QueueItem(url, depth, hops, QUEUE_KIND[kind], etag, modified)
                async for url, depth, hops, kind, etag, modified in cur
            ]

    async def _queue(self, sql: str) -> int:
        """Run one frontier-filling statement in its own transaction; returns rows added."""
        await self.flush()
        await begin(self._conn)
        try:
            cur = await self._conn.execute(sql)
            added = cur.rowcount
            await self._conn.execute("COMMIT")
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        return added

    async def queue_checks(self) -> int:
        """Queue every link target without a page row for a status check; returns how many."""
        return await self._queue(queue_checks_sql())

    async def queue_refresh(self) -> int:
        """Queue every fetched page again (``crawl --refresh``); returns how many.

        Each entry carries the page's ETag / Last-Modified for a conditional request.
        Pages already queued stay as they are.
        """
        return await self._queue(
            "INSERT OR IGNORE INTO frontier(url_id, host_id, depth, hops, kind)"
            " SELECT p.url_id, u.host_id, p.depth, 0, 2 FROM pages p JOIN urls u ON u.id = p.url_id"
            " WHERE p.status IS NOT NULL OR p.error NOT IN"
            f" ({', '.join(repr(r) for r in sorted(SKIP_REASONS))})"
        )
