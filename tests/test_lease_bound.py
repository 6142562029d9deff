"""A request to a leased host ends by the lease's end, on the real clock.

(The engine's lease rules are proven on virtual time in tests/test_fleet_leases.py; on
the real clock :class:`LeaseBound` cuts a request with a timer of the event loop.)
"""

from __future__ import annotations

import asyncio
import time

import pytest
from linkgraph.crawler.fetch import FetchError, Request, Response
from linkgraph.crawler.fleet import LEASE_ENDED, LeaseBound
from linkgraph.crawler.politeness import Host
from linkgraph.crawler.seams import SystemClock

A = "http://a.test"


class SlowFetcher:
    """Answers each request after ``seconds`` of the real clock (``asyncio.sleep``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def send(self, request: Request) -> Response:
        await asyncio.sleep(self.seconds)
        return Response(request.url, 200, {}, b"ok", self.seconds)


def leased_host(seconds_left: float) -> Host:
    host = Host("a.test", 1.0)
    host.lease_until = time.monotonic() + seconds_left
    return host


async def test_on_the_real_clock_a_request_is_cut_at_its_lease_end() -> None:
    fetcher = LeaseBound(SlowFetcher(30.0), leased_host(0.1), SystemClock())
    with pytest.raises(FetchError) as cut:
        await asyncio.wait_for(fetcher.send(Request(f"{A}/", 1000)), 20.0)
    assert cut.value.reason == LEASE_ENDED
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_on_the_real_clock_a_renewal_lets_the_request_outlive_the_first_lease_end() -> None:
    host = leased_host(0.2)

    def renew() -> None:
        host.lease_until = time.monotonic() + 30.0

    # Timers run in the order of their times: the renewal always comes before the old end.
    asyncio.get_running_loop().call_later(0.1, renew)
    response = await LeaseBound(SlowFetcher(0.4), host, SystemClock()).send(Request(f"{A}/", 1))
    assert response.status == 200


async def test_on_the_real_clock_no_request_starts_on_a_lease_already_over() -> None:
    fetcher = SlowFetcher(0.0)
    sent: list[str] = []
    original = fetcher.send

    async def send(request: Request) -> Response:
        sent.append(request.url)
        return await original(request)

    fetcher.send = send  # type: ignore[method-assign]
    with pytest.raises(FetchError):
        await LeaseBound(fetcher, leased_host(-1.0), SystemClock()).send(Request(f"{A}/", 1))
    assert sent == []


async def test_on_the_real_clock_a_cancel_from_outside_is_not_taken_for_a_cut() -> None:
    fetcher = LeaseBound(SlowFetcher(30.0), leased_host(30.0), SystemClock())
    task = asyncio.ensure_future(fetcher.send(Request(f"{A}/", 1)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
