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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from crawler.urls import host_of, registrable_domain, url_hash

from . import schema
from .errors import StoreError
from .records import KINDS, PLACEMENTS, Link, Page, QueueItem

__all__ = ["SKIP_REASONS", "ResumeState", "StoreWriter", "link_flags"]

# Outcomes recorded in pages.error that made no request: they don't count against caps.
SKIP_REASONS = frozenset({"robots", "robots-unavailable", "crawl-delay", "parked", "blocked-address"})

_KIND_ID = {k: i for i, k in enumerate(KINDS)}
_PLACEMENT_ID = {p: i for i, p in enumerate(PLACEMENTS)}
_QUEUE_KIND_ID = {"page": 0, "sitemap": 1}
_QUEUE_KIND = {v: k for k, v in _QUEUE_KIND_ID.items()}
_MAX_ANCHOR = 500
FLAG_NOFOLLOW, FLAG_SPONSORED, FLAG_UGC, FLAG_IMAGE = 1, 2, 4, 8
ROBOTS_NOINDEX, ROBOTS_NOFOLLOW = 1, 2


def link_flags(link: Link) -> int:
    rel = link.rel
    return (
        (FLAG_NOFOLLOW if "nofollow" in rel else 0)
        | (FLAG_SPONSORED if "sponsored" in rel else 0)
        | (FLAG_UGC if "ugc" in rel else 0)
        | (FLAG_IMAGE if link.image else 0)
    )


@dataclass(slots=True)
class ResumeState:
    """What a continuing crawl needs to know about the work already done."""

    queued_by_host: dict[str, int] = field(default_factory=dict)
    requests_by_host: dict[str, int] = field(default_factory=dict)
    requests_total: int = 0
    seen_hashes: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    pages: list[Page] = field(default_factory=list)
    queued: list[QueueItem] = field(default_factory=list)
    hosts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pages or self.queued or self.hosts)


