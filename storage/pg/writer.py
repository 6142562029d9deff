"""A crawl's writer into a PostgreSQL store: the :class:`~..interface.CrawlWriter` of
``linkgraph crawl --db postgresql://...``.

The same records and the same rules as the SQLite writer (``storage/commit.py``): a batch
is one transaction holding the pages, their links, the frontier entries they discovered
and the removal of their own entries; a refetched page's links are diffed against what the
store holds (``last_seen`` refreshed, links no longer carried lost with ``removed``, all of
them lost with the page's reason when the page stopped counting, 304 refreshing the links
still standing). The decisions are ``commit.page_loss``'s own.

Driver: psycopg 3's async API (the store's reader already uses psycopg, so one driver, and
its ``unnest`` of typed arrays sends a column of a batch as one parameter). Ids are
interned with ``INSERT ... ON CONFLICT DO NOTHING`` and read back by their unique text, so
several writers on one database share them; names are sorted before they are inserted, so
two writers lock the same unique-index entries in the same order and cannot deadlock.

PostgreSQL text cannot hold NUL characters or lone surrogates, which crawled text may:
they are stored as U+FFFD (the only difference from a SQLite store's rows).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..commit import page_loss
from ..errors import StoreError
from ..identity import host_of, registrable_domain, url_hash
from ..interface import BufferedWriter, ResumeState
from ..intern import MAX_ANCHOR
from ..records import KINDS, LOST_REASONS, PLACEMENTS, Link, Page, QueueItem, link_flags
from ..vocab import QUEUE_KIND, QUEUE_KIND_ID, ROBOTS_NOFOLLOW, ROBOTS_NOINDEX, SKIP_REASONS
from .connection import CONNECT_TIMEOUT, driver, one_line, redact
from .schema import SCHEMA_VERSION

__all__ = ["WRITER_LOCK", "PgWriter"]

_KIND_ID = {k: i for i, k in enumerate(KINDS)}
_PLACEMENT_ID = {p: i for i, p in enumerate(PLACEMENTS)}
_LOST_ID = {r: i for i, r in enumerate(LOST_REASONS)}
_INTERNAL = link_flags(Link(""), internal=True)
_SKIPS = sorted(SKIP_REASONS)
# The advisory lock a writing process holds on the store ("LKGW").
WRITER_LOCK = 0x4C4B4757
_TRIES = 8
_LINK_TYPES = [
    "int8",
    "int8",
    "int4",
    "int8",
    "int4",
    "int8",
    "int4",
    "int8",
]  # a batch that deadlocked with another worker's is run again this many times


def clean(text: str | None) -> str | None:
    """``text`` as PostgreSQL can store it: NUL and lone surrogates become U+FFFD."""
    if text is None:
        return None
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode().replace("?", "\ufffd")
    return text


@dataclass(slots=True)
class _Batch:
    pages: list[Page] = field(default_factory=list)
    queued: list[QueueItem] = field(default_factory=list)
    hosts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    loose: list[tuple[str, list[Link], float]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pages or self.queued or self.hosts or self.loose)

    def absorb(self, later: _Batch) -> None:
        self.pages.extend(later.pages)
        self.queued.extend(later.queued)
        self.hosts.update(later.hosts)
        self.loose.extend(later.loose)


class PgWriter(BufferedWriter):
    """A crawl's store on PostgreSQL: ``async with await PgWriter.open(url) as writer``."""

    def __init__(self, conn: Any, url: str, *, batch_pages: int) -> None:
        self._conn = conn
        self.url = url
        self.batch_pages = batch_pages
        self.links = 0
        self.hosts_crawled = 0
        self.committed_pages = 0
        self._answered: dict[int, int] = {}  # host id -> pages that answered
        self._batch = _Batch()
        self._flush_lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str, *, batch_pages: int = 200) -> PgWriter:
        """Connect to the store at ``url`` (made with ``linkgraph init-db``; an empty
        database gets the schema here, as a new SQLite file does)."""
        from .connection import connect
        from .schema import init_db, inspect

        with connect(url, autocommit=True) as probe:
            version = inspect(probe, url)
        if version is None or version < SCHEMA_VERSION:
            await asyncio.to_thread(init_db, url)
        pg = driver()
        params: dict[str, Any] = {}
        if "connect_timeout" not in url:
            params["connect_timeout"] = CONNECT_TIMEOUT
        try:
            conn = await pg.AsyncConnection.connect(url.strip(), autocommit=True, **params)
        except pg.Error as exc:
            raise StoreError(f"cannot connect to {redact(url)}: {one_line(url, exc)}") from None
        writer = cls(conn, url, batch_pages=batch_pages)
        try:
            # One crawl process per store until the frontier is leased per host: two
            # would each take every host's queue and fetch it twice, ignoring each
            # other's politeness. A session lock: the server drops it with the
            # connection, so a worker killed with SIGKILL does not leave it behind.
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (WRITER_LOCK,))
            if not (await cur.fetchone())[0]:
                raise StoreError(f"{redact(url)} is being written by another linkgraph process")
            await writer._count()
        except BaseException:
            await conn.close()
            raise
        return writer

    async def _count(self) -> None:
        cur = await self._conn.execute("SELECT count(*) FROM links WHERE lost_at IS NULL")
        self.links = (await cur.fetchone())[0]
        cur = await self._conn.execute(
            "SELECT u.host_id, count(*) FROM pages p JOIN urls u ON u.id = p.url_id"
            " WHERE p.status IS NOT NULL AND p.checked_only = 0 GROUP BY u.host_id"
        )
        self._answered = {host: n for host, n in await cur.fetchall()}
        self.hosts_crawled = len(self._answered)

    async def __aenter__(self) -> PgWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await self.flush()
        finally:
            await self._conn.close()

    # -- buffering ---------------------------------------------------------------------

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        self._batch.pages.append(page)
        if queued:
            self._batch.queued.extend(queued)

    def add_links(self, source: str, links: list[Link], seen_at: float) -> None:
        self._batch.loose.append((source, links, seen_at))

    # -- committing --------------------------------------------------------------------

    async def flush(self) -> None:
        """Commit everything buffered in one transaction; a cancelled caller waits for
        the transaction to end first (as the SQLite writer does), then is cancelled."""
        async with self._flush_lock:
            if not self._batch:
                return
            commit = asyncio.ensure_future(self._commit())
            cancelled = False
            while not commit.done():
                try:
                    await asyncio.shield(commit)
                except asyncio.CancelledError:
                    cancelled = True
            if cancelled:
                if not commit.cancelled():
                    commit.exception()
                raise asyncio.CancelledError

    async def _commit(self) -> None:
        batch, self._batch = self._batch, _Batch()
        pg = driver()
        try:
            for attempt in range(_TRIES):
                try:
                    async with self._conn.transaction():
                        links, answered = await _write(self._conn, batch)
                    break
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
                raise StoreError(
                    f"cannot write to {redact(self.url)}: {one_line(self.url, exc)}"
                ) from None
            raise
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
        await self.flush()
        cur = await self._conn.execute(
            "SELECT u.url, f.depth, f.hops, f.kind, p.etag, p.last_modified FROM frontier f"
            " JOIN urls u ON u.id = f.url_id"
            " LEFT JOIN pages p ON p.url_id = f.url_id AND f.kind = 2"
            " WHERE f.host_id = (SELECT id FROM hosts WHERE name = %s)"
            f"{self._kinds(kinds)} ORDER BY f.url_id LIMIT %s",
            (host, limit),
        )
        return [
            QueueItem(url, depth, hops, QUEUE_KIND[kind], etag, modified)
            for url, depth, hops, kind, etag, modified in await cur.fetchall()
        ]

    async def _queue(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        await self.flush()
        async with self._conn.transaction():
            cur = await self._conn.execute(sql, params)
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


# -- one batch -------------------------------------------------------------------------


async def _ids(conn: Any, table: str, column: str, names: list[str], extra: str = "") -> dict:
    """Intern ``names`` into ``table`` (unique on ``column``): insert the missing ones,
    in sorted order, then read every id back."""
    names = sorted(set(names))
    if not names:
        return {}
    await conn.execute(
        f"INSERT INTO {table}({column}) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
        (names,),
    )
    cur = await conn.execute(
        f"SELECT {column}, id FROM {table} WHERE {column} = ANY(%s::text[])", (names,)
    )
    return dict(await cur.fetchall())


async def _write(conn: Any, batch: _Batch) -> tuple[int, dict[int, int]]:
    """Write one batch inside the caller's transaction: returns the change in current
    links and, per host id, in answered pages."""
    urls: dict[str, None] = {}
    anchors: dict[str, None] = {}
    rels: dict[tuple[str, ...], None] = {(): None}
    for source, links in [(p.url, p.links) for p in batch.pages] + [
        (s, ls) for s, ls, _ in batch.loose
    ]:
        urls[source] = None
        for link in links:
            urls[link.target] = None
            anchors[clean(link.anchor[:MAX_ANCHOR]) or ""] = None
            rels[link.rel] = None
    for item in batch.queued:
        urls[item.url] = None
    hosts = {u: host_of(u) for u in urls}
    domain_of = {h: registrable_domain(h) for h in set(hosts.values())}
    domain_ids = await _ids(conn, "domains", "name", list(domain_of.values()))
    names = sorted(set(hosts.values()))
    if names:
        await conn.execute(
            "INSERT INTO hosts(name, domain_id) SELECT * FROM unnest(%s::text[], %s::bigint[])"
            " ON CONFLICT DO NOTHING",
            (names, [domain_ids[domain_of[h]] for h in names]),
        )
    cur = await conn.execute("SELECT name, id FROM hosts WHERE name = ANY(%s)", (names,))
    host_ids = dict(await cur.fetchall())
    # In order of first appearance, as the SQLite store numbers them: the frontier hands
    # out a host's entries by id, oldest first. (Two writers inserting the same new URLs
    # in different orders can deadlock: the loser's batch is retried, see PgWriter._commit.)
    url_list = list(urls)
    hashes = [url_hash(u) for u in url_list]
    url_ids: dict[str, int] = {}
    if url_list:
        await conn.execute(
            "INSERT INTO urls(hash, host_id, url)"
            " SELECT h, o, u FROM unnest(%s::bigint[], %s::bigint[], %s::text[])"
            " WITH ORDINALITY AS w(h, o, u, n) ORDER BY n ON CONFLICT DO NOTHING",
            (hashes, [host_ids[hosts[u]] for u in url_list], url_list),
        )
        cur = await conn.execute(
            "SELECT u.url, u.id FROM urls u JOIN unnest(%s::bigint[], %s::text[]) AS w(hash, url)"
            " ON u.hash = w.hash AND u.url = w.url",
            (hashes, url_list),
        )
        url_ids = dict(await cur.fetchall())
    anchor_ids = await _ids(conn, "anchors", "text", [a for a in anchors if a])
    anchor_ids[""] = 0
    rel_ids = await _ids(conn, "rels", "tokens", [" ".join(r) for r in rels if r])
    rel_ids[""] = 0

    def domain(url: str) -> int:
        return domain_ids[domain_of[hosts[url]]]

    link_rows: dict[tuple[int, ...], int] = {}  # key -> first_seen

    def add(source_url: str, links: list[Link], seen: int, kinds: frozenset[str] | None) -> list:
        source, own = url_ids[source_url], domain(source_url)
        keys = []
        for link in links:
            if kinds is not None and link.kind not in kinds:
                continue
            flags = link_flags(link)
            if domain(link.target) == own:
                flags |= _INTERNAL
            key = (
                url_ids[link.target],
                source,
                _KIND_ID[link.kind],
                anchor_ids[clean(link.anchor[:MAX_ANCHOR]) or ""],
                _PLACEMENT_ID[link.placement],
                rel_ids[" ".join(link.rel)],
                flags,
            )
            keys.append(key)
            link_rows.setdefault(key, seen)
        return keys

    for source_url, links, seen_at in batch.loose:
        add(source_url, links, int(seen_at), None)

    page_ids = [url_ids[p.url] for p in batch.pages]
    cur = await conn.execute(
        "SELECT url_id, status, robots, canonical_id, checked_only FROM pages"
        " WHERE url_id = ANY(%s) FOR UPDATE",
        (page_ids,),
    )
    previous = {row[0]: tuple(row[1:]) for row in await cur.fetchall()}
    sources = sorted(set(page_ids) | {url_ids[s] for s, _, _ in batch.loose})
    links_before = await _current(conn, sources)
    answered: dict[int, int] = {}
    page_rows: list[tuple[Any, ...]] = []
    texts: dict[int, str] = {}
    unchanged: dict[int, tuple[float, int]] = {}
    diffed: dict[int, tuple[int, int, list]] = {}
    done: list[int] = []
    for page in batch.pages:
        source = url_ids[page.url]
        done.append(source)
        seen = int(page.fetched_at)
        before = previous.get(source)
        refetch = before is not None and before[0] is not None
        if refetch and page.error in SKIP_REASONS:
            continue
        if refetch and page.not_modified:
            unchanged[source] = (page.fetched_at, seen)
            continue
        was = before is not None and before[0] is not None and not before[3]
        now = page.status is not None and not page.checked_only
        if was != now:
            host = host_ids[hosts[page.url]]
            answered[host] = answered.get(host, 0) + (now - was)
        canonical_id = url_ids.get(page.canonical) if page.canonical else None
        loss = page_loss(page, before, source, canonical_id) if refetch else None  # type: ignore[arg-type]
        if loss is not None:
            keys = add(page.url, page.links, seen, frozenset({"redirect", "canonical"}))
            diffed[source] = (seen, _LOST_ID[loss], keys)
        else:
            keys = add(page.url, page.links, seen, None)
            if refetch:
                diffed[source] = (seen, 0, keys)
        if page.text:
            texts[source] = clean(page.text) or ""
        robots = (ROBOTS_NOINDEX if page.noindex else 0) | (ROBOTS_NOFOLLOW if page.nofollow else 0)
        row = (
            source,
            page.status,
            clean(page.error),
            url_ids.get(page.final_url) if page.final_url else None,
            clean(page.content_type),
            page.fetched_at,
            page.depth,
            clean(page.title),
            clean(page.lang),
            canonical_id,
            robots,
            page.size,
            int(page.elapsed * 1000),
            clean(page.etag),
            clean(page.last_modified),
            sum(1 for link in page.links if link.kind == "link"),
            int(page.checked_only),
        )
        page_rows.append(row)
    if link_rows:
        # Sent with binary COPY into a temporary table, then merged: measured at about
        # half the cost per row of one INSERT over unnest() arrays (docs/benchmarks.md).
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS new_links (target_id BIGINT, source_id BIGINT,"
            " kind INT, anchor_id BIGINT, placement INT, rel_id BIGINT, flags INT,"
            " first_seen BIGINT) ON COMMIT DELETE ROWS"
        )
        async with conn.cursor().copy("COPY new_links FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_LINK_TYPES)
            for key in sorted(link_rows):
                await copy.write_row((*key, link_rows[key]))
        await conn.execute(
            "INSERT INTO links(target_id, source_id, kind, anchor_id, placement, rel_id,"
            " flags, first_seen) SELECT * FROM new_links"
            " ON CONFLICT (target_id, source_id, kind, anchor_id, placement, rel_id, flags)"
            " DO UPDATE SET last_seen = excluded.first_seen, lost_at = NULL, lost_reason = NULL"
        )
    if diffed:
        kept = [key for _, _, keys in diffed.values() for key in keys]
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS kept (target_id BIGINT, source_id BIGINT,"
            " kind INT, anchor_id BIGINT, placement INT, rel_id BIGINT, flags INT)"
            " ON COMMIT DELETE ROWS"
        )
        if kept:
            await conn.execute(
                "INSERT INTO kept SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::int[],"
                " %s::bigint[], %s::int[], %s::bigint[], %s::int[])",
                [list(c) for c in zip(*kept, strict=True)],
            )
        order = sorted(diffed)
        await conn.execute(
            "UPDATE links l SET lost_at = d.seen, lost_reason = d.reason"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[]) AS d(source, seen, reason)"
            " WHERE l.source_id = d.source AND l.lost_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM kept k WHERE k.source_id = l.source_id"
            " AND k.target_id = l.target_id AND k.kind = l.kind AND k.anchor_id = l.anchor_id"
            " AND k.placement = l.placement AND k.rel_id = l.rel_id AND k.flags = l.flags)",
            (order, [diffed[s][0] for s in order], [diffed[s][1] for s in order]),
        )
    if unchanged:
        order = sorted(unchanged)
        at = [unchanged[s][0] for s in order]
        seen_list = [unchanged[s][1] for s in order]
        await conn.execute(
            "UPDATE pages p SET fetched_at = d.at"
            " FROM unnest(%s::bigint[], %s::float8[]) AS d(id, at) WHERE p.url_id = d.id",
            (order, at),
        )
        await conn.execute(
            "UPDATE links l SET last_seen = d.seen"
            " FROM unnest(%s::bigint[], %s::bigint[]) AS d(id, seen)"
            " WHERE l.source_id = d.id AND l.lost_at IS NULL",
            (order, seen_list),
        )
    if page_rows:
        by_id = {row[0]: row for row in page_rows}  # a page twice in a batch: the last wins
        rows = [by_id[k] for k in sorted(by_id)]
        columns = [list(c) for c in zip(*rows, strict=True)]
        await conn.execute(
            "INSERT INTO pages(url_id, status, error, final_id, content_type, fetched_at,"
            " depth, title, lang, canonical_id, robots, size, elapsed_ms, etag,"
            " last_modified, outlinks, checked_only) SELECT * FROM unnest(%s::bigint[],"
            " %s::int[], %s::text[], %s::bigint[], %s::text[], %s::float8[], %s::int[],"
            " %s::text[], %s::text[], %s::bigint[], %s::int[], %s::bigint[], %s::bigint[],"
            " %s::text[], %s::text[], %s::int[], %s::int[])"
            " ON CONFLICT(url_id) DO UPDATE SET status = excluded.status,"
            " error = excluded.error, final_id = excluded.final_id,"
            " content_type = excluded.content_type, fetched_at = excluded.fetched_at,"
            " title = excluded.title, lang = excluded.lang,"
            " canonical_id = excluded.canonical_id, robots = excluded.robots,"
            " size = excluded.size, elapsed_ms = excluded.elapsed_ms,"
            " etag = excluded.etag, last_modified = excluded.last_modified,"
            " outlinks = excluded.outlinks, checked_only = excluded.checked_only",
            columns,
        )
    if texts:
        order = sorted(texts)
        await conn.execute(
            "INSERT INTO page_text(url_id, text) SELECT * FROM unnest(%s::bigint[], %s::text[])"
            " ON CONFLICT(url_id) DO UPDATE SET text = excluded.text",
            (order, [texts[s] for s in order]),
        )
    if batch.queued:
        entries: dict[int, QueueItem] = {}
        for item in batch.queued:
            entries.setdefault(url_ids[item.url], item)  # the first entry of a URL wins
        order = sorted(entries)
        await conn.execute(
            "INSERT INTO frontier(url_id, host_id, depth, hops, kind) SELECT * FROM"
            " unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[], %s::int[])"
            " ON CONFLICT DO NOTHING",
            (
                order,
                [host_ids[hosts[entries[i].url]] for i in order],
                [entries[i].depth for i in order],
                [entries[i].hops for i in order],
                [QUEUE_KIND_ID[entries[i].kind] for i in order],
            ),
        )
    if done:
        await conn.execute("DELETE FROM frontier WHERE url_id = ANY(%s)", (sorted(done),))
    for host, (ip, note) in sorted(batch.hosts.items()):
        await conn.execute(
            "UPDATE hosts SET ip = coalesce(%s, ip), note = coalesce(%s, note) WHERE name = %s",
            (clean(ip), clean(note), host),
        )
    return await _current(conn, sources) - links_before, answered


async def _current(conn: Any, sources: list[int]) -> int:
    if not sources:
        return 0
    cur = await conn.execute(
        "SELECT count(*) FROM links WHERE source_id = ANY(%s) AND lost_at IS NULL", (sources,)
    )
    return (await cur.fetchone())[0]
