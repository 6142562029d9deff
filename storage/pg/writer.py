"""A crawl's writer into a PostgreSQL store: the :class:`~..interface.CrawlWriter` of
``linkgraph crawl --db postgresql://...``.

The same records and the same rules as the SQLite writer (``storage/commit.py``): a batch
is one transaction holding the pages, their links, the frontier entries they discovered
and the removal of their own entries; a refetched page's links are diffed against what the
store holds (``last_seen`` refreshed, links no longer carried lost with ``removed``, all of
them lost with the page's reason when the page stopped counting, 304 refreshing the links
still standing). The decisions are ``commit.page_loss``'s own.

Driver: psycopg 3's async API (the store's reader already uses psycopg, so one driver).
The batch itself is :mod:`.batch`. Ids are interned with ``INSERT ... ON CONFLICT DO
NOTHING`` and the older rows' ids read by their unique text in the same statement, so
several writers on one database share them; a batch that deadlocks with another writer's (the same new URLs inserted in another
order) is rolled back whole and run again. Several crawl processes write one store at
once, each crawling the hosts it leased (:mod:`.fleet`): a frontier entry stays in the
table, read but not deleted, until its page's batch commits, so a worker that dies loses
only its pages in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from ..edgerows import EdgeColumns
from ..errors import StoreError
from ..identity import host_of, url_hash
from ..interface import BATCH_PAGES, BufferedWriter, ResumeState
from ..records import Link, Page, QueueItem
from ..vocab import QUEUE_KIND_ID, SKIP_REASONS
from .batch import Batch, write_batch
from .connection import CONNECT_TIMEOUT, driver, one_line, redact
from .frontier import WindowReader
from .interning import Interned
from .schema import SCHEMA_VERSION

__all__ = ["PgWriter"]

_SKIPS = sorted(SKIP_REASONS)
# The lock the version before the fleet held exclusively while it crawled, alone ("LKGW").
# Workers now share it: an old crawl running makes a new worker refuse, and new workers
# running make an old crawl refuse (it asks for the lock alone), so the two never mix.
WRITER_LOCK = 0x4C4B4757
_TRIES = 8  # a batch that deadlocked with another worker's is run again this many times


class PgWriter(BufferedWriter):
    """A crawl's store on PostgreSQL: ``async with await PgWriter.open(url) as writer``."""

    def __init__(self, conn: Any, url: str, *, batch_pages: int) -> None:
        self._conn = conn
        self.url = url
        self.batch_pages = batch_pages
        self.links = 0
        self.queued = 0  # the store's queue, for every worker (read by recount)
        self.hosts_crawled = 0
        self.committed_pages = 0
        self._answered: dict[int, int] = {}  # host id -> pages that answered
        self._batch = Batch()
        self._flush_lock = asyncio.Lock()
        self._committing: set[str] = set()  # hosts of the batch being committed
        # An archive import records pages without being a crawl: a crawl's queued entry for
        # such a page stays queued (write_batch's keep_frontier), as on SQLite.
        self.keep_frontier = False
        self._atomic = False  # inside atomic(): batches are savepoints of its transaction
        # take_frontier's own connection: reading a host's window never waits behind a
        # batch commit that holds nothing of that host (reads go together: .frontier).
        self._windows: WindowReader | None = None
        # Ids of committed batches, not sent again (not inside atomic(): its batches
        # commit only when the block does).
        self._interned = Interned()

    @classmethod
    async def open(cls, url: str, *, batch_pages: int = BATCH_PAGES) -> PgWriter:
        """Connect to the store at ``url`` (made with ``linkgraph init-db``; an empty
        database gets the schema here, as a new SQLite file does)."""
        from .connection import connect
        from .schema import init_db, inspect

        with connect(url, autocommit=True) as probe:
            version = inspect(probe, url)
        if version is None or version < SCHEMA_VERSION:
            await asyncio.to_thread(init_db, url)
        conn = await _connect(url)
        writer = cls(conn, url, batch_pages=batch_pages)
        try:
            await writer._share_writer_lock()
            # take_frontier's connection is opened now, not on the first read: a server
            # with no connection left to give says so here, in one line, before anything
            # is crawled, instead of failing every host's queue read mid-crawl.
            writer._windows = WindowReader(await _connect(url))
            await writer._count()
        except BaseException:
            await writer._close_connections()
            raise
        return writer

    async def _share_writer_lock(self) -> None:
        pg = driver()
        try:
            cur = await self._conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (WRITER_LOCK,))
            (shared,) = await cur.fetchone()
        except pg.Error as exc:
            raise StoreError(
                f"cannot crawl {redact(self.url)}: {one_line(self.url, exc)}"
            ) from None
        if not shared:
            raise StoreError(
                f"{redact(self.url)} is being crawled by an older linkgraph (one process"
                " per store): let it finish, or stop it, and upgrade it before crawling"
            )

    async def recount(self) -> None:
        """Read the store's totals again: other crawl workers write it too."""
        await self._count()
        cur = await self._conn.execute("SELECT count(*) FROM frontier")
        self.queued = (await cur.fetchone())[0]

    async def _count(self) -> None:
        cur = await self._conn.execute("SELECT count(*) FROM links WHERE lost_at IS NULL")
        self.links = (await cur.fetchone())[0]
        cur = await self._conn.execute(
            "SELECT u.host_id, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            " WHERE p.status IS NOT NULL AND p.checked_only = 0 GROUP BY u.host_id"
        )
        self._answered = {host: n for host, n in await cur.fetchall()}
        self.hosts_crawled = len(self._answered)

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self._close_connections()

    async def _close_connections(self) -> None:
        await self._conn.close()
        if self._windows is not None:
            await self._windows.conn.close()

    # -- buffering ---------------------------------------------------------------------

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        self._batch.pages.append(page)
        self._batch.touched.add(host_of(page.url))
        if queued:
            self._batch.queued.extend(queued)
            self._batch.touched.update(host_of(item.url) for item in queued)

    def add_queued(self, items: Iterable[QueueItem]) -> None:
        items = list(items)
        self._batch.queued.extend(items)
        self._batch.touched.update(host_of(item.url) for item in items)

    def add_links(self, source: str, links: list[Link], seen_at: float) -> None:
        self._batch.loose.append((source, links, seen_at))

    def add_columns(self, columns: EdgeColumns) -> None:
        """Buffer an import's links (:func:`storage.intern.located_edges`'s columns): each
        row stored as :meth:`add_links` stores ``Link(target, anchor, rel)``, a source's
        rows of the batch together."""
        edges, seen = columns.edges()
        by_source: dict[str, list[Link]] = {}
        for source, target, anchor, rel in edges:
            by_source.setdefault(source, []).append(Link(target, anchor, rel))
        self._batch.loose.extend((source, links, seen) for source, links in by_source.items())

    # -- committing --------------------------------------------------------------------

    async def _commit_batch(self) -> None:
        batch, self._batch = self._batch, Batch()
        self._committing = batch.touched
        pg = driver()
        careful = False
        try:
            for attempt in range(_TRIES):
                interned = None if self._atomic else self._interned
                try:
                    if interned is not None:
                        interned.begin()
                    async with self._conn.transaction():
                        links, answered = await write_batch(
                            self._conn,
                            batch,
                            keep_frontier=self.keep_frontier,
                            nested=self._atomic,
                            careful=careful,
                            interned=interned,
                        )
                    if interned is not None:
                        interned.commit()
                    break
                except pg.errors.UniqueViolation:
                    # A link row stored by another writer since the batch looked: run it
                    # again merging every row (write_batch's ``careful``).
                    if careful or attempt == _TRIES - 1:
                        raise
                    careful = True
                except (pg.errors.DeadlockDetected, pg.errors.SerializationFailure):
                    # Another worker wrote the same new rows in another order: nothing of
                    # this transaction stayed, so it is simply run again.
                    if attempt == _TRIES - 1:
                        raise
                    await asyncio.sleep(0.05 * (attempt + 1))
        except BaseException as exc:
            batch.absorb(self._batch)
            self._batch = batch
            if isinstance(exc, pg.Error):
                raise self._write_error(exc) from None
            raise
        finally:
            self._committing = set()
        self.committed_pages += len(batch.pages)
        self.links += links
        for host, change in answered.items():
            before = self._answered.get(host, 0)
            now = before + change
            if now:
                self._answered[host] = now
            else:
                self._answered.pop(host, None)
            self.hosts_crawled += (now > 0) - (before > 0)

    def _write_error(self, exc: BaseException) -> StoreError:
        return StoreError(f"cannot write to {redact(self.url)}: {one_line(self.url, exc)}")

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[Any]:
        """One transaction around every batch flushed in the block, committed when the
        block ends and rolled back whole when it fails or is interrupted: an import that
        fills a new store (``import-parquet``) leaves nothing of itself behind, as the
        SQLite store's rename into place does. Yields the connection, for the block's own
        statements in the same transaction."""
        await self.flush()
        pg = driver()
        self._atomic = True
        try:
            async with self._conn.transaction():
                yield self._conn
                await self.flush()
        except BaseException as exc:
            self._batch = Batch()  # rolled back with the rest: never committed alone
            if isinstance(exc, pg.Error):
                raise self._write_error(exc) from None
            raise
        finally:
            self._atomic = False

    # -- crawl state -------------------------------------------------------------------

    async def load_crawl(self) -> dict[str, Any] | None:
        cur = await self._conn.execute("SELECT value FROM crawl WHERE key = 'settings'")
        row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def save_crawl(self, settings: dict[str, Any]) -> None:
        await self._conn.execute(
            "INSERT INTO crawl(key, value) VALUES ('settings', %s)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (json.dumps(settings, sort_keys=True),),
        )

    async def load_state(self, key: str) -> Any:
        """The JSON value an import keeps under ``key`` in the crawl table (``None``: none)."""
        cur = await self._conn.execute("SELECT value FROM crawl WHERE key = %s", (key,))
        row = await cur.fetchone()
        return json.loads(row[0]) if row else None

    async def save_state(self, key: str, value: Any) -> None:
        """Keep an import's JSON ``value`` under ``key`` (never ``settings``, the crawl's)."""
        assert key != "settings"
        await self._conn.execute(
            "INSERT INTO crawl(key, value) VALUES (%s, %s)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    async def fetch_times(self, urls: Sequence[str]) -> dict[str, float]:
        """The stored ``fetched_at`` of those of ``urls`` that have a committed page."""
        wanted = sorted(set(urls))
        cur = await self._conn.execute(
            "SELECT u.url, p.fetched_at FROM unnest(%b::bigint[], %b::text[]) AS w(hash, url)"
            " JOIN urls u ON u.hash = w.hash AND u.url = w.url JOIN pages p ON p.url_id = u.id",
            ([url_hash(u) for u in wanted], wanted),
        )
        return {url: fetched for url, fetched in await cur.fetchall() if fetched is not None}

    @staticmethod
    def _kinds(kinds: tuple[str, ...] | None) -> str:
        if kinds is None:
            return ""
        return f" AND f.kind IN ({', '.join(str(QUEUE_KIND_ID[k]) for k in kinds)})"

    async def resume_state(self, *, kinds: tuple[str, ...] | None = None) -> ResumeState:
        await self.flush()
        state = ResumeState()
        cur = await self._conn.execute(
            "SELECT h.name, count(*) FROM frontier f JOIN hosts h ON h.id = f.host_id"
            f" WHERE true {self._kinds(kinds)} GROUP BY h.name"
        )
        state.queued_by_host = {name: n for name, n in await cur.fetchall()}
        cur = await self._conn.execute(
            "SELECT h.name, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            " JOIN hosts h ON h.id = u.host_id WHERE p.checked_only = 0"
            " AND (p.error IS NULL OR NOT p.error = ANY(%s)) GROUP BY h.name",
            (_SKIPS,),
        )
        state.requests_by_host = {name: n for name, n in await cur.fetchall()}
        state.requests_total = sum(state.requests_by_host.values())
        cur = await self._conn.execute(
            "SELECT u.hash FROM urls u JOIN pages p ON p.url_id = u.id"
            " UNION ALL SELECT u.hash FROM urls u JOIN frontier f ON f.url_id = u.id"
        )
        state.seen_hashes = [h for (h,) in await cur.fetchall()]
        return state

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        # What we buffered for this host must be in the table first (its fetched pages'
        # entries gone, its new ones there); a batch without it need not be committed
        # now, which spares each newly leased host a commit. A commit under way that
        # holds some of it is waited for.
        if host in self._batch.touched:
            await self.flush()
        elif host in self._committing:
            async with self._flush_lock:
                pass
        assert self._windows is not None  # opened with the writer
        pg = driver()
        try:
            return await self._windows.read(host, limit, kinds)
        except pg.Error as exc:
            # The store is gone or refuses us: the crawl stops (crawler/engine.py), rather
            # than take it for this host's trouble and record its URLs as failed.
            raise StoreError(
                f"cannot read the queue of {redact(self.url)}: {one_line(self.url, exc)}"
            ) from None

    async def _queue(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        await self.flush()
        async with self._conn.transaction():
            cur = await self._conn.execute(sql, params)
            # Every host with queued work can be leased (storage/pg/fleet.py).
            await self._conn.execute(
                "INSERT INTO host_leases(host_id) SELECT DISTINCT host_id FROM frontier"
                " ON CONFLICT DO NOTHING"
            )
            # A refresh or a link check is a new pass: its caps count its own requests
            # (as the engine does on SQLite), and nothing stays given up from the last.
            await self._conn.execute(
                "UPDATE host_leases SET retired = false, state = state || %s::jsonb"
                " WHERE state IS NOT NULL OR retired",
                (json.dumps({"requests": 0, "skip_reason": None, "failures": 0, "streak": 0,
                             "parks": 0, "waited": 0.0, "throttles": 0}),),
            )  # fmt: skip
            return cur.rowcount

    async def queue_checks(self) -> int:
        return await self._queue(
            "INSERT INTO frontier(url_id, host_id, depth, hops, kind)"
            " SELECT DISTINCT l.target_id, u.host_id, 0, 0, 3 FROM links l"
            " JOIN urls u ON u.id = l.target_id WHERE l.kind = 0"
            " AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.url_id = l.target_id)"
            " ON CONFLICT DO NOTHING"
        )

    async def queue_refresh(self) -> int:
        return await self._queue(
            "INSERT INTO frontier(url_id, host_id, depth, hops, kind)"
            " SELECT p.url_id, u.host_id, p.depth, 0, 2 FROM pages p JOIN urls u ON u.id = p.url_id"
            " WHERE p.status IS NOT NULL OR NOT p.error = ANY(%s) ON CONFLICT DO NOTHING",
            (_SKIPS,),
        )


async def _connect(url: str) -> Any:
    """An autocommit connection to the store, or a one-line :class:`StoreError`."""
    pg = driver()
    params: dict[str, Any] = {}
    if "connect_timeout" not in url:
        params["connect_timeout"] = CONNECT_TIMEOUT
    try:
        return await pg.AsyncConnection.connect(url.strip(), autocommit=True, **params)
    except pg.Error as exc:
        raise StoreError(f"cannot connect to {redact(url)}: {one_line(url, exc)}") from None
