"""The crawler's seams: what the engine needs from the network and from time.

The engine depends on these small ``Protocol``s, never on aiohttp or on ``time`` directly,
so a test can hand it an in-memory fetcher and a virtual clock (``tests/fakes.py``) and
check every politeness rule to the exact (virtual) second without opening a socket.
The real implementations are :class:`~.client.HttpClient`, :class:`~.fetch.SafeResolver` and
:class:`SystemClock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from .fetch import Request, Response

__all__ = ["Clock", "HttpFetcher", "Resolver", "SystemClock", "wait_event"]


class HttpFetcher(Protocol):
    """One HTTP request, redirects *not* followed (the engine queues each hop itself).

    Returns the response, whatever its status, or raises ``FetchError`` when there is none.
    ``Response.sent_ago`` tells when the request left, which is where politeness gaps are
    measured from; ``Request.want_body`` may decline reading the body.
    """

    async def send(self, request: Request) -> Response: ...


class Resolver(Protocol):
    """The vetted addresses of a host (or IP literal); raises ``FetchError``.

    The engine asks before a host's first request: the first address is the one whose
    connection slots (``connections_per_ip``) the host shares.
    """

    async def lookup(self, host: str) -> list[str]: ...


class Clock(Protocol):
    """Monotonic time and sleeping: every wait politeness imposes goes through one."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def wait_event(event: asyncio.Event, clock: Clock, seconds: float | None) -> None:
    """Wait until ``event`` is set or ``seconds`` of ``clock`` have passed."""
    if event.is_set():
        return
    if seconds is None:
        await event.wait()
        return
    if isinstance(clock, SystemClock):
        # The common case without two tasks per wait. asyncio.timeout, not wait_for: on
        # Python 3.11 wait_for can swallow a cancel that lands just as the event is set.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        return
    waiter = asyncio.ensure_future(event.wait())
    sleeper = asyncio.ensure_future(clock.sleep(max(seconds, 0.0)))
    try:
        await asyncio.wait((waiter, sleeper), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleeper):
            task.cancel()
