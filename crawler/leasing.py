"""A crawl worker's side of its leases when several share one store (crawler/fleet.py).

The engine builds one :class:`HostLeasing` when its :class:`~.fleet.Leases` are not
local and runs :meth:`HostLeasing.run` beside its workers. A turn gives back the hosts
run dry (committing their pages first), renews the others, saving their politeness
state, and claims more; the engine's workers crawl only the hosts held here
(``Host.held``) and never start a request on one whose lease may have run out.

Addresses are leased too (the per-IP cap across the fleet): before the first request to
a host, :meth:`HostLeasing.address_ready` leases the host's address, or hands the host
back with its address recorded when another worker holds it. A turn renews the
addresses of the hosts held and gives back the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from linkgraph.storage.interface import CrawlWriter

from .fleet import Leases, apply_state, state_of
from .frontier import Frontier
from .outcomes import CrawlStats
from .politeness import Host, HostScheduler
from .seams import Clock, HttpFetcher, wait_event
from .settings import CrawlSettings

__all__ = ["HostLeasing"]

log = logging.getLogger("linkgraph.crawl")

# Requests reserved at a time from the fleet's --max-pages: few round trips to the store,
# and little left unused (a worker killed loses what it had not used).
_PAGE_BLOCK = 8


class HostLeasing:
    """The hosts this worker holds, and the turns that keep, give back and claim them."""

    def __init__(
        self,
        leases: Leases,
        settings: CrawlSettings,
        frontier: Frontier,
        scheduler: HostScheduler,
        writer: CrawlWriter,
        clock: Clock,
        stats: CrawlStats,
        fetcher: HttpFetcher,
        capped: Callable[[], bool],
        *,
        fresh: bool = False,
    ) -> None:
        """``fresh``: a pass whose page cap counts only its own requests (a refresh, a
        link check), not those the store held."""
        self.leases = leases
        self.settings = settings
        self.frontier = frontier
        self.scheduler = scheduler
        self.writer = writer
        self.clock = clock
        self.stats = stats
        self.fetcher = fetcher
        self.capped = capped  # the crawl's page cap is reached: claim nothing more
        self.held: dict[str, Host] = {}
        # Addresses held -> when requests to them may start (monotonic). Leased, renewed
        # and given back one operation at a time: a renewal giving back the addresses
        # not in use must not give back one a worker is leasing for a host meanwhile.
        self.addresses: dict[str, float] = {}
        self.address_lock = asyncio.Lock()
        # Addresses asked for and not leased yet: the hosts resolved meanwhile wait for
        # one statement that leases them all (a statement each was a round trip each, one
        # after another under the lock: the crawl's start on many hosts waited on them).
        self.asked: dict[str, asyncio.Future[float | None]] = {}
        self.holding: asyncio.Task[None] | None = None
        # Hosts on an address another worker holds, to give back at the next turn.
        self.handback: dict[str, Host] = {}
        # --max-pages across the fleet: requests reserved and not made yet, and whether
        # the fleet has reached the cap.
        self.fresh = fresh
        # The pass's cap when it has one (a worker joining a capped pass without
        # --max-pages is held to it, as one given it), else this worker's own.
        own = settings.max_pages
        self.max_pages = own if leases.max_pages is None else leases.max_pages
        self.pages_left = 0
        self.pages_out = False
        self.wanted = asyncio.Event()  # a host ran dry, or new hosts may be claimable

    async def run(self) -> None:
        # Renewing four times a lease keeps it alive through a slow turn or two. A turn
        # also comes early when a host runs dry or a commit queued new hosts: a worker
        # waiting for hosts to claim is a worker idle.
        period = min(self.leases.seconds / 4, 0.5)
        while not self.scheduler.stopping:
            self.wanted.clear()
            await self.turn()
            await wait_event(self.wanted, self.clock, period)
            await self.clock.sleep(0.02)  # one turn for a burst of wake-ups

    async def turn(self) -> None:
        frontier, leases = self.frontier, self.leases
        # Give back the hosts run dry. They stop being ours *before* the flush that
        # commits their last pages, so nothing of theirs is fetched after that commit and
        # the next holder never sees an entry whose page is still in our buffer.
        dry = [h for h in self.held.values() if not h.busy and not h.has_work]
        back = [h for h in self.handback.values() if not h.busy]
        now = self.clock.monotonic()
        states = {h.name: state_of(h, now) for h in dry + back}
        for host in dry:
            self.lose(host)
        for host in back:
            del self.handback[host.name]
        room = self.cap() - len(self.held)
        if dry or not self.held or (room > 0 and self.writer.pending_pages):
            # Commit first: what we found may be the hosts we (or others) claim next.
            await self.writer.flush()
        if states:
            await leases.release(states)
        # Renewed every turn, with nothing held too: the worker's "last seen" and page
        # count in `linkgraph stats` move with it.
        now = self.clock.monotonic()
        states = {name: state_of(h, now) for name, h in self.held.items()}
        kept = await leases.renew(states, self.stats.pages)
        for name in list(self.held):
            host = self.held[name]
            if name in kept:
                host.lease_until = now + leases.seconds
            else:  # another worker took it over: what it has in flight is lost
                log.warning("lost the lease of %s to another worker", name)
                self.lose(host)
        await self.keep_addresses()
        if self.capped():
            # The fleet's page cap is reached and spent here. A host with work ends the
            # crawl at its next step (engine._step); with none, no step comes: we do.
            if not any(h.has_work for h in self.held.values()):
                self.scheduler.stop()
            return
        room = self.cap() - len(self.held)
        if room <= 0 or self.scheduler.stopping:
            return
        asked = self.clock.monotonic()
        # A turn's claim is bounded too, so that workers joining together share the hosts.
        claims = await leases.claim(min(room, self.settings.concurrency))
        got = self.clock.monotonic()  # later than the store's "now": never early
        for claim in claims:
            frontier.mark_seen(claim.seen)
            host = frontier.host(claim.host)
            host.held = True
            host.leases += 1
            host.spilled = claim.queued
            # The store's queue for it holds what we queued for it ourselves, counted
            # already: added again, one worker would refuse URLs one process queues.
            host.accepted = max(host.accepted, claim.queued)
            host.lease_until = asked + leases.seconds
            if claim.state is not None:
                apply_state(claim.state, host, got)
                host.handed_over = True
            if claim.holder_vanished:
                # Its last request may have started just before its lease's end, and
                # lasted until then: the next starts a whole delay after that end.
                host.taken_over_at = got + max(claim.lapses_in, 0.0)
                host.started(host.taken_over_at)
            self.held[claim.host] = host
            self.scheduler.wake(host)
        if not claims and not self.held and await leases.drained():
            self.scheduler.stop()

    def lose(self, host: Host) -> None:
        self.frontier.drop(host)
        del self.held[host.name]
        self.forget(host)

    async def keep_addresses(self) -> None:
        """Renew the addresses of the hosts held, give back the others."""
        async with self.address_lock:
            if not self.addresses:
                return
            used = {h.ip for h in self.held.values()}
            keep = {a for a in self.addresses if a in used}
            for address in set(self.addresses) - keep:
                del self.addresses[address]
            kept = await self.leases.keep_addresses(keep)
            for address in keep - kept:  # it ran out and another worker took it
                log.warning("lost the lease of address %s to another worker", address)
                self.addresses.pop(address, None)
                for host in [h for h in self.held.values() if h.ip == address]:
                    self.lose(host)

    async def address_ready(self, host: Host) -> bool:
        """Before a request to ``host`` (resolved): True when this worker holds its
        address and may send to it now. Else the host waits (the last holder's requests
        may run until its lease's end) or, its address held by another worker, is handed
        back at the next turn with the address recorded, for that worker to take."""
        address = host.ip
        assert address is not None
        free_at = self.addresses.get(address)
        if free_at is None:
            if await self.hold(address) is None:
                if self.held.pop(host.name, None) is not None:
                    self.handback[host.name] = host
                    self.frontier.drop(host)
                    self.wanted.set()
                return False
            free_at = self.addresses.get(address)
            if free_at is None:  # taken again since: lost to another worker at a renewal
                return False
        if free_at > self.clock.monotonic():
            host.next_time = max(host.next_time, free_at)
            return False
        return True

    def holds(self, name: str) -> bool:
        """This worker holds host ``name`` and its address, and may send to it now (a
        robots.txt redirect from another host held, robotscache.py)."""
        host = self.held.get(name)
        if host is None or host.ip is None:
            return False
        now = self.clock.monotonic()
        free_at = self.addresses.get(host.ip)
        renewed = host.lease_until - now >= self.leases.seconds / 4  # as engine._step
        return free_at is not None and free_at <= now and renewed

    async def hold(self, address: str) -> float | None:
        """Lease ``address`` together with every other asked for meanwhile: None when
        another worker holds it, else the seconds to wait before a request to it."""
        future = self.asked.get(address)
        if future is None:
            future = self.asked[address] = asyncio.get_running_loop().create_future()
            if self.holding is None or self.holding.done():
                self.holding = asyncio.create_task(self._hold_asked())
        # Shielded: a caller cancelled while it waits does not cancel the others' answer.
        return await asyncio.shield(future)

    async def _hold_asked(self) -> None:
        """Lease the addresses asked for, a statement for all asked since the last one,
        until none is left; each answer (or the store's error) goes to those waiting."""
        while self.asked:
            asked, self.asked = self.asked, {}
            try:
                async with self.address_lock:  # never beside a renewal (keep_addresses)
                    waits = await self.leases.hold_addresses(list(asked))
                    now = self.clock.monotonic()  # read after the store's "now": never early
                    for address, wait in waits.items():
                        if wait is not None:
                            self.addresses[address] = now + wait
            except asyncio.CancelledError:
                for future in asked.values():
                    future.cancel()
                raise
            except Exception as exc:  # the store's error, handed to every caller waiting
                for future in asked.values():
                    if not future.done():
                        future.set_exception(exc)
                        future.exception()  # a caller cancelled meanwhile never reads it
                continue
            for address, future in asked.items():
                if not future.done():
                    future.set_result(waits.get(address))

    def page_granted(self) -> bool:
        """A request may start now as far as the crawl's page cap goes."""
        return self.max_pages is None or self.pages_left > 0

    async def reserve_pages(self) -> bool:
        """Reserve more of the fleet's page cap; False once the fleet has reached it."""
        cap = self.max_pages
        if cap is not None and not self.pages_out:
            got = await self.leases.reserve_pages(cap, _PAGE_BLOCK, fresh=self.fresh)
            self.pages_left += got
            self.pages_out = got == 0
        return self.page_granted()

    def took_page(self) -> None:
        """A request counted by the page cap starts."""
        if self.max_pages is not None:
            self.pages_left -= 1

    def cap(self) -> int:
        # Enough hosts to keep every connection busy while most wait out their delay
        # (one request a second to a host answering in 0.1 s keeps a connection busy a
        # tenth of the time) or wait on the store. Measured on the demo web of 1,000 hosts
        # without delay: with twice the concurrency held, one PostgreSQL worker crawled at
        # 0.6 of SQLite's rate, waiting on claims; with ten times, at 0.75.
        return max(4, 10 * self.settings.concurrency)

    def forget(self, host: Host) -> None:
        # The next holder opens its own connection: ours must not stay open beside it.
        forget = getattr(self.fetcher, "forget", None)
        if forget is not None:
            forget(host.name)

    async def leave(self) -> None:
        """Give every lease back (what was fetched is committed) and say our share."""
        now = self.clock.monotonic()
        states = {name: state_of(h, now) for name, h in self.held.items()}
        for host in self.held.values():
            self.frontier.drop(host)
            self.forget(host)
        for host in self.handback.values():
            states[host.name] = state_of(host, now)
        if self.holding is not None and not self.holding.done():
            self.holding.cancel()
            await asyncio.gather(self.holding, return_exceptions=True)
        self.held.clear()
        self.handback.clear()
        self.addresses.clear()  # given back by finish
        if states:
            await self.leases.release(states)
        if self.pages_left > 0:
            unused, self.pages_left = self.pages_left, 0
            await self.leases.return_pages(unused)
        share = await self.leases.finish(self.stats.pages)
        if share is not None:
            self.stats.fleet_pages = share.all_pages
