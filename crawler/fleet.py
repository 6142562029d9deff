"""The seam between one crawl process and the others crawling the same store.

One process crawling alone owns every host: :class:`LocalLeases` says so and does nothing
else (the SQLite store, a test's in-memory store). Several processes on one PostgreSQL
store (``storage/pg/fleet.py``) lease hosts: a worker crawls only the hosts it holds a
lease on, renews the leases while it works them and gives them back, with the host's
politeness state, when it is done with them. What makes politeness hold across the fleet:

- A host is leased to one worker at a time, so there is one request to it at a time and
  its gap is counted by one worker's scheduler, as in one process.
- The lease carries the host's state (:class:`HostState`): when its next request may
  start, throttling, parking and failure counts and requests, so the next holder honours
  what the last one learned. Not its delay: the next holder reads the site's Crawl-delay
  from the stored robots.txt and has its own setting. A new pass (the first worker of a
  crawl, or a refresh or link check queued) starts the counts afresh, as a new process
  does on SQLite; only when the next request may start is kept.
- A request to a leased host ends by the lease's end (:class:`LeaseBound` cuts it there,
  not the host's fault: the URL stays queued), and none starts with less than a quarter
  of a lease left (renewals have failed). The worker's lease end is read on its clock
  before the renewal that set it, so it is never later than the store's.
- The next holder of a host its last holder did not give back (killed, its lease run
  out, or its session gone) starts no request before that lease's end (the claim says
  how far off it is: a session may end while its worker still runs) plus a whole delay,
  the site's Crawl-delay included. So the last request of one holder has ended, and
  started a delay earlier, before the first of the next: one connection, and the gap.
- An IP address is leased to one worker at a time (:meth:`Leases.hold_addresses`) before
  any request to a host on it, so the per-IP cap of that worker's scheduler is the
  fleet's; a host whose address another worker holds is given back, its address
  recorded for the claims to pass it by. Addresses are renewed with the hosts and bound
  their requests the same way.
- ``--max-pages`` counts the fleet's requests: workers reserve the cap in blocks
  (:meth:`Leases.reserve_pages`) and give back what they did not use. The cap is the
  pass's: a worker joining a capped pass without ``--max-pages`` is held to it too
  (:attr:`Leases.max_pages`).
- robots.txt is stored per origin for the fleet (:meth:`Leases.robots`): the next holder
  of a host reads it instead of fetching it again.

Times cross the seam as seconds from now, never as clock readings: two machines' clocks
differ, and the store measures leases on its own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from linkgraph.storage.leases import Claim, HostState, Share

from .fetch import FetchError, Request, Response
from .politeness import Host
from .seams import Clock, HttpFetcher, SystemClock

__all__ = [
    "LEASE_ENDED",
    "Claim",
    "HostState",
    "LeaseBound",
    "Leases",
    "LocalLeases",
    "Share",
    "apply_state",
    "bound",
    "lease_too_short",
    "state_of",
]

# The reason of a request cut at its host's lease's end: not the host's fault, never
# stored (the URL stays queued for the next holder).
LEASE_ENDED = "lease-ended"


def state_of(host: Host, now: float) -> HostState:
    """The state of ``host`` at monotonic time ``now``, to hand to the next holder."""
    return HostState(
        next_in=host.next_time - now,
        delay=host.delay,
        requests=host.requests,
        throttles=host.throttles,
        failures=host.failures,
        streak=host.streak,
        parks=host.parks,
        waited=host.waited,
        skip_reason=host.skip_reason,
        retired=host.retired,
        address=host.ip,
    )


def apply_state(state: HostState, host: Host, now: float) -> None:
    """Give ``host`` the state its last holder left, at monotonic time ``now``."""
    host.next_time = max(host.next_time, now + state.next_in)
    # Not its delay: that was the last holder's setting (perhaps another run's --delay)
    # or the site's Crawl-delay, which we read from the robots.txt it stored. The gap it
    # left is in ``next_in``.
    host.requests = max(host.requests, state.requests)
    host.throttles = state.throttles
    host.failures = state.failures
    host.streak = state.streak
    host.parks = state.parks
    host.waited = state.waited
    host.skip_reason = host.skip_reason or state.skip_reason
    host.retired = host.retired or state.retired


class LeaseBound:
    """A fetcher whose requests to one leased host end by the end of the host's lease.

    The lease's end is read while the request runs: a renewal moves it on, so only a
    request that outlives every renewal is cut. Cut, it raises :class:`FetchError` with
    reason :data:`LEASE_ENDED`.
    """

    def __init__(self, fetcher: HttpFetcher, host: Host, clock: Clock) -> None:
        self.fetcher = fetcher
        self.host = host
        self.clock = clock

    async def send(self, request: Request) -> Response:
        if isinstance(self.clock, SystemClock):
            return await self._send_timed(request)
        host, clock = self.host, self.clock
        began = clock.monotonic()
        task = asyncio.ensure_future(self.fetcher.send(request))
        try:
            while not task.done() and (left := host.lease_until - clock.monotonic()) > 0:
                sleeper = asyncio.ensure_future(clock.sleep(left))
                try:
                    await asyncio.wait((task, sleeper), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
            if task.done():
                return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        raise self._ended(request, clock.monotonic() - began)

    async def _send_timed(self, request: Request) -> Response:
        """On the real clock: the request runs in this task, and a timer of the event loop
        cancels the task at the lease's end (looking again then: a renewal moves the end
        on). A task and an ``asyncio.wait`` per request cost a worker's event loop 45 µs a
        request, as much as its HTTP client's own work on the response."""
        host, clock = self.host, self.clock
        began = clock.monotonic()
        if host.lease_until <= began:
            raise self._ended(request, 0.0)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        cut = False

        def at_lease_end() -> None:
            nonlocal timer, cut
            left = host.lease_until - clock.monotonic()
            if left > 0:
                timer = loop.call_later(left, at_lease_end)
            else:
                cut = True
                task.cancel()

        timer = loop.call_later(host.lease_until - began, at_lease_end)
        try:
            response = await self.fetcher.send(request)
        except asyncio.CancelledError:
            # Ours alone: the request is cut. Cancelled from outside as well: let it go.
            if not cut or task.uncancel() > 0:
                raise
        else:
            if not cut:
                return response
            task.uncancel()  # the request ended before the cut reached it
            return response
        finally:
            timer.cancel()
        raise self._ended(request, clock.monotonic() - began)

    def _ended(self, request: Request, sent_ago: float) -> FetchError:
        return FetchError(
            LEASE_ENDED,
            f"{request.url}: the lease of {self.host.name} ran out",
            sent_ago=sent_ago,
        )


