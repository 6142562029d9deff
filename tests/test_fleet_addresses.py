"""Addresses leased by a fleet worker: the hosts resolved together lease theirs in one go."""

from __future__ import annotations

import asyncio

from fakes import FAKE_DEFAULTS, FakeClock
from linkgraph.crawler.fleet import Claim, HostState
from linkgraph.crawler.settings import CrawlSettings
from test_fleet_leases import A, FleetLeases


async def test_addresses_asked_for_together_are_leased_in_one_go() -> None:
    from linkgraph.crawler.leasing import HostLeasing

    leases = FleetLeases(Claim("a.test", 1, HostState(next_in=0.0, delay=1.0)))
    leases.addresses["198.51.100.3"] = None  # another worker holds this one
    leases.addresses["198.51.100.4"] = 2.5  # its last holder's lease runs 2.5 s more
    clock = FakeClock()
    settings = CrawlSettings(seeds=(f"{A}/",), **FAKE_DEFAULTS)  # type: ignore[arg-type]
    # Only the leases, the clock and the held addresses take part in holding one.
    leasing = HostLeasing(leases, settings, None, None, None, clock, None, None, lambda: False)  # type: ignore[arg-type]
    asked = [f"198.51.100.{n}" for n in (1, 2, 3, 4, 1)]
    try:
        waits = await asyncio.gather(*(leasing.hold(address) for address in asked))
    finally:
        clock.close()
    assert waits == [0.0, 0.0, None, 2.5, 0.0]
    assert leases.holds == [sorted(set(asked))]  # one statement for all five
    assert leasing.addresses == {
        "198.51.100.1": 0.0,
        "198.51.100.2": 0.0,
        "198.51.100.4": 2.5,
    }
