"""Per-host politeness: delays, backoff, parking, per-IP slots, and the ready-host heap.

The rules, each enforced here and nowhere else:

- One request per host at a time: a host is handed to one worker and comes back only
  when that worker is done with it.
- A minimum gap between the *starts* of two requests to a host: its effective delay, the
  larger of ours and the site's Crawl-delay. Measured from the start so that a slow
  response does not shorten the next gap and a fast one does not lengthen it; the start
  is when the request left (the fetcher reports it), which on a busy event loop can be
  tens of milliseconds after a worker took the host.
- A cap on connections per IP address: hosts on one address (shared hosting) share it.
- 429 and 503 back off: ``Retry-After`` when the server sends it (seconds or an HTTP
  date), else exponentially from ``backoff_base``, never above ``backoff_max``. Backoff
  never shrinks the gap below the delay, and errors never speed anything up.
- A host that keeps failing is parked (left alone for ``park_seconds``), and after
  ``max_parks`` parkings it is given up, instead of being hammered.
- A per-host budget bounds what one host can cost a crawl: after ``host_max_failures``
  failed requests in a row (a parking does not reset the count), or once the time spent
  waiting on its responses passes ``host_budget_seconds``, the host is given up
  ("host-budget"). A tarpit that answers a byte at a time, or garbage, cannot keep a crawl
  alive: each try has a deadline, and the tries are counted.
- Workers never sleep out a host's delay: the heap hands out only hosts that are ready,
  so a worker always has something useful to do while a delay runs.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from linkgraph.storage.records import QueueItem

from .robots import RobotsRules
from .seams import Clock, SystemClock, wait_event

__all__ = ["Host", "HostScheduler", "RobotsEntry", "retry_after_seconds"]

# ``Host.heap_seq`` of a host waiting for a slot on its address: scheduled, so that
# ``wake`` (new links found for it) does not put it in the heap a second time, whence it
# would be handed out while the waiting list hands it out too.
_ON_IP = -2


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After``: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


@dataclass(slots=True)
class RobotsEntry:
    """The rules of one origin, how we got them, and when to look again."""

    rules: RobotsRules
    outcome: str
    expires: float  # monotonic time after which the rules are fetched again
    attempts: int = 1
    error: str | None = None  # the network error of an unreachable robots.txt


@dataclass(eq=False, slots=True)
class Host:
    """Everything the crawl knows about one host name."""

    name: str
    delay: float
    ip: str | None = None
    # A list, not a deque: an empty deque is 760 bytes and one of 200 entries 2.3 KB (its
    # 64-entry blocks), a list 56 bytes and 1.7 KB; a crawl holds one per host it has seen.
    # A window is at most a few hundred entries, so taking its head is cheap.
    queue: list[QueueItem] = field(default_factory=list)
    spilled: int = 0  # entries only in the store's frontier, not in ``queue``
    robots: dict[str, RobotsEntry] = field(default_factory=dict)
    # origin -> (URL, hops so far) of a robots.txt redirect still to follow
    robots_redirects: dict[str, tuple[str, int]] = field(default_factory=dict)
    next_time: float = 0.0  # earliest start of the next request (monotonic)
    busy: bool = False
    requests: int = 0  # distinct URLs requested, for the per-host cap
    accepted: int = 0  # URLs queued in this crawl, for max_urls_per_host
    failures: int = 0  # consecutive failed requests since the last parking
    streak: int = 0  # consecutive failed requests, parkings or not (the failure budget)
    waited: float = 0.0  # seconds spent waiting on this host's responses (the time budget)
    throttles: int = 0  # consecutive 429/503 answers
    parks: int = 0
    skip_reason: str | None = None  # set: every remaining URL is recorded as skipped
    retired: bool = False  # cap reached: leave the rest in the frontier
    heap_seq: int = -1  # its entry in the heap; -1: none; _ON_IP: waiting for its address
    slot_ip: str | None = None  # the address whose connection slot this host holds
    # Several workers on one store (crawler/fleet.py): a host is crawled only while this
    # worker holds its lease, and no request starts after the lease's end minus the delay.
    held: bool = True
    lease_until: float = float("inf")  # monotonic
    # Taken over from a worker that did not give it back (killed, or its lease ran out):
    # that worker's last request may have started just before, so the next one waits a
    # whole delay from this moment (monotonic), the site's Crawl-delay included.
    taken_over_at: float | None = None
    handed_over: bool = False  # leased with a state: its robots.txt may be stored already
    # Times this worker leased it: a queue read begun under an earlier lease is stale.
    leases: int = 0
    # Made on first use (see ``retries`` and ``head_refused``): most hosts a crawl knows
    # are never fetched from, and an empty set is 216 bytes, an empty dict 64.
    _retries: dict[str, int] | None = field(default=None, repr=False)
    _head_refused: set[str] | None = field(default=None, repr=False)

    @property
    def retries(self) -> dict[str, int]:
        """URL -> tries so far, of this host's URLs that failed and are queued again."""
        if self._retries is None:
            self._retries = {}
        return self._retries

    @property
    def head_refused(self) -> set[str]:
        """Link checks whose HEAD was refused, to redo with GET."""
        if self._head_refused is None:
            self._head_refused = set()
        return self._head_refused

    @property
    def has_work(self) -> bool:
        return self.held and not self.retired and (bool(self.queue) or self.spilled > 0)

    def started(self, now: float) -> None:
        """A request to this host starts now: the next one may not start before the delay."""
        self.next_time = max(self.next_time, now + self.delay)

    def throttled(self, now: float, retry_after: float | None, base: float, cap: float) -> float:
        """A 429/503: push the next start back; returns the wait chosen."""
        self.throttles += 1
        if retry_after is None:
            wait = base * (2 ** (self.throttles - 1))
        else:
            wait = retry_after
        wait = min(max(wait, self.delay), cap)
        self.next_time = max(self.next_time, now + wait)
        return wait

    def succeeded(self) -> None:
        self.failures = 0
        self.streak = 0
        self.throttles = 0

    def failed(
        self,
        now: float,
        *,
        park_after: int,
        park_seconds: float,
        max_parks: int,
        max_failures: int | None = None,
    ) -> bool:
        """Count a failure; park the host after too many in a row, give it up after too
        many parkings ("parked") or too many failures in all ("host-budget"). True when
        given up."""
        self.failures += 1
        self.streak += 1
        park = self.failures >= park_after
        if park:
            self.failures = 0
            self.parks += 1
            if self.parks > max_parks:
                self.skip_reason = "parked"
                return True
        if max_failures is not None and self.streak >= max_failures:
            self.skip_reason = "host-budget"
            return True
        if park:
            self.next_time = max(self.next_time, now + park_seconds)
        return False

    def spent(self, seconds: float, budget: float | None) -> bool:
        """Add time spent waiting on a response; True when that passes the budget."""
        self.waited += seconds
        if budget is not None and self.waited >= budget and self.skip_reason is None:
            self.skip_reason = "host-budget"
            return True
        return False


