"""The crawl loop: a dispatcher hands ready hosts to a pool of workers.

Composition: the engine receives its settings, store writer, fetcher and clock; it builds
nothing global. A worker takes one ready host, does that host's next step (resolve its
address, fetch robots.txt, read back spilled frontier entries, or fetch one URL),
records the outcome, and gives the host back to the scheduler, which holds it until its
delay has passed. Workers never wait out a delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from linkgraph.storage.interface import CrawlWriter
from linkgraph.storage.records import Link, Page, QueueItem
from linkgraph.storage.vocab import SKIP_REASONS

from .encoding import is_html
from .extract import robots_directives
from .fetch import FetchError, Response, header_values
from .frontier import Frontier, Guards
from .parsing import PageParser, ParseLimits, auto_workers
from .politeness import Host, HostScheduler, RobotsEntry, retry_after_seconds
from .robots import RobotsOutcome, RobotsRules, robots_url, rules_for_response
from .robotsfetch import fetch_robots_hop
from .seams import Clock, HttpFetcher, Resolver, SystemClock, wait_event
from .settings import CrawlSettings, SettingsError
from .sitemaps import parse_sitemap
from .urls import Scope, normalize, origin_of, resolve

__all__ = ["CrawlStats", "Engine"]

log = logging.getLogger("linkgraph.crawl")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_THROTTLES = frozenset({429, 503})
_DRAIN_CHUNK = 500


@dataclass(slots=True)
class CrawlStats:
    """Live counters, read by the progress display and returned as the summary."""

    started: float = field(default_factory=time.monotonic)
    requests: int = 0  # distinct URLs requested (what the caps count)
    pages: int = 0  # responses recorded
    errors: int = 0  # URLs recorded without a response
    skipped: int = 0  # URLs recorded without a request (robots, skipped hosts)
    retries: int = 0
    refreshing: int = 0  # stored pages queued again by --refresh
    checking: int = 0  # link targets queued for a status check
    robots_fetches: int = 0
    links: int = 0  # current links in the store, as `linkgraph stats` counts them
    long_urls: int = 0  # link targets left out for their length (max_url_length)
    bytes: int = 0
    queued: int = 0
    active_hosts: int = 0
    hosts_seen: int = 0
    hosts_crawled: int = 0  # hosts with a page that answered, as `linkgraph stats` counts them
    interrupted: bool = False
    host_notes: dict[str, str] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        return self.pages / self.elapsed if self.elapsed > 0 else 0.0


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
    ) -> None:
        """``check=True`` runs a link check instead of a crawl: every link target without a
        page row gets a HEAD request (GET where HEAD is refused), under the same politeness
        rules, and nothing is parsed or followed.

        ``resolver`` defaults to the fetcher's own (the aiohttp :class:`~.fetch.Fetcher`
        carries the :class:`~.fetch.SafeResolver` that vets its connections), so the
        address a host's per-IP slot is counted against is the one connected to.
        ``clock`` (real by default) is what every politeness wait is measured and slept on;
        ``wallclock`` dates records and reads ``Retry-After`` dates. ``parser`` defaults
        to a :class:`~.parsing.PageParser` built from the settings."""
        self.settings = settings
        self.check = check
        self.kinds: tuple[str, ...] | None = ("check",) if check else None
        self.writer = writer
        self.fetcher = fetcher
        self.resolver: Resolver = resolver if resolver is not None else fetcher.resolver  # type: ignore[attr-defined]
        self.clock: Clock = clock or SystemClock()
        self.wallclock = wallclock
        self.token = settings.product_token
        self.stats = CrawlStats()
        self.scheduler = HostScheduler(per_ip=settings.connections_per_ip, clock=self.clock)
        self.parser = parser or _parser_for(settings)
        self.frontier: Frontier | None = None
        self._cap_reached = False
        self._flush_wanted = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._interrupts = 0

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
        frontier = self.frontier = Frontier(scope, delay=s.delay, guards=guards)
        if self.check:
            self.stats.checking = await self.writer.queue_checks()
        elif s.refresh:
            self.stats.refreshing = await self.writer.queue_refresh()
        state = await self.writer.resume_state(kinds=self.kinds)
        frontier.mark_seen(state.seen_hashes)
        for name, queued in state.queued_by_host.items():
            frontier.restore(name, queued)
        if not (s.refresh or self.check):  # a new pass: the caps count its own requests
            for name, requests in state.requests_by_host.items():
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
        self._record_refused()
        await self.writer.flush()
        for host in frontier.hosts.values():
            self.scheduler.wake(host)
        return frontier

    # -- run ---------------------------------------------------------------------------

    async def run(self, *, progress: Callable[[CrawlStats], object] | None = None) -> CrawlStats:
        """Crawl until the frontier is empty, a cap is reached, or the user interrupts."""
        self.frontier = await self._prepare()
        if self._capped():
            self.scheduler.stop()
        # A crawl allocates millions of short-lived containers (links, tuples, responses)
        # next to a large, stable heap (hosts, queues). CPython's default GC thresholds
        # rescan that heap over and over: measured, a quarter of the crawl's CPU. Freeze
        # what exists now and collect the young generation less often while crawling.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(50_000, 50, 1000)
        loop = asyncio.get_running_loop()
        handlers = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.interrupt)
                handlers.append(sig)
        try:
            async with asyncio.TaskGroup() as group:
                flusher = group.create_task(self._flush_loop())
                shower = group.create_task(self._progress_loop(progress)) if progress else None
                dispatcher = group.create_task(self.scheduler.dispatch())
                self._workers = [
                    group.create_task(self._worker()) for _ in range(self.settings.concurrency)
                ]
                await asyncio.gather(*self._workers, return_exceptions=True)
                dispatcher.cancel()
                flusher.cancel()
                if shower is not None:
                    shower.cancel()
        finally:
            for sig in handlers:
                loop.remove_signal_handler(sig)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            await self.parser.close()
        await self.writer.flush()
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
            await wait_event(self._flush_wanted, self.clock, self.settings.flush_seconds)
            self._flush_wanted.clear()
            await self.writer.flush()

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
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not take the whole crawl down with it
                log.exception("internal error while crawling %s; skipping the host", host.name)
                host.skip_reason = host.skip_reason or "internal-error"
            finally:
                self.scheduler.release(host)
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
        if not host.queue:
            if host.spilled:
                items = await self.writer.take_frontier(
                    host.name, self.frontier.window, kinds=self.kinds
                )
                self.frontier.refilled(host, items)
            return
        item = host.queue[0]
        now = self.clock.monotonic()
        origin = origin_of(item.url)
        entry = host.robots.get(origin)
        # Rules are fetched again when their cache time is up (§2.4); ``attempts`` bounds
        # only the retries of a robots.txt that could not be read.
        unreadable = entry is not None and entry.outcome == RobotsOutcome.DISALLOW_UNAVAILABLE
        if entry is None or (
            entry.expires <= now and (not unreadable or entry.attempts <= s.robots_retries)
        ):
            await self._fetch_robots(host, origin, entry)
            return
        if entry.outcome == RobotsOutcome.DISALLOW_UNAVAILABLE:
            if entry.attempts > s.robots_retries:
                # A link check learns what it came for: a host that cannot even be
                # connected to makes every link to it broken ("could not be reached").
                host.skip_reason = (
                    entry.error if self.check and entry.error else "robots-unavailable"
                )
                self._note(
                    host, f"robots.txt unavailable after {entry.attempts} tries: nothing fetched"
                )
            else:
                host.next_time = max(host.next_time, entry.expires)
            return
        retry = item.url in host.retries
        if not retry:
            if s.max_pages_per_host is not None and host.requests >= s.max_pages_per_host:
                host.retired = True
                return
            if self._capped():
                self.scheduler.stop()
                return
        self.frontier.pop(host)
        if not entry.rules.allowed(item.url, self.token):
            self._record(Page(item.url, item.depth, self.wallclock(), error="robots"), skipped=True)
            return
        if not retry:
            host.requests += 1
            self.stats.requests += 1
        await self._fetch(host, item)

    def _capped(self) -> bool:
        cap = self.settings.max_pages
        return cap is not None and self.stats.requests >= cap

    async def _resolve(self, host: Host) -> None:
        try:
            addresses = await self.resolver.lookup(host.name)
        except FetchError as exc:
            host.skip_reason = exc.reason
            self._note(host, str(exc))
            return
        host.ip = addresses[0]
        self.writer.note_host(host.name, ip=host.ip)

    async def _drain(self, host: Host) -> None:
        """Record every queued URL of a host we will not fetch, with the reason."""
        assert self.frontier is not None
        if not host.queue and host.spilled:
            self.frontier.refilled(
                host, await self.writer.take_frontier(host.name, _DRAIN_CHUNK, kinds=self.kinds)
            )
        now = self.wallclock()
        skipped = host.skip_reason in SKIP_REASONS
        for _ in range(min(len(host.queue), _DRAIN_CHUNK)):
            item = self.frontier.pop(host)
            page = Page(item.url, item.depth, now, error=host.skip_reason, checked_only=self.check)
            self._record(page, skipped=skipped)

    def _note(self, host: Host, note: str) -> None:
        self.stats.host_notes[host.name] = note
        self.writer.note_host(host.name, note=note)
        log.info("%s: %s", host.name, note)

    # -- robots.txt (RFC 9309) ---------------------------------------------------------

    async def _fetch_robots(self, host: Host, origin: str, previous: RobotsEntry | None) -> None:
        s = self.settings
        url, hop = host.robots_redirects.pop(origin, (robots_url(origin), 0))
        sent = self.clock.monotonic()  # until the fetcher says when the request really left
        host.started(sent)
        if hop == 0:
            self.stats.robots_fetches += 1
        began = self.clock.monotonic()
        result = await fetch_robots_hop(
            self.fetcher,
            url,
            hop,
            max_bytes=s.robots_max_bytes,
            max_redirects=s.robots_max_redirects,
        )
        self._waited(host, began)
        status, body = result.status, result.body
        error = result.error.reason if result.error else None
        if result.error:
            log.debug("robots.txt of %s: %s", origin, result.error)
        if result.sent_ago is not None:
            sent = self.clock.monotonic() - result.sent_ago
        # One hop per turn, so each hop is a request like any other and waits for the
        # host's delay.
        if result.redirect is not None:
            host.robots_redirects[origin] = (result.redirect, hop + 1)
            host.started(sent)
            return
        host.started(sent)
        rules, outcome = rules_for_response(status, body, max_bytes=s.robots_max_bytes)
        now = self.clock.monotonic()
        if outcome == RobotsOutcome.DISALLOW_UNAVAILABLE:
            attempts = (
                previous.attempts + 1
                if previous and previous.outcome == RobotsOutcome.DISALLOW_UNAVAILABLE
                else 1
            )
            entry = RobotsEntry(rules, outcome, now + s.robots_retry_seconds, attempts, error)
            self._note(host, f"robots.txt {status or 'unreachable'}: disallow all, try {attempts}")
        else:
            entry = RobotsEntry(rules, outcome, now + s.robots_cache_seconds)
            self._apply_crawl_delay(host, rules)
            # The robots.txt request itself opens the first gap of the site's Crawl-delay.
            host.started(sent)
            self._queue_sitemaps(rules)
        host.robots[origin] = entry

    def _apply_crawl_delay(self, host: Host, rules: RobotsRules) -> None:
        s = self.settings
        wanted = rules.crawl_delay(self.token)
        if wanted is None:
            return
        if wanted > s.max_crawl_delay:
            host.skip_reason = "crawl-delay"
            self._note(
                host,
                f"Crawl-delay {wanted:g}s is above the cap of {s.max_crawl_delay:g}s: host skipped",
            )
            return
        host.delay = max(s.delay, wanted)

    def _queue_sitemaps(self, rules: RobotsRules) -> None:
        if not self.settings.sitemaps or self.settings.max_depth == 0:
            return
        self._enqueue((url, 0, 0, "sitemap") for url in rules.sitemaps[:10])

    # -- pages -------------------------------------------------------------------------

    async def _fetch(self, host: Host, item: QueueItem) -> None:
        assert self.frontier is not None
        s = self.settings
        now = self.clock.monotonic()
        host.started(now)
        fetched_at = self.wallclock()
        if item.kind == "check":
            await self._check(host, item, now, fetched_at)
            return
        sitemap = item.kind == "sitemap"
        conditional = {}
        if item.kind == "refresh":  # RFC 9110 §13.1: ask only for what changed
            if item.etag:
                conditional["If-None-Match"] = item.etag
            if item.last_modified:
                conditional["If-Modified-Since"] = item.last_modified
        try:
            resp = await self.fetcher.get(
                item.url,
                max_bytes=s.max_page_bytes,
                headers=conditional or None,
                want_body=None if sitemap else _wants_body,
            )
        except FetchError as exc:
            self._waited(host, now)
            if exc.sent_ago is not None:
                host.started(
                    self.clock.monotonic() - exc.sent_ago
                )  # the gap runs from when it left
            if exc.reason == "blocked-address":
                self._record(Page(item.url, item.depth, fetched_at, error=exc.reason), skipped=True)
                return
            gave_up = self._failed(host, f"gave up after {host.parks} parkings: {exc}", str(exc))
            if not gave_up and host.skip_reason is None and self._retry(host, item):
                return
            self._record(Page(item.url, item.depth, fetched_at, error=exc.reason))
            return

        self._waited(host, now)
        host.started(
            self.clock.monotonic() - resp.sent_ago
        )  # the gap runs from when the request left
        if resp.status in _THROTTLES:
            retry_after = retry_after_seconds(resp.headers.get("Retry-After"), self.wallclock())
            if retry_after is not None and retry_after > s.backoff_max:
                # Coming back before the server asked would be rude, and waiting longer
                # than backoff_max stalls the crawl: leave the host, as for a Crawl-delay
                # above the cap. This URL is recorded with its status, the rest as skipped.
                host.skip_reason = "throttled"
                self._note(
                    host,
                    f"asked to wait {retry_after:.0f}s (Retry-After) above backoff_max: host skipped",
                )
            elif self._retry(host, item):
                wait = host.throttled(
                    self.clock.monotonic(), retry_after, s.backoff_base, s.backoff_max
                )
                log.debug("%s answered %s: waiting %.1fs", host.name, resp.status, wait)
                return
        if resp.status >= 500:
            self._failed(
                host, f"gave up after repeated {resp.status} answers", f"HTTP {resp.status}"
            )
        else:
            host.succeeded()
        host.retries.pop(item.url, None)
        self.stats.bytes += len(resp.body)
        page = Page(
            item.url,
            item.depth,
            fetched_at,
            status=resp.status,
            final_url=item.url,
            content_type=resp.content_type,
            size=len(resp.body),
            elapsed=resp.elapsed,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
        )
        if resp.truncated:
            page.error = "too-large"
        if resp.status == 304 and item.kind == "refresh":
            page.not_modified = True
            self._record(page)
            return
        follow: list[tuple[str, int, int, str]] = []
        if resp.status in _REDIRECTS:
            target = resolve(resp.headers.get("Location") or "", item.url)
            if target is not None and len(target) > s.max_url_length:
                self.stats.long_urls += 1
                target = None
            if target is not None:
                page.final_url = target
                page.links.append(Link(target, kind="redirect"))
                if item.hops < s.max_redirects:
                    follow.append((target, item.depth, item.hops + 1, item.kind))
        elif sitemap:
            if 200 <= resp.status < 300:
                found = parse_sitemap(resp.body, max_urls=s.max_sitemap_urls)
                urls = [u for u in found.urls if len(u) <= s.max_url_length]
                self.stats.long_urls += len(found.urls) - len(urls)
                follow.extend((u, 1, 0, "page") for u in urls)
                follow.extend((u, 0, 0, "sitemap") for u in found.sitemaps[:50])
        elif 200 <= resp.status < 300 and is_html(resp.content_type, resp.body[:512]):
            await self._parse(page, resp, follow)
        self._record(page, follow)

    async def _check(self, host: Host, item: QueueItem, now: float, fetched_at: float) -> None:
        """A link check: HEAD (GET, body unread, where HEAD is refused); record the status."""
        s = self.settings
        method = "GET" if item.url in host.head_refused else "HEAD"
        try:
            resp = await self.fetcher.get(
                item.url, max_bytes=s.max_page_bytes, method=method, want_body=lambda *_: False
            )
        except FetchError as exc:
            self._waited(host, now)
            if exc.sent_ago is not None:
                host.started(self.clock.monotonic() - exc.sent_ago)
            skipped = exc.reason == "blocked-address"
            if not skipped:
                gave_up = self._failed(
                    host, f"gave up after {host.parks} parkings: {exc}", str(exc)
                )
                if not gave_up and host.skip_reason is None and self._retry(host, item):
                    return
            self._record(
                Page(item.url, item.depth, fetched_at, error=exc.reason, checked_only=True),
                skipped=skipped,
            )
            return
        self._waited(host, now)
        host.started(self.clock.monotonic() - resp.sent_ago)
        if method == "HEAD" and resp.status in (405, 501):
            # RFC 9110 §9.3.2 lets a server refuse HEAD; ask again with GET, after the delay.
            host.head_refused.add(item.url)
            self.frontier.push_back(host, item)  # type: ignore[union-attr]
            return
        if resp.status in _THROTTLES and self._retry(host, item):
            host.throttled(
                self.clock.monotonic(),
                retry_after_seconds(resp.headers.get("Retry-After"), self.wallclock()),
                s.backoff_base,
                s.backoff_max,
            )
            return
        host.head_refused.discard(item.url)
        host.retries.pop(item.url, None)
        host.succeeded()
        self._record(
            Page(
                item.url,
                item.depth,
                fetched_at,
                status=resp.status,
                final_url=resolve(resp.headers.get("Location") or "", item.url) or item.url,
                content_type=resp.content_type,
                elapsed=resp.elapsed,
                checked_only=True,
            )
        )

    def _failed(self, host: Host, parked_note: str, why: str) -> bool:
        """Count a failed request against its host; True when the host is given up."""
        s = self.settings
        gave_up = host.failed(
            self.clock.monotonic(),
            park_after=s.park_after_failures,
            park_seconds=s.park_seconds,
            max_parks=s.max_parks,
            max_failures=s.host_max_failures,
        )
        if gave_up and host.skip_reason == "host-budget":
            # An error may quote what the server sent (aiohttp quotes a bad status line
            # over several lines): one line, no control characters, a bounded length.
            why = "".join(c if c.isprintable() else " " for c in " ".join(why.split()))[:200]
            self._note(
                host,
                f"host budget: {host.streak} failed requests in a row (last: {why}):"
                " given up, the rest recorded as host-budget",
            )
        elif gave_up:
            self._note(host, parked_note)
        return gave_up

    def _waited(self, host: Host, since: float) -> None:
        """Charge the time since ``since`` (a request's start) to the host's time budget."""
        budget = self.settings.host_budget_seconds
        if host.spent(self.clock.monotonic() - since, budget):
            self._note(
                host,
                f"host budget: {host.waited:.0f}s spent waiting on responses (budget {budget:g}s):"
                " given up, the rest recorded as host-budget",
            )

    def _retry(self, host: Host, item: QueueItem) -> bool:
        """Queue the URL again at its host's head, if it has retries left."""
        assert self.frontier is not None
        tries = host.retries.get(item.url, 0)
        if tries >= self.settings.max_retries:
            host.retries.pop(item.url, None)
            return False
        host.retries[item.url] = tries + 1
        self.frontier.push_back(host, item)
        self.stats.retries += 1
        return True

    async def _parse(
        self, page: Page, resp: Response, follow: list[tuple[str, int, int, str]]
    ) -> None:
        s = self.settings
        found = await self.parser.parse(resp.body, resp.content_type, page.url)
        # One reason per page: a cut-off parse says more than a cut-off body, and both
        # more than a link list cut at max_links_per_page.
        if found.error is not None:
            page.error = found.error
        elif found.truncated and page.error is None:
            page.error = "links-truncated"
        self.stats.long_urls += found.long_urls
        header = robots_directives(header_values(resp.headers, "X-Robots-Tag"), self.token)
        directives = found.robots | header
        page.title = found.title
        page.lang = found.lang
        page.canonical = found.canonical
        page.text = found.text
        page.url_info = found.url_info
        page.noindex = "noindex" in directives
        page.nofollow = "nofollow" in directives
        page.links = found.links
        if found.canonical is not None and found.canonical != page.url:
            page.links.append(Link(found.canonical, kind="canonical"))
        if page.nofollow:
            return  # meta robots / X-Robots-Tag nofollow binds even with follow_nofollow
        depth = page.depth + 1
        targets = dict.fromkeys(
            link.target for link in found.links if link.follow or s.follow_nofollow
        )  # a page links its menu targets again and again: offer each once
        follow.extend((target, depth, 0, "page") for target in targets)

    def _record(
        self, page: Page, follow: Iterable[tuple[str, int, int, str]] = (), *, skipped: bool = False
    ) -> None:
        """Persist one finished URL and queue what it leads to, in one batch entry."""
        new = self._enqueue(follow, persist=False, info=page.url_info)
        self.writer.add_page(page, new)
        if skipped:
            self.stats.skipped += 1
        elif page.status is None:
            self.stats.errors += 1
        else:
            self.stats.pages += 1
        if self.writer.full:
            self._flush_wanted.set()

    def _record_refused(self) -> None:
        """Record the URLs a trap guard refused: not fetched, with the guard's reason."""
        assert self.frontier is not None
        refused = self.frontier.take_refused()
        if refused:
            now = self.wallclock()
            for url, depth, reason in refused:
                self._record(Page(url, depth, now, error=reason), skipped=True)

    def _enqueue(
        self,
        candidates: Iterable[tuple[str, int, int, str]],
        *,
        persist: bool = True,
        info: dict[str, tuple[int, str, str]] | None = None,
    ) -> list[QueueItem]:
        assert self.frontier is not None
        new: list[QueueItem] = []
        known = info or {}
        for url, depth, hops, kind in candidates:
            offered = self.frontier.offer(url, depth, hops, kind, known.get(url))
            if offered is not None:
                host, item = offered
                new.append(item)
                self.scheduler.wake(host)
        if persist and new:
            self.writer.add_queued(new)
        self._record_refused()
        return new


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


def _wants_body(status: int, headers: object) -> bool:
    """Read bodies of pages we may parse; skip those of files we never will."""
    content_type = getattr(headers, "get", lambda _k, _d=None: None)("Content-Type")
    if status in _REDIRECTS:
        return False
    if not content_type:
        return True  # sniff
    lowered = content_type.lower()
    return "html" in lowered or "xml" in lowered
