"""How a crawl is put together: the store writer, the fetcher and its resolver, the engine.

The composition root of the crawl. Each collaborator is built here from the settings and
handed to the next as an argument; nothing below reaches for global state. The façade
(:mod:`linkgraph.api`) calls these.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from linkgraph.crawler.client import HttpClient
from linkgraph.crawler.engine import CrawlStats, Engine
from linkgraph.crawler.fetch import SafeResolver, read_hosts_file
from linkgraph.crawler.robotsfetch import RobotsFetch, fetch_robots
from linkgraph.crawler.settings import CrawlSettings, SettingsError
from linkgraph.storage.identity import normalize
from linkgraph.storage.pg import is_pg_url
from linkgraph.storage.pg.fleet import PgLeases
from linkgraph.storage.pg.writer import PgWriter
from linkgraph.storage.schema import inspect_file
from linkgraph.storage.writer import StoreWriter

from .loop import run
from .stores import refuse_other_urls

__all__ = ["crawl_async", "fetch_robots_txt", "run"]


def _fetcher(settings: CrawlSettings, *, concurrency: int, pinned_only: bool) -> HttpClient:
    """A fetcher with the settings' user agent, timeouts and address safety (hosts file
    pins, private addresses only when allowed)."""
    pinned = read_hosts_file(settings.hosts_file) if settings.hosts_file else {}
    resolver = SafeResolver(
        pinned, allow_private=settings.allow_private_addresses, pinned_only=pinned_only
    )
    return HttpClient(
        user_agent=settings.user_agent,
        resolver=resolver,
        concurrency=concurrency,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )


async def crawl_async(
    db: str | os.PathLike[str],
    settings: CrawlSettings,
    *,
    progress: Callable[[CrawlStats], object] | None = None,
    check: bool = False,
) -> CrawlStats:
    """Crawl into ``db`` (created, or continued when it holds a crawl already).

    ``check=True`` instead checks the status of every link target not fetched yet
    (``linkgraph broken --check-external``)."""
    pg = is_pg_url(db)
    if not pg:
        refuse_other_urls(db)
    if not check and not any(normalize(s) for s in settings.seeds) and not _has_store(db):
        # The engine says the same, but only once the store is open, and opening creates
        # it: a crawl with nothing to do must not leave a new empty store behind.
        raise SettingsError("no seed URLs: give SEED_URL arguments or --seeds FILE")
    fetcher = _fetcher(settings, concurrency=settings.concurrency, pinned_only=settings.pinned_only)
    writer: StoreWriter | PgWriter
    if pg:
        writer = await PgWriter.open(os.fspath(db), batch_pages=settings.batch_pages)
    else:
        writer = await StoreWriter.open(db, batch_pages=settings.batch_pages)
    leases: PgLeases | None = None
    if pg:
        # Several processes may crawl one PostgreSQL store: each leases the hosts it crawls.
        try:
            leases = await PgLeases.open(os.fspath(db), seconds=settings.lease_seconds)
        except BaseException:
            await writer.close()
            raise
    async with writer, fetcher:
        engine = Engine(settings, writer, fetcher, check=check, leases=leases)
        try:
            stats = await engine.run(progress=progress)
        finally:
            if leases is not None:
                await leases.close()
        if leases is not None and isinstance(writer, PgWriter):
            # The store's totals now, with what the other workers wrote. Its queue too: a
            # worker's own queue is empty once it has given its hosts back, stopped early
            # (interrupted, capped) or not.
            await writer.recount()
            stats.links, stats.hosts_crawled = writer.links, writer.hosts_crawled
            stats.queued = writer.queued
        return stats


def _has_store(db: str | os.PathLike[str]) -> bool:
    """True when ``db`` holds a store already (a PostgreSQL one: with a crawl in it)."""
    if not is_pg_url(db):
        return inspect_file(db) is not None
    from linkgraph.storage.errors import StoreNotFound

    from .stores import open_reader

    try:
        store = open_reader(db)
    except StoreNotFound:
        return False
    try:
        return store.crawl_record() is not None
    finally:
        store.close()


async def fetch_robots_txt(url: str, settings: CrawlSettings) -> RobotsFetch:
    """Fetch one robots.txt as a crawl would (redirects, size limit, address safety)."""
    # One file: one connection is enough.
    async with _fetcher(settings, concurrency=1, pinned_only=False) as fetcher:
        return await fetch_robots(
            fetcher,
            url,
            max_bytes=settings.robots_max_bytes,
            max_redirects=settings.robots_max_redirects,
        )
