"""The crawl loop: a dispatcher hands ready hosts to a pool of workers.

Composition: the engine receives its settings, store writer, fetcher and clock; it builds
nothing global. A worker takes one ready host, does that host's next step (resolve its
address, fetch robots.txt, read back spilled frontier entries, or fetch one URL),
records the outcome, and gives the host back to the scheduler, which holds it until its
delay has passed. Workers never wait out a delay.

The parts of a step are components the engine builds from what it received:
:class:`~.robotscache.RobotsCache` (robots.txt per origin), :class:`~.pagefetch.PageFetch`
(one page, its retries and throttling), :class:`~.linkcheck.LinkCheck` (check mode) and
:class:`~.outcomes.Outcomes` (records, host notes, failure and time budgets); as one
worker of several on a store, :class:`~.leasing.HostLeasing` (the hosts it holds).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable

from linkgraph.storage.errors import StoreError
from linkgraph.storage.interface import CrawlWriter
from linkgraph.storage.records import Page, QueueItem
from linkgraph.storage.vocab import SKIP_REASONS

from .fetch import FetchError
from .fleet import Leases, LocalLeases, lease_too_short
from .frontier import Frontier, Guards
from .leasing import HostLeasing
from .linkcheck import LinkCheck
from .outcomes import CrawlStats, Outcomes
from .pagefetch import PageFetch
from .parsing import PageParser, ParseLimits, auto_workers
from .politeness import Host, HostScheduler
from .robotscache import RobotsCache
from .seams import Clock, HttpFetcher, Resolver, SystemClock, wait_event
from .settings import CrawlSettings, SettingsError
from .urls import Scope, normalize

__all__ = ["CrawlStats", "Engine"]

log = logging.getLogger("linkgraph.crawl")

_DRAIN_CHUNK = 500
# Tracked objects allocated (net of those freed) between two collections of the young
# generation while crawling. A batch of pages waiting for its commit holds a few hundred
# thousand of them (links, keys, rows); at 50,000 the young generation was collected
# every 140 pages or so, each time walking objects that the commit would free anyway:
# 0.22 s of the event loop's 5 s on the crawl benchmark, against 0.02 s at 500,000.
YOUNG_COLLECTION = 500_000


class Engine:
    """One crawl of one store. ``await Engine(...).run()``."""

    def __init__(
        self,
        settings: CrawlSettings,
        writer: CrawlWriter,
        fetcher: HttpFetcher,
        *,
        resolver: Resolver | None = None,
        clock: Clock | None = None,
        wallclock: Callable[[], float] = time.time,
        parser: PageParser | None = None,
        check: bool = False,
        leases: Leases | None = None,
    ) -> None:
        """``check=True`` runs a link check instead of a crawl: every link target without a
        page row gets a HEAD request (GET where HEAD is refused), under the same politeness
        rules, and nothing is parsed or followed.

        ``resolver`` defaults to the fetcher's own (:class:`~.client.HttpClient` carries
        the :class:`~.fetch.SafeResolver` that vets its connections), so the
        address a host's per-IP slot is counted against is the one connected to.
        ``clock`` (real by default) is what every politeness wait is measured and slept on;
        ``wallclock`` dates records and reads ``Retry-After`` dates. ``parser`` defaults
        to a :class:`~.parsing.PageParser` built from the settings. ``leases`` (alone by
        default) are how this process shares a store's crawl with others
        (:mod:`.fleet`)."""
        self.settings = settings
        self.check = check
        self.kinds: tuple[str, ...] | None = ("check",) if check else None
        self.writer = writer
        self.fetcher = fetcher
        self.resolver: Resolver = resolver if resolver is not None else fetcher.resolver  # type: ignore[attr-defined]
        self.clock: Clock = clock or SystemClock()
        self.wallclock = wallclock
        self.token = settings.product_token
        self.leases: Leases = leases if leases is not None else LocalLeases()
        self.scheduler = HostScheduler(
            per_ip=settings.connections_per_ip, clock=self.clock, keep_open=not self.leases.local
        )
        self.parser = parser or _parser_for(settings)
        self.out = Outcomes(settings, writer, self.scheduler, self.clock, wallclock)
        self.stats = self.out.stats
        self.robots = RobotsCache(
            settings,
            fetcher,
            self.clock,
            self.out,
            unreachable_skip_error=check,
            leases=self.leases,
        )
        self.pages = PageFetch(settings, fetcher, self.clock, wallclock, self.out, self.parser)
        self.checks = LinkCheck(settings, fetcher, self.clock, wallclock, self.out)
        self.frontier: Frontier | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._interrupts = 0
        self.leasing: HostLeasing | None = None  # a fleet worker's side of its leases

    # -- setup -------------------------------------------------------------------------

    async def _prepare(self) -> Frontier:
        s = self.settings
        stored = await self.writer.load_crawl()
        seeds = [u for u in (normalize(x) for x in s.seeds) if u]
        old_seeds = list(stored.get("seeds", [])) if stored else []
        all_seeds = list(dict.fromkeys(old_seeds + seeds))
        if self.check:
            all_seeds = []  # a link check queues link targets, not seeds
        elif not all_seeds:
            raise SettingsError("no seed URLs: give SEED_URL arguments or --seeds FILE")
        else:
            record = s.to_dict()
            record["seeds"] = all_seeds
            await self.writer.save_crawl(record)
        scope = Scope(s.scope, all_seeds)

        guards = Guards(
            max_depth=s.max_depth,
            max_urls_per_host=s.max_urls_per_host,
            max_segment_repeats=s.max_segment_repeats,
            max_queries_per_path=s.max_queries_per_path,
            max_query_params=s.max_query_params,
        )
        alone = self.leases.local
        frontier = self.frontier = self.out.frontier = Frontier(
            scope, delay=s.delay, guards=guards, held=alone
        )
        if self.check:
            self.stats.checking = await self.writer.queue_checks()
        elif s.refresh:
            self.stats.refreshing = await self.writer.queue_refresh()
        state = await self.writer.resume_state(kinds=self.kinds)
        frontier.mark_seen(state.seen_hashes)
        # A fleet worker learns a host's queue and request count when it leases the host.
        for name, queued in state.queued_by_host.items() if alone else ():
            frontier.restore(name, queued)
        if not (s.refresh or self.check):  # a new pass: the caps count its own requests
            for name, requests in state.requests_by_host.items() if alone else ():
                host = frontier.host(name)
                host.requests = requests
                host.accepted += requests
            self.stats.requests = state.requests_total
        queued = []
        for seed in all_seeds:
            offered = frontier.offer(seed, 0)
            if offered is not None:
                queued.append(offered[1])
        self.writer.add_queued(queued)
        self.out.record_refused()
        await self.writer.flush()
        for host in frontier.hosts.values():
            self.scheduler.wake(host)
        return frontier

    # -- run ---------------------------------------------------------------------------

    async def run(self, *, progress: Callable[[CrawlStats], object] | None = None) -> CrawlStats:
        """Crawl until the frontier is empty, a cap is reached, or the user interrupts."""
        if not self.leases.local:
            self.stats.worker = await self.leases.start(
                max_pages=self.settings.max_pages, fresh=self.check or self.settings.refresh
            )
        self.frontier = await self._prepare()
        if not self.leases.local:
            self.leasing = HostLeasing(
                self.leases, self.settings, self.frontier, self.scheduler,
                self.writer, self.clock, self.stats, self.fetcher, self._capped,
                fresh=self.check or self.settings.refresh,
            )  # fmt: skip
            self.robots.holds = self.leasing.holds
            if self.leases.max_pages != self.settings.max_pages:
                # Held to the pass's cap, not its own (none, or another): the start line says so.
                self.stats.pass_cap = self.leases.max_pages
        if self._capped():
            self.scheduler.stop()
        # A crawl allocates millions of short-lived containers (links, tuples, responses)
        # next to a large, stable heap (hosts, queues). CPython's default GC thresholds
        # rescan that heap over and over: measured, a quarter of the crawl's CPU. Freeze
        # what exists now and collect the young generation less often while crawling.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION, 50, 1000)
        loop = asyncio.get_running_loop()
        handlers = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.interrupt)
                handlers.append(sig)
        try:
            async with _one_store_error(), asyncio.TaskGroup() as group:
                flusher = group.create_task(self._flush_loop())
                shower = group.create_task(self._progress_loop(progress)) if progress else None
                dispatcher = group.create_task(self.scheduler.dispatch())
                leasing = self.leasing
                leaser = None if leasing is None else group.create_task(leasing.run())
                self._workers = [
                    group.create_task(self._worker()) for _ in range(self.settings.concurrency)
                ]
                await asyncio.gather(*self._workers, return_exceptions=True)
                dispatcher.cancel()
                flusher.cancel()
                if leaser is not None:
                    leaser.cancel()
                if shower is not None:
                    shower.cancel()
        finally:
            for sig in handlers:
                loop.remove_signal_handler(sig)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            await self.parser.close()
        await self.writer.flush()
        if self.leasing is not None:
            await self.leasing.leave()
        self._refresh_counters()
        if progress:
            progress(self.stats)
        return self.stats

    def interrupt(self) -> None:
        """Ctrl-C: stop taking work, drop what is in flight (it stays queued), flush, exit."""
        self._interrupts += 1
        self.stats.interrupted = True
        self.scheduler.stop()
        for task in self._workers:
            task.cancel()

    async def _flush_loop(self) -> None:
        while True:
            await wait_event(self.out.flush_wanted, self.clock, self.settings.flush_seconds)
            self.out.flush_wanted.clear()
            await self.writer.flush()
            if self.leasing is not None:
                self.leasing.wanted.set()

    async def _progress_loop(self, progress: Callable[[CrawlStats], object]) -> None:
        while True:
            self._refresh_counters()
            progress(self.stats)
            await self.clock.sleep(0.25)

    def _refresh_counters(self) -> None:
        # The store's own totals, kept by the writer as each batch commits: what the
        # display shows is what `linkgraph stats` will say.
        self.stats.links = self.writer.links
        self.stats.hosts_crawled = self.writer.hosts_crawled
        if self.frontier is None:
            return
        self.stats.queued = self.frontier.size
        self.stats.active_hosts = self.scheduler.busy
        self.stats.hosts_seen = len(self.frontier.hosts)

    # -- workers -----------------------------------------------------------------------

    async def _worker(self) -> None:
        while (host := await self.scheduler.next_host()) is not None:
            try:
                await self._step(host)
            except (asyncio.CancelledError, StoreError):
                # The store failing is the crawl's trouble, not this host's: it ends the
                # crawl in one line, and the host's URLs stay queued.
                raise
            except Exception:  # a bug must not take the whole crawl down with it
                log.exception("internal error while crawling %s; skipping the host", host.name)
                host.skip_reason = host.skip_reason or "internal-error"
            finally:
                self.scheduler.release(host)
                if self.leasing is not None and not host.has_work:
                    self.leasing.wanted.set()
            if self.writer.pending_pages >= 4 * self.writer.batch_pages:
                await self.writer.flush()  # backpressure: never outrun the disk by much

    async def _step(self, host: Host) -> None:
        """Do the next piece of work for one host."""
        assert self.frontier is not None
        s = self.settings
        if host.ip is None and host.skip_reason is None:
            await self._resolve(host)
            return
        if host.skip_reason is not None:
            await self._drain(host)
            return
        if self.leasing is not None and not await self.leasing.address_ready(host):
            return  # its address is another worker's, or not free yet
        if lease_too_short(host, self.leases.seconds, self.clock.monotonic()):
            return
        if not host.queue:
            if host.spilled:
                await self._refill(host, self.frontier.window)
            return
        item = host.queue[0]
        rules = await self.robots.rules_for(host, item.url)
        if rules is None:
            return
        retry = item.url in host.retries
        if not retry:
            if s.max_pages_per_host is not None and host.requests >= s.max_pages_per_host:
                host.retired = True
                return
            if self.leasing is not None and not self.leasing.page_granted():
                # The fleet's cap: reserved in blocks. The request starts at the host's
                # next turn (the host may have changed hands while we waited).
                if not await self.leasing.reserve_pages():
                    self.scheduler.stop()
                return
            if self._capped():
                self.scheduler.stop()
                return
        self.frontier.pop(host)
        if not rules.allowed(item.url, self.token):
            self.out.record(
                Page(item.url, item.depth, self.wallclock(), error="robots"), skipped=True
            )
            return
        if not retry:
            host.requests += 1
            self.stats.requests += 1
            if self.leasing is not None:
                self.leasing.took_page()
        await self._fetch(host, item)

    async def _refill(self, host: Host, limit: int) -> None:
        """Read the next ``limit`` of the host's entries back from the store."""
        assert self.frontier is not None
        lease = host.leases
        items = await self.writer.take_frontier(host.name, limit, kinds=self.kinds)
        # A fleet worker may have lost the host while the read ran (and claimed it back
        # since): that window is another holder's now, its entries perhaps fetched.
        if host.held and host.leases == lease:
            self.frontier.refilled(host, items)

    def _capped(self) -> bool:
        if self.leasing is not None:  # the fleet's requests, not ours (leasing.py)
            return self.leasing.pages_out and not self.leasing.page_granted()
        cap = self.settings.max_pages
        return cap is not None and self.stats.requests >= cap

    async def _resolve(self, host: Host) -> None:
        try:
            addresses = await self.resolver.lookup(host.name)
        except FetchError as exc:
            host.skip_reason = exc.reason
            self.out.note(host, str(exc))
            return
        host.ip = addresses[0]
        self.writer.note_host(host.name, ip=host.ip)

    async def _drain(self, host: Host) -> None:
        """Record every queued URL of a host we will not fetch, with the reason."""
        assert self.frontier is not None
        if not host.queue and host.spilled:
            await self._refill(host, _DRAIN_CHUNK)
        now = self.wallclock()
        skipped = host.skip_reason in SKIP_REASONS
        for _ in range(min(len(host.queue), _DRAIN_CHUNK)):
            item = self.frontier.pop(host)
            page = Page(item.url, item.depth, now, error=host.skip_reason, checked_only=self.check)
            self.out.record(page, skipped=skipped)

    async def _fetch(self, host: Host, item: QueueItem) -> None:
        now = self.clock.monotonic()
        host.started(now)
        # A check queued by an interrupted link check may wait in a crawl's frontier.
        runner = self.checks if item.kind == "check" else self.pages
        await runner.run(host, item, now, self.wallclock())


def _parser_for(settings: CrawlSettings) -> PageParser:
    workers = auto_workers() if settings.parse_workers is None else settings.parse_workers
    limits = ParseLimits(
        max_links=settings.max_links_per_page,
        max_url_length=settings.max_url_length,
        cpu_seconds=settings.parse_cpu_seconds,
    )
    return PageParser(
        workers=workers,
        agent_token=settings.product_token,
        want_text=settings.store_text,
        limits=limits,
    )


@contextlib.asynccontextmanager
async def _one_store_error() -> AsyncIterator[None]:
    """The store failing under the crawl's tasks (a queue read, a lease renewal) ends the
    crawl as one :class:`StoreError`, which the CLI prints in one line, not as the task
    group's :class:`ExceptionGroup`. Anything else stays in its group."""
    try:
        yield
    except BaseExceptionGroup as group:
        errors = _leaves(group)
        if errors and all(isinstance(e, StoreError) for e in errors):
            raise errors[0] from None
        raise


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found