class StoreWriter:
    """Owns a store for writing during a crawl. Use :meth:`open` and ``async with``."""

    def __init__(self, conn: aiosqlite.Connection, path: str, lock_fd: int, *, batch_pages: int) -> None:
        self._conn = conn
        self.path = path
        self._lock_fd = lock_fd
        self.batch_pages = batch_pages
        self._batch = _Batch()
        self._flush_lock = asyncio.Lock()
        self._rel_ids: dict[str, int] = {}
        self.committed_pages = 0

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, create: bool = True, batch_pages: int = 200) -> StoreWriter:
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
                "PRAGMA cache_size=-65536",
                "PRAGMA busy_timeout=10000",
            ):
                await conn.execute(pragma)
            await conn.execute(
                "CREATE TEMP TABLE su (url TEXT NOT NULL, hash INTEGER NOT NULL,"
                " host TEXT NOT NULL, domain TEXT NOT NULL)"
            )
            await conn.execute("CREATE TEMP TABLE sa (text TEXT NOT NULL)")
            async with conn.execute("SELECT tokens, id FROM rels") as cur:
                rel_ids = {tokens: rid async for tokens, rid in cur}
        except BaseException:
            os.close(lock_fd)
            raise
        writer = cls(conn, path, lock_fd, batch_pages=batch_pages)
        writer._rel_ids = rel_ids
        return writer

    async def __aenter__(self) -> StoreWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self._conn.close()
            os.close(self._lock_fd)

    # -- buffering ---------------------------------------------------------------------

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        """Buffer a finished URL together with the frontier entries it discovered."""
        self._batch.pages.append(page)
        if queued:
            self._batch.queued.extend(queued)

    def add_queued(self, items: Iterable[QueueItem]) -> None:
        """Buffer frontier entries that no page discovered (seeds, sitemap entries)."""
        self._batch.queued.extend(items)

    def note_host(self, host: str, *, ip: str | None = None, note: str | None = None) -> None:
        old_ip, old_note = self._batch.hosts.get(host, (None, None))
        self._batch.hosts[host] = (ip or old_ip, note or old_note)

    @property
    def pending_pages(self) -> int:
        return len(self._batch.pages)

    @property
    def full(self) -> bool:
        return len(self._batch.pages) >= self.batch_pages

    # -- committing --------------------------------------------------------------------

    async def flush(self) -> None:
        """Commit everything buffered so far in one transaction."""
        async with self._flush_lock:
            batch, self._batch = self._batch, _Batch()
            if not batch:
                return
            try:
                await self._commit(batch)
            except BaseException as exc:
                # Keep the records so a later flush (or the caller's error path) can retry.
                batch.pages.extend(self._batch.pages)
                batch.queued.extend(self._batch.queued)
                batch.hosts.update(self._batch.hosts)
                self._batch = batch
                if isinstance(exc, aiosqlite.Error):
                    raise StoreError(f"cannot write to {self.path}: {exc}") from None
                raise
            self.committed_pages += len(batch.pages)

    async def _commit(self, batch: _Batch) -> None:
        conn = self._conn
        urls: dict[str, None] = {}
        anchors: dict[str, None] = {}
        for page in batch.pages:
            urls[page.url] = None
            for link in page.links:
                urls[link.target] = None
                if link.anchor:
                    anchors[link.anchor[:_MAX_ANCHOR]] = None
        for item in batch.queued:
            urls[item.url] = None
        hosts_only = {h for h in batch.hosts}

        await conn.execute("BEGIN IMMEDIATE")
        try:
            await conn.execute("DELETE FROM temp.su")
            await conn.executemany(
                "INSERT INTO temp.su(url, hash, host, domain) VALUES (?, ?, ?, ?)",
                [(u, url_hash(u), h := host_of(u), registrable_domain(h)) for u in urls],
            )
            if hosts_only:
                await conn.executemany(
                    "INSERT OR IGNORE INTO domains(name) VALUES (?)",
                    [(registrable_domain(h),) for h in hosts_only],
                )
                await conn.executemany(
                    "INSERT OR IGNORE INTO hosts(name, domain_id)"
                    " SELECT ?, id FROM domains WHERE name = ?",
                    [(h, registrable_domain(h)) for h in hosts_only],
                )
            await conn.execute("INSERT OR IGNORE INTO domains(name) SELECT DISTINCT domain FROM temp.su")
            await conn.execute(
                "INSERT OR IGNORE INTO hosts(name, domain_id)"
                " SELECT DISTINCT s.host, d.id FROM temp.su s JOIN domains d ON d.name = s.domain"
            )
            await conn.execute(
                "INSERT INTO urls(hash, host_id, url)"
                " SELECT s.hash, h.id, s.url FROM temp.su s JOIN hosts h ON h.name = s.host"
                " WHERE NOT EXISTS (SELECT 1 FROM urls u WHERE u.hash = s.hash AND u.url = s.url)"
            )
            async with conn.execute(
                "SELECT s.url, u.id, u.host_id FROM temp.su s"
                " JOIN urls u ON u.hash = s.hash AND u.url = s.url"
            ) as cur:
                ids = {url: (uid, hid) async for url, uid, hid in cur}

            anchor_ids = {"": 0}
            if anchors:
                await conn.execute("DELETE FROM temp.sa")
                await conn.executemany("INSERT INTO temp.sa(text) VALUES (?)", [(a,) for a in anchors])
                await conn.execute("INSERT OR IGNORE INTO anchors(text) SELECT text FROM temp.sa")
                async with conn.execute(
                    "SELECT a.text, a.id FROM temp.sa s JOIN anchors a ON a.text = s.text"
                ) as cur:
                    anchor_ids.update({text: aid async for text, aid in cur})

            link_rows: dict[tuple[int, int, int, int, int], tuple[Any, ...]] = {}
            page_rows = []
            for page in batch.pages:
                source = ids[page.url][0]
                fetched = int(page.fetched_at)
                outlinks = 0
                for link in page.links:
                    if link.kind == "link":
                        outlinks += 1
                    key = (
                        ids[link.target][0],
                        source,
                        _KIND_ID[link.kind],
                        anchor_ids[link.anchor[:_MAX_ANCHOR]],
                        _PLACEMENT_ID[link.placement],
                    )
                    if key not in link_rows:
                        rel_id = await self._rel_id(link.rel) if link.rel else None
                        link_rows[key] = (*key, link_flags(link), rel_id, fetched, fetched)
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
                        ids[page.canonical][0] if page.canonical in ids else None,
                        (ROBOTS_NOINDEX if page.noindex else 0) | (ROBOTS_NOFOLLOW if page.nofollow else 0),
                        page.size,
                        int(page.elapsed * 1000),
                        page.etag,
                        page.last_modified,
                        outlinks,
                    )
                )
            if link_rows:
                await conn.executemany(
                    "INSERT INTO links(target_id, source_id, kind, anchor_id, placement, flags,"
                    " rel_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO UPDATE SET flags = excluded.flags, rel_id = excluded.rel_id,"
                    " last_seen = excluded.last_seen",
                    link_rows.values(),
                )
            if page_rows:
                await conn.executemany(
                    "INSERT INTO pages(url_id, status, error, final_id, content_type, fetched_at,"
                    " depth, title, lang, canonical_id, robots, size, elapsed_ms, etag,"
                    " last_modified, outlinks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(url_id) DO UPDATE SET status = excluded.status,"
                    " error = excluded.error, final_id = excluded.final_id,"
                    " content_type = excluded.content_type, fetched_at = excluded.fetched_at,"
                    " title = excluded.title, lang = excluded.lang,"
                    " canonical_id = excluded.canonical_id, robots = excluded.robots,"
                    " size = excluded.size, elapsed_ms = excluded.elapsed_ms,"
                    " etag = excluded.etag, last_modified = excluded.last_modified,"
                    " outlinks = excluded.outlinks",
                    page_rows,
                )
            if batch.queued:
                await conn.executemany(
                    "INSERT OR IGNORE INTO frontier(url_id, host_id, depth, hops, kind)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        (*ids[item.url], item.depth, item.hops, _QUEUE_KIND_ID[item.kind])
                        for item in batch.queued
                    ],
                )
            if page_rows:
                await conn.executemany(
                    "DELETE FROM frontier WHERE url_id = ?", [(row[0],) for row in page_rows]
                )
            if batch.hosts:
                await conn.executemany(
                    "UPDATE hosts SET ip = coalesce(?, ip), note = coalesce(?, note) WHERE name = ?",
                    [(ip, note, host) for host, (ip, note) in batch.hosts.items()],
                )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise

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

    async def resume_state(self) -> ResumeState:
        """Per-host queue sizes, per-host request counts and the seen URL hashes."""
        await self.flush()
        state = ResumeState()
        async with self._conn.execute(
            "SELECT h.name, count(*) FROM frontier f JOIN hosts h ON h.id = f.host_id GROUP BY f.host_id"
        ) as cur:
            state.queued_by_host = {name: n async for name, n in cur}
        skip = ", ".join(f"'{r}'" for r in sorted(SKIP_REASONS))
        async with self._conn.execute(
            "SELECT h.name, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            f" JOIN hosts h ON h.id = u.host_id WHERE p.error IS NULL OR p.error NOT IN ({skip})"
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

    async def take_frontier(self, host: str, limit: int) -> list[QueueItem]:
        """The oldest queued entries of one host. Flushes first, so the store is current.

        The caller must hold none of this host's entries in memory or in flight, else it
        would get them twice.
        """
        await self.flush()
        async with self._conn.execute(
            "SELECT u.url, f.depth, f.hops, f.kind FROM frontier f JOIN urls u ON u.id = f.url_id"
            " WHERE f.host_id = (SELECT id FROM hosts WHERE name = ?) ORDER BY f.url_id LIMIT ?",
            (host, limit),
        ) as cur:
            return [QueueItem(url, depth, hops, _QUEUE_KIND[kind]) async for url, depth, hops, kind in cur]
