"""robots.txt for a crawl (RFC 9309): fetched once per origin, cached, retried, obeyed.

The cache is per host (``Host.robots``, by origin) so that it lives and dies with the
host's other state. Several workers on one store share what they fetched through their
leases (:mod:`.fleet`): a host's next holder reads its robots.txt from the store. Each robots.txt request, redirect hops included, is a turn of the
host like any other request: it waits for the host's delay and counts toward its time
budget. A Crawl-delay above ``max_crawl_delay`` gives the host up rather than stall.

A fleet worker sends requests only to hosts (and addresses) it holds: a robots.txt
redirect to another host is followed only when this worker holds that host and its
address too. Otherwise the hop is not followed, and the answer is the target's robots.txt
as another worker stored it (when the redirect names it and it is fresh), else the 3xx
itself, read as when the redirects run out: unavailable (RFC 9309 §2.3.1.2), allow all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .fleet import LEASE_ENDED, Leases, LocalLeases, bound, lease_too_short
from .outcomes import Outcomes
from .politeness import Host, RobotsEntry
from .robots import RobotsOutcome, RobotsRules, robots_url, rules_for_response
from .robotsfetch import fetch_robots_hop
from .seams import Clock, HttpFetcher
from .settings import CrawlSettings
from .urls import host_of, origin_of

__all__ = ["RobotsCache"]

log = logging.getLogger("linkgraph.crawl")

_UNREADABLE = RobotsOutcome.DISALLOW_UNAVAILABLE


class RobotsCache:
    """The rules for each URL a host is about to fetch, fetching them first when needed.

    ``unreachable_skip_error``: give up a host whose robots.txt could never be reached
    with the network error itself as the reason (a link check reports *why* a link is
    broken) instead of ``robots-unavailable``.
    """

    def __init__(
        self,
        settings: CrawlSettings,
        fetcher: HttpFetcher,
        clock: Clock,
        out: Outcomes,
        *,
        unreachable_skip_error: bool = False,
        leases: Leases | None = None,
    ) -> None:
        self.settings = settings
        self.fetcher = fetcher
        self.clock = clock
        self.out = out
        self.token = settings.product_token
        self.unreachable_skip_error = unreachable_skip_error
        self.leases: Leases = leases if leases is not None else LocalLeases()
        # A fleet worker's test: does it hold this host and its address, so that it may
        # send a request there now (leasing.HostLeasing.holds)? None: it holds no other.
        self.holds: Callable[[str], bool] | None = None

    async def rules_for(self, host: Host, url: str) -> RobotsRules | None:
        """The rules that apply to ``url``, or None when this turn of the host went to
        robots.txt instead (a request, giving the host up, or waiting for a retry)."""
        now = self.clock.monotonic()
        origin = origin_of(url)
        entry = host.robots.get(origin)
        # The engine asks before every fetch, and almost always the rules are cached,
        # readable and fresh: answered here, before anything the other cases need.
        if entry is not None and entry.expires > now and entry.outcome != _UNREADABLE:
            return entry.rules
        s = self.settings
        # Only a host another worker held may have its robots.txt stored.
        if entry is None and host.handed_over:
            if await self._shared(host, origin, now) is not None:
                return None  # this turn ends: a Crawl-delay read there may push the next back
            # The store read may have taken long: the lease checked before it (engine._step)
            # is checked again before a request, and the host may be another's by now.
            now = self.clock.monotonic()
            if not host.held or lease_too_short(host, self.leases.seconds, now):
                return None
        # Rules are fetched again when their cache time is up (§2.4); ``attempts`` bounds
        # only the retries of a robots.txt that could not be read.
        unreadable = entry is not None and entry.outcome == RobotsOutcome.DISALLOW_UNAVAILABLE
        if entry is None or (
            entry.expires <= now and (not unreadable or entry.attempts <= s.robots_retries)
        ):
            await self._fetch(host, origin, entry)
            return None
        if entry.outcome == RobotsOutcome.DISALLOW_UNAVAILABLE:
            if entry.attempts > s.robots_retries:
                # A link check learns what it came for: a host that cannot even be
                # connected to makes every link to it broken ("could not be reached").
                host.skip_reason = (
                    entry.error
                    if self.unreachable_skip_error and entry.error
                    else "robots-unavailable"
                )
                self.out.note(
                    host, f"robots.txt unavailable after {entry.attempts} tries: nothing fetched"
                )
            else:
                host.next_time = max(host.next_time, entry.expires)
            return None
        return entry.rules

    async def _fetch(self, host: Host, origin: str, previous: RobotsEntry | None) -> None:
        s = self.settings
        url, hop = host.robots_redirects.pop(origin, (robots_url(origin), 0))
        sent = self.clock.monotonic()  # until the fetcher says when the request really left
        host.started(sent)
        if hop == 0:
            self.out.stats.robots_fetches += 1
        began = self.clock.monotonic()
        result = await fetch_robots_hop(
            bound(self.fetcher, host, self.clock),
            url,
            hop,
            max_bytes=s.robots_max_bytes,
            max_redirects=s.robots_max_redirects,
        )
        if result.error is not None and result.error.reason == LEASE_ENDED:
            # Cut at the lease's end: not the site's answer. Asked again under a renewed
            # lease, or by the host's next holder.
            if hop:
                host.robots_redirects[origin] = (url, hop)
            host.started(self.clock.monotonic() - (result.sent_ago or 0.0))
            return
        self.out.waited(host, began)
        status, body = result.status, result.body
        error = result.error.reason if result.error else None
        if result.error:
            log.debug("robots.txt of %s: %s", origin, result.error)
        if result.sent_ago is not None:
            sent = self.clock.monotonic() - result.sent_ago
        # One hop per turn, so each hop is a request like any other and waits for the
        # host's delay.
        if result.redirect is not None:
            if self._may_follow(host, result.redirect):
                host.robots_redirects[origin] = (result.redirect, hop + 1)
                host.started(sent)
                return
            status, body = await self._unfollowed(result.redirect, status, body)
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
            self.out.note(
                host, f"robots.txt {status or 'unreachable'}: disallow all, try {attempts}"
            )
        else:
            entry = RobotsEntry(rules, outcome, now + s.robots_cache_seconds)
            self._apply_crawl_delay(host, rules)
            # The robots.txt request itself opens the first gap of the site's Crawl-delay.
            host.started(sent)
            self._queue_sitemaps(rules)
            if not self.leases.local:
                await self.leases.save_robots(origin, status, body or b"")
        host.robots[origin] = entry

    def _may_follow(self, host: Host, target: str) -> bool:
        if self.leases.local:
            return True
        name = host_of(target)
        return name == host.name or (self.holds is not None and self.holds(name))

    async def _unfollowed(
        self, target: str, status: int | None, body: bytes | None
    ) -> tuple[int | None, bytes | None]:
        """The answer to a robots.txt redirect to a host another worker may hold: the
        robots.txt stored for the target when the redirect names it, else the 3xx."""
        origin = origin_of(target)
        if target == robots_url(origin):
            stored = await self.leases.robots(origin)
            if stored is not None and stored[2] < self.settings.robots_cache_seconds:
                return stored[0], stored[1]
        log.debug("robots.txt redirect to %s not followed: another worker's host", target)
        return status, body

    async def _shared(self, host: Host, origin: str, now: float) -> RobotsEntry | None:
        """The rules another worker fetched for ``origin`` and stored, while fresh (§2.4)."""
        s = self.settings
        stored = await self.leases.robots(origin)
        if stored is None:
            return None
        status, body, age = stored
        if age >= s.robots_cache_seconds:
            return None
        rules, outcome = rules_for_response(status, body, max_bytes=s.robots_max_bytes)
        entry = RobotsEntry(rules, outcome, now + s.robots_cache_seconds - age)
        self._apply_crawl_delay(host, rules)
        if host.taken_over_at is not None:
            # The last holder's last request may have been just before it vanished: the
            # gap is the site's Crawl-delay from then, not only ours.
            host.started(host.taken_over_at)
        host.robots[origin] = entry
        return entry

    def _apply_crawl_delay(self, host: Host, rules: RobotsRules) -> None:
        s = self.settings
        wanted = rules.crawl_delay(self.token)
        if wanted is None:
            return
        if wanted > s.max_crawl_delay:
            host.skip_reason = "crawl-delay"
            self.out.note(
                host,
                f"Crawl-delay {wanted:g}s is above the cap of {s.max_crawl_delay:g}s: host skipped",
            )
            return
        host.delay = max(s.delay, wanted)

    def _queue_sitemaps(self, rules: RobotsRules) -> None:
        if not self.settings.sitemaps or self.settings.max_depth == 0:
            return
        self.out.enqueue((url, 0, 0, "sitemap") for url in rules.sitemaps[:10])
