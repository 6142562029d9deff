"""robots.txt for a crawl worker of several (crawler/robotscache.py with leases), on
virtual time: a worker sends requests only to hosts and addresses it holds, and only on
a lease with time left, robots.txt requests included."""

from __future__ import annotations

from dataclasses import dataclass

from fakes import html, text
from linkgraph.crawler.fleet import Claim, HostState
from test_fleet_leases import SITE, A, FleetLeases, TwoHosts, crawl

B = "http://b.test"
TO_B = {f"{A}/robots.txt": text("", 301, Location=f"{B}/robots.txt"), **SITE}


async def test_a_robots_redirect_to_a_host_not_held_is_not_followed_and_means_unavailable() -> None:
    # b.test may be another worker's: no request goes there. Unavailable: allow all.
    leases = FleetLeases(Claim("a.test", 1, None))
    pages = {**TO_B, f"{B}/robots.txt": text("User-agent: *\nDisallow: /\n")}
    fetcher, _ = await crawl(leases, pages)
    assert fetcher.urls("b.test") == []
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/", f"{A}/next"]
    assert leases.saved_robots == [A]


async def test_a_robots_redirect_to_a_host_not_held_reads_its_stored_robots_txt() -> None:
    stored = (200, b"User-agent: *\nDisallow: /next\n", 60.0)
    leases = FleetLeases(Claim("a.test", 1, None), robots_txt=stored)
    fetcher, _ = await crawl(leases, {**TO_B, f"{B}/robots.txt": text("User-agent: *\n")})
    assert fetcher.urls("b.test") == []
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/"]  # /next disallowed


async def test_a_robots_redirect_to_a_host_held_with_its_address_is_followed() -> None:
    leases = TwoHosts(Claim("a.test", 1, None))
    pages = {**TO_B, f"{B}/robots.txt": text("User-agent: *\nDisallow: /next\n"), f"{B}/": html()}
    fetcher, _ = await crawl(leases, pages)
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/"]  # b.test's rules: no /next
    assert fetcher.urls("b.test").count(f"{B}/robots.txt") == 2  # b.test's own, and a's hop


@dataclass
class SlowStore(FleetLeases):
    """A store that answers the robots.txt read after 8 s and the next renewal after 100 s
    (leases last 10 s): the read ends with under a quarter of the lease left."""

    renewals: int = 0

    async def robots(self, origin: str) -> tuple[int | None, bytes, float] | None:
        assert self.clock is not None
        await self.clock.sleep(8.0)
        return None  # nothing stored: the worker fetches robots.txt itself

    async def renew(self, states: dict[str, HostState], pages: int) -> set[str]:
        assert self.clock is not None
        self.renewals += 1
        if self.renewals == 2:  # the first renewal of a.test
            await self.clock.sleep(100.0)
        return await super().renew(states, pages)


async def test_no_robots_request_starts_on_a_lease_a_slow_robots_read_left_short() -> None:
    leases = SlowStore(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    fetcher, _ = await crawl(leases, {f"{A}/robots.txt": text("User-agent: *\n"), **SITE})
    # Claimed at 0 until 10; the read ends at 8: nothing until the renewal at ~100.5.
    assert fetcher.starts("a.test")[0] > 100.0
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/", f"{A}/next"]


async def test_a_robots_redirect_to_a_host_held_on_another_workers_address_is_not_followed() -> (
    None
):
    leases = TwoHosts(Claim("a.test", 1, None))
    leases.addresses["198.51.100.2"] = None  # b.test's (resolved second): another worker's
    pages = {**TO_B, f"{B}/robots.txt": text("User-agent: *\nDisallow: /next\n"), f"{B}/": html()}
    fetcher, _ = await crawl(leases, pages)
    assert fetcher._hosts == {"a.test": 1, "b.test": 2}  # type: ignore[attr-defined]
    assert fetcher.urls("b.test") == []
    assert fetcher.urls("a.test") == [f"{A}/robots.txt", f"{A}/", f"{A}/next"]
