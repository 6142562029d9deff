"""What a crawl does with what it learns: a finished URL is recorded with what it leads to,
a host gets a note, a failure counts toward the host's budgets, a URL is tried again.

The engine, the robots.txt cache, the page fetcher and the link checker all report here,
so each rule about recording and budgets is written once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from linkgraph.storage.interface import CrawlWriter
from linkgraph.storage.records import Page, QueueItem

from .fleet import LEASE_ENDED
from .frontier import Frontier
from .politeness import Host, HostScheduler
from .seams import Clock
from .settings import CrawlSettings

if TYPE_CHECKING:
    from .fetch import FetchError

__all__ = ["CrawlStats", "Outcomes"]

log = logging.getLogger("linkgraph.crawl")


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
    worker: int | None = None  # this worker's id when several crawl one store
    # The page cap of the pass this worker joined, when not its own --max-pages.
    pass_cap: int | None = None
    fleet_pages: int = 0  # pages recorded by every worker of the crawl (at our end)
    host_notes: dict[str, str] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        return self.pages / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(eq=False)
class Outcomes:
    """Records, notes and budgets for one crawl (the frontier is set once prepared)."""

    settings: CrawlSettings
    writer: CrawlWriter
    scheduler: HostScheduler
    clock: Clock
    wallclock: Callable[[], float]
    stats: CrawlStats = field(default_factory=CrawlStats)
    frontier: Frontier | None = None
    flush_wanted: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, host: Host, note: str) -> None:
        self.stats.host_notes[host.name] = note
        self.writer.note_host(host.name, note=note)
        log.info("%s: %s", host.name, note)

    def record(
        self, page: Page, follow: Iterable[tuple[str, int, int, str]] = (), *, skipped: bool = False
    ) -> None:
        """Persist one finished URL and queue what it leads to, in one batch entry."""
        new = self.enqueue(follow, persist=False, info=page.url_info)
        self.writer.add_page(page, new)
        if skipped:
            self.stats.skipped += 1
        elif page.status is None:
            self.stats.errors += 1
        else:
            self.stats.pages += 1
        if self.writer.full:
            self.flush_wanted.set()

    def record_refused(self) -> None:
        """Record the URLs a trap guard refused: not fetched, with the guard's reason."""
        assert self.frontier is not None
        refused = self.frontier.take_refused()
        if refused:
            now = self.wallclock()
            for url, depth, reason in refused:
                self.record(Page(url, depth, now, error=reason), skipped=True)

    def enqueue(
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
        self.record_refused()
        return new

    def failed(self, host: Host, parked_note: str, why: str) -> bool:
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
            self.note(
                host,
                f"host budget: {host.streak} failed requests in a row (last: {why}):"
                " given up, the rest recorded as host-budget",
            )
        elif gave_up:
            self.note(host, parked_note)
        return gave_up

    def waited(self, host: Host, since: float) -> None:
        """Charge the time since ``since`` (a request's start) to the host's time budget."""
        budget = self.settings.host_budget_seconds
        if host.spent(self.clock.monotonic() - since, budget):
            self.note(
                host,
                f"host budget: {host.waited:.0f}s spent waiting on responses (budget {budget:g}s):"
                " given up, the rest recorded as host-budget",
            )

    def came_back(self, host: Host, now: float, sent_ago: float | None) -> None:
        """A request that began at ``now`` has ended: charge its time to the host's budget,
        and run the gap to the host's next request from when it really left (``sent_ago``
        seconds ago; ``None``: it never left)."""
        self.waited(host, now)
        if sent_ago is not None:
            host.started(self.clock.monotonic() - sent_ago)

    def fetch_failed(
        self,
        host: Host,
        item: QueueItem,
        exc: FetchError,
        now: float,
        fetched_at: float,
        *,
        checked_only: bool = False,
    ) -> None:
        """A request (of a page, or a link check's) that got no answer: an address the
        crawl may not reach is a skip; any other failure counts against the host and is
        retried while it has retries left, else recorded with its reason."""
        if exc.reason == LEASE_ENDED:
            # Cut at the end of the host's lease: not the host's fault, and not an answer.
            # The URL stays queued (in the store for the next holder; at the head of the
            # window should our lease be renewed yet), counted once as requested.
            assert self.frontier is not None
            host.started(self.clock.monotonic() - (exc.sent_ago or 0.0))
            host.retries.setdefault(item.url, 0)
            self.frontier.push_back(host, item)
            log.warning("%s", exc)
            return
        self.came_back(host, now, exc.sent_ago)
        page = Page(item.url, item.depth, fetched_at, error=exc.reason, checked_only=checked_only)
        if exc.reason == "blocked-address":
            self.record(page, skipped=True)
            return
        gave_up = self.failed(host, f"gave up after {host.parks} parkings: {exc}", str(exc))
        if not gave_up and host.skip_reason is None and self.retry(host, item):
            return
        self.record(page)

    def retry(self, host: Host, item: QueueItem) -> bool:
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