class HostScheduler:
    """Hands ready hosts to workers: earliest ``next_time`` first, IP slots permitting.

    A host is in exactly one place: the heap (waiting for its time), an IP's waiting list
    (its time has come but its address is full), the ready queue (a worker will take it),
    or a worker's hands (``busy``). Hosts without work are in none and are woken by
    :meth:`wake` when work arrives.
    """

    def __init__(self, *, per_ip: int, clock: Clock | None = None, keep_open: bool = False) -> None:
        self.per_ip = per_ip
        # A fleet worker runs dry and gets more hosts later: only stop() ends its dispatch.
        self.keep_open = keep_open
        self.clock = clock or SystemClock()
        self._heap: list[tuple[float, int, Host]] = []
        self._seq = itertools.count()
        self._ready: asyncio.Queue[Host | None] = asyncio.Queue()
        self._ip_active: dict[str, int] = {}
        self._ip_waiting: dict[str, deque[Host]] = {}
        self._changed = asyncio.Event()
        self.busy = 0
        self.waiting_ip = 0
        self.stopping = False

    # -- queries -----------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing scheduled, nothing ready, nothing in flight: the crawl has run dry."""
        return not self._heap and self._ready.empty() and self.busy == 0 and self.waiting_ip == 0

    @property
    def scheduled(self) -> int:
        return len(self._heap) + self._ready.qsize() + self.waiting_ip

    # -- producers ---------------------------------------------------------------------

    def wake(self, host: Host) -> None:
        """(Re)schedule a host that has work and is not already scheduled or busy."""
        if host.busy or host.heap_seq != -1 or not host.has_work:
            return
        seq = next(self._seq)
        host.heap_seq = seq
        heapq.heappush(self._heap, (host.next_time, seq, host))
        self._changed.set()

    def release(self, host: Host) -> None:
        """A worker is done with a host: free its IP slot and schedule it again."""
        host.busy = False
        self.busy -= 1
        ip, host.slot_ip = host.slot_ip, None
        if ip is not None:
            self._ip_active[ip] -= 1
            waiting = self._ip_waiting.get(ip)
            if waiting:
                nxt = waiting.popleft()
                nxt.heap_seq = -1
                self.waiting_ip -= 1
                self._ip_active[ip] += 1
                nxt.slot_ip = ip
                self._hand_out(nxt)
        self.wake(host)
        self._changed.set()

    # -- the dispatcher ----------------------------------------------------------------

    async def dispatch(self) -> None:
        """Move hosts whose time has come into the ready queue, until stopped or dry."""
        while not self.stopping:
            now = self.clock.monotonic()
            while self._heap and self._heap[0][0] <= now:
                _, seq, host = heapq.heappop(self._heap)
                if seq != host.heap_seq:
                    continue  # stale entry
                host.heap_seq = -1
                if not host.has_work:
                    continue
                self._admit(host)
            if self.idle and not self.keep_open:
                break
            self._changed.clear()
            timeout = self._heap[0][0] - now if self._heap else None
            await wait_event(self._changed, self.clock, timeout)
        self.stopping = True
        while not self._ready.empty():
            self._ready.get_nowait()  # hosts never taken stay in the frontier
        self._ready.put_nowait(None)

    def _admit(self, host: Host) -> None:
        # A host not yet resolved has no address to count against; resolving is our own work.
        ip = host.ip
        if ip is not None:
            active = self._ip_active.get(ip, 0)
            if active >= self.per_ip:
                host.heap_seq = _ON_IP
                self._ip_waiting.setdefault(ip, deque()).append(host)
                self.waiting_ip += 1
                return
            self._ip_active[ip] = active + 1
            host.slot_ip = ip
        self._hand_out(host)

    def _hand_out(self, host: Host) -> None:
        host.busy = True
        self.busy += 1
        self._ready.put_nowait(host)

    async def next_host(self) -> Host | None:
        """For workers: the next ready host, or ``None`` when the crawl is over."""
        host = await self._ready.get()
        if host is None:
            self._ready.put_nowait(None)  # let the other workers see the end too
        return host

    def stop(self) -> None:
        self.stopping = True
        self._changed.set()
