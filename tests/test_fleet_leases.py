"""The engine as one worker of several (crawler/fleet.py), on virtual time.

A scripted :class:`FleetLeases` stands in for the other workers and the store: it hands
the engine a host with the state its last holder left, and records what the engine gives
back. Every politeness rule is checked to the exact virtual second.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pytest
from fakes import FAKE_DEFAULTS, FakeClock, FakeFetcher, InlineParser, html, memory_writer, text
from linkgraph.crawler.engine import Engine
from linkgraph.crawler.fleet import Claim, HostState, Share
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.crawler.urls import url_hash
from linkgraph.storage.errors import StoreError
from linkgraph.storage.memory import MemoryWriter
from linkgraph.storage.records import Page, QueueItem

A = "http://a.test"


@dataclass
class FleetLeases:
    """One host on offer, as another worker left it; robots.txt as another fetched it."""

    offer: Claim
    robots_txt: tuple[int | None, bytes, float] | None = None
    seconds: float = 10.0
    local: bool = False
    worker: int | None = 7
    max_pages: int | None = None  # the pass's page cap
    claimed_at: list[float] = field(default_factory=list)
    released: dict[str, HostState] = field(default_factory=dict)
    saved_robots: list[str] = field(default_factory=list)
    clock: FakeClock | None = None
    writer: MemoryWriter | None = None
    fetcher: FakeFetcher | None = None
    # Entries another worker queues for the host after we started, before our claim.
    queued_meanwhile: list[QueueItem] = field(default_factory=list)
    lost: bool = False  # another worker took the host over: renewals keep nothing
    # What leasing an address answers (None: another worker holds it); default 0.0.
    addresses: dict[str, float | None] = field(default_factory=dict)
    kept_addresses: list[set[str]] = field(default_factory=list)
    holds: list[list[str]] = field(default_factory=list)  # the addresses of each hold asked
    # What the fleet's page cap still grants (None: whatever is asked), and what we took.
    grantable: int | None = None
    reserved: list[int] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)

    async def start(self, *, max_pages: int | None = None, fresh: bool = False) -> int | None:
        return self.worker

    async def claim(self, limit: int) -> list[Claim]:
        if self.claimed_at:
            return []
        assert self.clock is not None and self.writer is not None
        self.claimed_at.append(self.clock.monotonic())
        if self.queued_meanwhile:
            self.writer.add_queued(self.queued_meanwhile)
            await self.writer.flush()
        return [self.offer]

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        if self.lost:
            self.released.update(states)  # stands for "no longer ours" in drained()
            return set()
        return set(states)

    async def release(self, states: dict[str, HostState]) -> None:
        self.released.update(states)

    async def hold_addresses(self, addresses: list[str]) -> dict[str, float | None]:
        self.holds.append(list(addresses))
        return {address: self.addresses.get(address, 0.0) for address in addresses}

    async def keep_addresses(self, addresses: set[str]) -> set[str]:
        self.kept_addresses.append(set(addresses))
        return set(addresses)

    async def reserve_pages(self, cap: int, want: int, *, fresh: bool) -> int:
        n = want if self.grantable is None else min(want, self.grantable)
        if self.grantable is not None:
            self.grantable -= n
        self.reserved.append(n)
        return n

    async def return_pages(self, unused: int) -> None:
        self.returned.append(unused)

    async def drained(self) -> bool:
        return bool(self.released)

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        return self.robots_txt

    async def save_robots(self, origin: str, status: int | None, body: bytes) -> None:
        self.saved_robots.append(origin)

    async def finish(self, pages: int) -> Share | None:
        return Share(7, pages, pages + 10)


async def crawl(
    leases: FleetLeases,
    pages: dict[str, object],
    writer: MemoryWriter | None = None,
    **settings: object,
) -> tuple[FakeFetcher, object]:
    clock = FakeClock()
    leases.clock = clock
    fetcher = leases.fetcher = FakeFetcher(clock, pages)  # type: ignore[arg-type]
    writer = leases.writer = writer or memory_writer()
    settings = CrawlSettings(seeds=(f"{A}/",), **{**FAKE_DEFAULTS, **settings})  # type: ignore[arg-type]
    engine = Engine(
        settings,  # type: ignore[arg-type]
        writer,
        fetcher,
        resolver=fetcher,
        clock=clock,
        wallclock=clock.wallclock,
        parser=InlineParser(settings.product_token),
        leases=leases,
    )
    try:
        async with asyncio.timeout(30):  # real seconds: a bound, never reached
            stats = await engine.run()
    finally:
        clock.close()
    return fetcher, stats


SITE = {f"{A}/": html(f"{A}/next"), f"{A}/next": html()}


async def test_a_leased_host_waits_for_the_start_its_last_holder_left() -> None:
    state = HostState(next_in=5.0, delay=1.0)
    leases = FleetLeases(Claim("a.test", 1, state))
    fetcher, stats = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.starts("a.test") == [5.0, 6.0, 7.0]  # robots.txt, /, /next: 1 s apart
    assert leases.saved_robots == [A]  # what it fetched, for the next holder
    assert stats.worker == 7 and stats.fleet_pages == stats.pages + 10


async def test_a_delay_another_worker_was_given_is_not_kept() -> None:
    # Its --delay 2 was its own setting, not the site's: ours is 1 s, and the site's
    # robots.txt sets no Crawl-delay. Only the gap it left (next_in) is honoured.
    state = HostState(next_in=5.0, delay=2.0)
    leases = FleetLeases(Claim("a.test", 1, state))
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.starts("a.test") == [5.0, 6.0, 7.0]
    assert leases.released["a.test"].delay == 1.0


async def test_robots_txt_another_worker_stored_is_read_not_fetched_and_its_delay_kept() -> None:
    stored = (200, b"User-agent: *\nDisallow: /next\nCrawl-delay: 3\n", 60.0)
    # Held before (it comes with a state): its robots.txt may be stored.
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)), robots_txt=stored)
    fetcher, _ = await crawl(leases, SITE)
    assert fetcher.urls("a.test") == [f"{A}/"]  # no robots.txt request; /next disallowed
    assert leases.released["a.test"].delay == 3.0


async def test_a_host_taken_over_from_a_vanished_worker_waits_a_whole_delay_first() -> None:
    # The last holder saved "now" as the next start, then may have sent one more request
    # before it died: the takeover waits the site's Crawl-delay, not only ours.
    stored = (200, b"User-agent: *\nCrawl-delay: 4\n", 60.0)
    state = HostState(next_in=0.0, delay=1.0)
    leases = FleetLeases(Claim("a.test", 1, state, holder_vanished=True), robots_txt=stored)
    fetcher, _ = await crawl(leases, SITE)
    (claimed,) = leases.claimed_at
    assert fetcher.starts("a.test") == [claimed + 4.0, claimed + 8.0]


async def test_a_host_run_dry_is_given_back_with_its_next_start() -> None:
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    (released,) = leases.released.values()
    # Given back by the lease loop's first turn after the last request (it runs every
    # 0.5 s): the next holder may start one delay after that request, not before.
    assert len(fetcher.starts("a.test")) == 3
    assert 0.5 <= released.next_in <= 1.0


async def test_a_url_of_the_host_another_worker_fetched_is_not_fetched_again() -> None:
    # Our seen set was read before the other worker fetched /next; the claim brings it.
    done = (url_hash(f"{A}/next"),)
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0), seen=done))
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.urls("a.test", robots=False) == [f"{A}/"]


async def test_an_entry_another_worker_queued_is_not_queued_again_when_found() -> None:
    # /next waits in the store (queued by another worker after our seen set was read):
    # read back with "/", it must not queue again when "/" links to it.
    leases = FleetLeases(
        Claim("a.test", 2, HostState(next_in=0.0, delay=1.0)),
        queued_meanwhile=[QueueItem(f"{A}/next", 1)],
    )
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert sorted(fetcher.urls("a.test", robots=False)) == [f"{A}/", f"{A}/next"]


async def test_a_host_whose_lease_another_worker_took_gets_no_more_requests() -> None:
    # Claimed at 0 and lost at the first renewal (within 0.5 s): robots.txt went at 0,
    # "/" would have gone at 1 s, one delay later.
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)), lost=True)
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.urls("a.test") == [f"{A}/robots.txt"]


class QueueUnreadable(MemoryWriter):
    """A store whose queue cannot be read (a server with no connection left to give)."""

    reads = 0

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        self.reads += 1
        raise StoreError("cannot read the queue of postgresql://db.test/links: too many clients")


async def test_a_queue_the_store_cannot_read_ends_the_crawl_and_fails_no_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = QueueUnreadable(batch_pages=200)
    writer.add_queued([QueueItem(f"{A}/", 0)])
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    with caplog.at_level(logging.ERROR), pytest.raises(StoreError, match="too many clients"):
        await crawl(leases, SITE, writer)
    assert writer.reads == 1  # not read again and again
    assert writer.pages == {}  # nothing recorded as failed: the URL stays queued
    assert [r.message for r in caplog.records] == []  # no traceback logged


class RenewalRefused(FleetLeases):
    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        raise StoreError("cannot share the crawl of postgresql://db.test/links: terminated")


async def test_a_lease_connection_failing_ends_the_crawl_with_the_one_store_error() -> None:
    leases = RenewalRefused(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    # Not an ExceptionGroup: the CLI prints a StoreError in one line.
    with pytest.raises(StoreError, match="terminated"):
        await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})


STALE = [f"{A}/x1", f"{A}/x2"]


class SlowQueue(MemoryWriter):
    """A store whose queue reads take 2 s to come back, read at their start."""

    clock: FakeClock | None = None

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        items = await super().take_frontier(host, limit, kinds=kinds)
        assert self.clock is not None
        await self.clock.sleep(2.0)
        return items


@dataclass
class LostDuringRead(FleetLeases):
    """a.test is lost at the first renewal, while its window is read; another worker
    fetches its two queued URLs and queues one more, and it is claimed back at
    ``again``."""

    again: float = 3.0
    claims: int = 0
    renewals: int = 0

    async def claim(self, limit: int) -> list[Claim]:
        assert self.clock is not None and self.writer is not None
        now = self.clock.monotonic()
        if self.claims == 0:
            self.claims = 1
            return [Claim("a.test", 2, HostState(next_in=0.0, delay=1.0))]
        if self.claims == 1 and now >= self.again:
            self.claims = 2
            for url in STALE:
                self.writer.add_page(Page(url, 1, 0.0, status=200))
            self.writer.add_queued([QueueItem(f"{A}/x3", 1)])
            await self.writer.flush()
            done = tuple(url_hash(u) for u in STALE)
            return [Claim("a.test", 1, HostState(next_in=0.0, delay=1.0), seen=done)]
        return []

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        if states and not self.renewals:
            self.renewals = 1
            return set()
        return set(states)

    async def release(self, states: dict[str, HostState]) -> None:
        if self.claims == 2:
            self.released.update(states)

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        return (200, b"User-agent: *\n", 1.0)


@pytest.mark.parametrize("again", [3.0, 1.0], ids=["claimed-after-the-read", "during-it"])
async def test_a_window_read_for_a_lease_since_lost_is_not_fetched(again: float) -> None:
    writer = SlowQueue(batch_pages=200)
    writer.add_queued([QueueItem(u, 1) for u in STALE])
    await writer.flush()
    leases = LostDuringRead(Claim("a.test", 0, None), again=again)
    clock = FakeClock()
    writer.clock = clock
    pages = {f"{A}/robots.txt": text("User-agent: *\n"), **{u: html() for u in [*STALE, f"{A}/x3"]}}
    fetcher = FakeFetcher(clock, pages)  # type: ignore[arg-type]
    leases.clock, leases.writer = clock, writer
    settings = CrawlSettings(seeds=(STALE[0],), **FAKE_DEFAULTS)
    engine = Engine(
        settings, writer, fetcher, resolver=fetcher, clock=clock, wallclock=clock.wallclock,
        parser=InlineParser(settings.product_token), leases=leases,
    )  # fmt: skip
    try:
        async with asyncio.timeout(30):  # real seconds: a bound, never reached
            await engine.run()
    finally:
        clock.close()
    # Only what was queued after the other worker's turn: x1 and x2 are done.
    assert fetcher.urls("a.test", robots=False) == [f"{A}/x3"]


async def crawl_until_store_fails(
    leases: FleetLeases, pages: dict[str, object], writer: MemoryWriter | None = None
) -> FakeFetcher:
    """:func:`crawl`, for a store that fails under the crawl: the requests it saw."""
    with pytest.raises(StoreError, match="timed out"):
        await crawl(leases, pages, writer)
    assert leases.fetcher is not None
    return leases.fetcher


@dataclass
class StalledStore(FleetLeases):
    """The store stops answering renewals after the first turn, and after a minute the
    worker gives up on it (its connection times out)."""

    renewals: int = 0

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        self.renewals += 1
        if self.renewals > 1:
            assert self.clock is not None
            await self.clock.sleep(60.0)
            raise StoreError("cannot share the crawl of postgresql://db.test/links: timed out")
        return set(states)


async def test_a_request_running_at_its_lease_end_is_cut_there_and_stays_queued() -> None:
    # Claimed at 0 for 10 s; renewals stall from 0.5 s. "/" leaves at 1 s and would take
    # 100 s: the next holder may take the host once the lease has run out.
    leases = StalledStore(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    writer = memory_writer()
    pages = {f"{A}/robots.txt": text("User-agent: *\n"), f"{A}/": html(takes=100.0)}
    fetcher = await crawl_until_store_fails(leases, pages, writer)
    (cut,) = fetcher.cut
    assert (cut.url, cut.start, cut.end) == (f"{A}/", 1.0, 10.0)
    assert f"{A}/" not in writer.pages  # not failed: queued for the next holder


async def test_no_request_starts_on_a_lease_with_under_a_quarter_left() -> None:
    # "/" runs from 1 s to 8.5 s; /next would start then, 1.5 s before the lease's end,
    # with its renewals missed since 0.5 s.
    leases = StalledStore(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    site = {f"{A}/robots.txt": text("User-agent: *\n"), f"{A}/": html(f"{A}/next", takes=7.5)}
    fetcher = await crawl_until_store_fails(leases, {**site, f"{A}/next": html()})
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/"]


async def test_a_host_whose_holder_lost_its_session_waits_out_its_lease_first() -> None:
    # Its session ended 6 s before its lease would have: the worker may still be
    # running, its last request ending as late as then. Ours starts one delay after.
    state = HostState(next_in=0.0, delay=1.0)
    leases = FleetLeases(
        Claim("a.test", 1, state, holder_vanished=True, lapses_in=6.0),
        robots_txt=(200, b"User-agent: *\n", 60.0),
    )
    fetcher, _ = await crawl(leases, SITE)
    (claimed,) = leases.claimed_at
    assert fetcher.starts("a.test") == [claimed + 7.0, claimed + 8.0]


# The fake fetcher gives the first host it resolves this documentation address.
A_IP = "198.51.100.1"


async def test_a_host_on_an_address_another_worker_holds_is_given_back_unrequested() -> None:
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    leases.addresses[A_IP] = None
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.urls("a.test") == []
    # Recorded with its lease: claims pass it by while the other worker holds the address.
    assert leases.released["a.test"].address == A_IP


async def test_a_host_on_an_address_whose_holder_lost_its_session_waits_out_its_lease() -> None:
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    leases.addresses[A_IP] = 6.0
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert fetcher.starts("a.test") == [6.0, 7.0, 8.0]


async def test_an_address_is_renewed_while_a_host_on_it_is_held_and_given_back_after() -> None:
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    assert leases.released["a.test"].address == A_IP
    assert {A_IP} in leases.kept_addresses
    assert leases.kept_addresses[-1] == set()


THREE = {f"{A}/robots.txt": text("User-agent: *\n"), f"{A}/": html(f"{A}/b", f"{A}/c")}


async def test_a_worker_stops_at_the_fleets_page_cap_not_its_own() -> None:
    # --max-pages 5, and the other workers have made all but two of the fleet's requests.
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)), grantable=2)
    fetcher, _ = await crawl(leases, {**THREE, f"{A}/b": html(), f"{A}/c": html()}, max_pages=5)
    assert fetcher.urls("a.test", robots=False) == [f"{A}/", f"{A}/b"]


B = "http://b.test"


@dataclass
class TwoHosts(FleetLeases):
    """Claims a.test and b.test (b.test with one page queued) at once, in ``state``."""

    state: HostState | None = None

    async def claim(self, limit: int) -> list[Claim]:
        if self.claimed_at:
            return []
        assert self.clock is not None and self.writer is not None
        self.claimed_at.append(self.clock.monotonic())
        self.writer.add_queued([QueueItem(f"{B}/", 0)])
        await self.writer.flush()
        return [Claim("a.test", 1, self.state), Claim("b.test", 1, self.state)]


@dataclass
class TwoHostsReservingTogether(TwoHosts):
    """A page reservation takes a store round trip, so both hosts ask for pages together
    and one of the answers is 0."""

    async def reserve_pages(self, cap: int, want: int, *, fresh: bool) -> int:
        assert self.clock is not None
        await self.clock.sleep(0.1)
        return await super().reserve_pages(cap, want, fresh=fresh)


async def test_a_worker_whose_hosts_run_dry_as_the_fleets_page_cap_is_spent_ends() -> None:
    # Two of the fleet's five pages are left: one host gets both, the other's reservation
    # says the cap is reached; both pages are used and both hosts run dry.
    state = HostState(next_in=0.0, delay=1.0)
    leases = TwoHostsReservingTogether(Claim("a.test", 1, None), grantable=2, state=state)
    pages = {
        f"{A}/robots.txt": text("User-agent: *\n"), f"{A}/": html(),
        f"{B}/robots.txt": text("User-agent: *\n"), f"{B}/": html(),
    }  # fmt: skip
    fetcher, _ = await crawl(leases, pages, max_pages=5)  # TimeoutError: it never ended
    assert sorted(fetcher.urls(robots=False)) == [f"{A}/", f"{B}/"]
    assert sorted(leases.reserved) == [0, 2]


async def test_a_worker_gives_back_the_pages_it_reserved_and_did_not_use() -> None:
    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    fetcher, _ = await crawl(leases, {**THREE, f"{A}/b": html(), f"{A}/c": html()}, max_pages=50)
    made = len(fetcher.urls("a.test", robots=False))
    assert made == 3
    assert sum(leases.reserved) - sum(leases.returned) == made