def lease_too_short(host: Host, seconds: float, now: float) -> bool:
    """True, pushing the host's next turn back, when ``host``'s lease (of ``seconds``) has
    under a quarter left: renewed every quarter lease at most, such a lease has missed its
    renewals (the store is slow or gone), and no request starts on it until one comes
    through (it moves ``lease_until`` on; a lost lease drops the host). A request running
    then is cut at the lease's end (:class:`LeaseBound`)."""
    if host.lease_until - now >= seconds / 4:
        return False
    host.next_time = max(host.next_time, now + min(1.0, seconds / 8))
    return True


def bound(fetcher: HttpFetcher, host: Host, clock: Clock) -> HttpFetcher:
    """``fetcher`` for requests to ``host``: bounded by its lease when it has one."""
    if host.lease_until == float("inf"):
        return fetcher  # one process alone: nothing to outlive
    return LeaseBound(fetcher, host, clock)


class Leases(Protocol):
    """Which hosts this process may crawl. ``local``: all of them (nothing is leased)."""

    local: bool
    seconds: float  # how long a lease lasts unless renewed
    worker: int | None  # this worker's id in the store (None: alone)
    # The pass's page cap once started, as its first worker set it (None: uncapped, or
    # alone): a worker joining a capped pass is held to it, --max-pages given or not.
    max_pages: int | None

    async def start(self, *, max_pages: int | None = None, fresh: bool = False) -> int | None:
        """Join the crawl; returns this worker's id. The first worker of a pass sets the
        pass's page cap (``max_pages``) and whether it counts only its own requests
        (``fresh``: a refresh, a link check); every worker of the pass reserves from
        those (:meth:`reserve_pages`)."""

    async def claim(self, limit: int) -> list[Claim]:
        """Lease up to ``limit`` more hosts with queued work that nobody holds."""

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        """Extend the leases of these hosts, saving their states; returns the names
        still held (a lease another worker took after it ran out is lost)."""

    async def release(self, states: dict[str, HostState]) -> None:
        """Give these hosts back, with their states (their pages are committed)."""

    async def hold_addresses(self, addresses: list[str]) -> dict[str, float | None]:
        """Lease these addresses (or renew them), in one go: per address None when
        another live worker holds it, else the seconds to wait before a request to it (a
        holder whose session ended before its lease did may have requests running until
        then)."""

    async def keep_addresses(self, addresses: set[str]) -> set[str]:
        """Renew the leases of these addresses and give back every other this worker
        holds; returns those still held."""

    async def reserve_pages(self, cap: int, want: int, *, fresh: bool) -> int:
        """Up to ``want`` more requests of the crawl's page cap for this worker (0: the
        fleet has reached it). The cap and ``fresh`` (this pass counts only its own
        requests, not those the store held when it began) are the pass's, as its first
        worker started it; ``cap`` and ``fresh`` stand in for a pass started without a
        cap."""

    async def return_pages(self, unused: int) -> None:
        """Give back requests reserved and not made (when leaving)."""

    async def drained(self) -> bool:
        """True when nothing is left for anyone: no claimable host has queued work and
        no other live worker holds a lease."""

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        """The robots.txt another worker stored for ``origin``: (status, body, age in
        seconds), or None."""

    async def save_robots(self, origin: str, status: int | None, body: bytes) -> None:
        """Store a fetched robots.txt for the other workers."""

    async def finish(self, pages: int) -> Share | None:
        """Leave the crawl (every lease released first); this worker's share."""


class LocalLeases:
    """One process alone: every host is its own, nothing is stored or shared."""

    local = True
    seconds = float("inf")
    worker = None
    max_pages = None

    async def start(self, *, max_pages: int | None = None, fresh: bool = False) -> int | None:
        return None

    async def claim(self, limit: int) -> list[Claim]:
        return []

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        return set(states)

    async def release(self, states: dict[str, HostState]) -> None:
        return None

    async def hold_addresses(self, addresses: list[str]) -> dict[str, float | None]:
        return dict.fromkeys(addresses, 0.0)

    async def keep_addresses(self, addresses: set[str]) -> set[str]:
        return set(addresses)

    async def reserve_pages(self, cap: int, want: int, *, fresh: bool) -> int:
        return want

    async def return_pages(self, unused: int) -> None:
        return None

    async def drained(self) -> bool:
        return True

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        return None

    async def save_robots(self, origin: str, status: int | None, body: bytes) -> None:
        return None

    async def finish(self, pages: int) -> Share | None:
        return None
