"""In-memory fakes of the crawler's seams: a virtual clock, a scripted fetcher, a parser
that runs on the event loop, and :func:`run_crawl`, which runs the real engine over them
into a :class:`~linkgraph.storage.memory.MemoryWriter`.

With these a politeness test needs no socket and no real waiting: virtual time jumps to
the next deadline as soon as every task is waiting, so a crawl of a minute of delays runs
in milliseconds, and the same crawl always gives the same request times.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from linkgraph.crawler.engine import CrawlStats, Engine
from linkgraph.crawler.extract import Extracted
from linkgraph.crawler.fetch import FetchError, Request, Response
from linkgraph.crawler.parsing import ParseLimits, _unpack, parse_page
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.crawler.urls import host_of
from linkgraph.storage.memory import MemoryWriter

# An HTTP date's epoch for the fake wall clock: virtual t=0 is this Unix time.
EPOCH = 1_700_000_000.0


class FakeClock:
    """Virtual monotonic time. ``sleep`` parks the caller until virtual time reaches its
    deadline; a runner task moves time to the earliest deadline once nothing else on the
    event loop can run, and wakes sleepers in deadline order (ties: first asleep first).

    "Nothing else can run" is read from the loop's ready queue, so the code under test
    must do no real I/O or thread work while a fake clock runs it (use the fakes here).
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._runner: asyncio.Task[None] | None = None

    def monotonic(self) -> float:
        return self.now

    def wallclock(self) -> float:
        """Unix time that moves with the virtual clock (for Retry-After dates)."""
        return EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._seq), future))
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run())
        await future

    def close(self) -> None:
        """Stop the runner: two clocks settling on one loop would each see the other run."""
        if self._runner is not None:
            self._runner.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await _settle(loop)
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # cancelled: its waiter went away
            if not self._sleepers:
                return  # the next sleep starts a runner again
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            future.set_result(None)


async def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until this task is the only runnable one (every other task is waiting)."""
    for _ in range(100_000):
        await asyncio.sleep(0)
        if not loop._ready:  # type: ignore[attr-defined]  # asyncio's run queue
            return
    raise AssertionError("the event loop never went idle under the fake clock")


@dataclass(frozen=True, slots=True)
class Answer:
    """One scripted reply: a response, or a ``FetchError`` reason (``error``), after
    ``takes`` virtual seconds."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    takes: float = 0.0
    error: str | None = None
    sent: bool = True  # for errors: did the request leave (timeout) or not (refused)


def html(*links: str, takes: float = 0.0, headers: Mapping[str, str] | None = None) -> Answer:
    """A 200 HTML page linking to ``links``."""
    body = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return Answer(
        200,
        f"<!DOCTYPE html><html><body>{body}</body></html>".encode(),
        {"Content-Type": "text/html", **(headers or {})},
        takes,
    )


def text(body: str = "", status: int = 200, *, takes: float = 0.0, **headers: str) -> Answer:
    """A plain-text answer; ``headers`` as keyword arguments (``**{"Retry-After": "5"}``)."""
    return Answer(status, body.encode(), {"Content-Type": "text/plain", **headers}, takes)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the fake fetcher saw, with its virtual start and end times."""

    url: str
    method: str
    headers: Mapping[str, str]
    start: float
    end: float

    @property
    def host(self) -> str:
        return host_of(self.url)


class FakeFetcher:
    """Answers from a script: ``{url: Answer}`` or ``{url: [Answer, ...]}`` (one per
    request, the last repeated). Unscripted URLs get a 404, so a robots.txt nobody scripted
    allows everything, unless ``fallback(url)`` answers (a trap: endless generated
    pages). ``ips`` maps a host to its addresses (default: one of its own).
    Every request is logged with its virtual start and end in :attr:`log`; one cancelled
    while it ran, in :attr:`cut`."""

    def __init__(
        self,
        clock: FakeClock,
        script: Mapping[str, Answer | Sequence[Answer]],
        *,
        ips: Mapping[str, list[str]] | None = None,
        fallback: Callable[[str], Answer | None] | None = None,
    ) -> None:
        self.clock = clock
        self.fallback = fallback
        self.script = {u: [a] if isinstance(a, Answer) else list(a) for u, a in script.items()}
        self.ips = dict(ips or {})
        self.log: list[Seen] = []
        self.cut: list[Seen] = []
        self.lookups: list[str] = []
        self._served: dict[str, int] = {}
        self._hosts: dict[str, int] = {}

    async def lookup(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.ips:
            # A documentation address (RFC 5737) of the host's own: never contacted.
            self.ips[host] = [f"198.51.100.{self._hosts.setdefault(host, len(self._hosts) + 1)}"]
        return self.ips[host]

    def _answer(self, url: str) -> Answer:
        answers = self.script.get(url)
        if not answers and self.fallback is not None:
            generated = self.fallback(url)
            answers = [generated] if generated is not None else None
        if not answers:
            return Answer(404, b"not found", {"Content-Type": "text/plain"})
        n = self._served.get(url, 0)
        self._served[url] = n + 1
        return answers[min(n, len(answers) - 1)]

    async def send(self, request: Request) -> Response:
        url, max_bytes, want_body = request.url, request.max_bytes, request.want_body
        answer = self._answer(url)
        start = self.clock.monotonic()
        if answer.takes:
            try:
                await self.clock.sleep(answer.takes)
            except asyncio.CancelledError:
                now = self.clock.monotonic()
                self.cut.append(Seen(url, request.method, dict(request.headers or {}), start, now))
                raise
        end = self.clock.monotonic()
        self.log.append(Seen(url, request.method, dict(request.headers or {}), start, end))
        if answer.error is not None:
            raise FetchError(
                answer.error,
                f"{url}: {answer.error}",
                sent_ago=end - start if answer.sent else None,
            )
        body = answer.body
        if want_body is not None and not want_body(answer.status, answer.headers):
            body = b""
        return Response(
            url,
            answer.status,
            answer.headers,
            body[:max_bytes],
            end - start,
            len(body) > max_bytes,
            end - start,
        )

    def starts(self, host: str | None = None, *, robots: bool = True) -> list[float]:
        """Virtual start times of the requests (to one host), in order."""
        return [r.start for r in self.requests(host, robots=robots)]

    def requests(self, host: str | None = None, *, robots: bool = True) -> list[Seen]:
        return [
            r
            for r in self.log
            if (host is None or r.host == host) and (robots or not r.url.endswith("/robots.txt"))
        ]

    def urls(self, host: str | None = None, *, robots: bool = True) -> list[str]:
        return [r.url for r in self.requests(host, robots=robots)]


class InlineParser:
    """Parses on the event loop (the real parser uses a thread, which virtual time cannot
    see)."""

    def __init__(self, agent_token: str, limits: ParseLimits | None = None) -> None:
        self.agent_token = agent_token
        self.limits = limits or ParseLimits()

    async def parse(self, body: bytes, content_type: str | None, url: str) -> Extracted:
        return _unpack(parse_page(body, content_type, url, self.agent_token, False, self.limits))

    async def close(self) -> None:
        return None


def memory_writer(batch_pages: int = 200) -> MemoryWriter:
    return MemoryWriter(batch_pages=batch_pages)


# No rule is switched off; only the waits are shortened, and they are virtual anyway.
FAKE_DEFAULTS: dict[str, Any] = {
    "delay": 1.0,
    "sitemaps": False,
    "parse_workers": 0,
    "quiet": True,
}


@dataclass
class Crawl:
    """What a fake crawl leaves: the fetcher's log, the store, the stats, the clock."""

    fetcher: FakeFetcher
    writer: MemoryWriter
    stats: CrawlStats
    clock: FakeClock

    def page(self, url: str) -> Any:
        return self.writer.pages[url]

    def not_fetched(self) -> dict[str, int]:
        """URLs recorded without a response, counted by reason."""
        counts: dict[str, int] = {}
        for page in self.writer.pages.values():
            if page.status is None and page.error is not None:
                counts[page.error] = counts.get(page.error, 0) + 1
        return counts


async def run_crawl(
    script: Mapping[str, Answer | Sequence[Answer]],
    *,
    seeds: Sequence[str],
    ips: Mapping[str, list[str]] | None = None,
    writer: MemoryWriter | None = None,
    fallback: Callable[[str], Answer | None] | None = None,
    check: bool = False,
    **settings: Any,
) -> Crawl:
    """Crawl ``seeds`` over a :class:`FakeFetcher` of ``script`` on a fresh virtual clock."""
    clock = FakeClock()
    fetcher = FakeFetcher(clock, script, ips=ips, fallback=fallback)
    writer = writer or memory_writer()
    crawl_settings = CrawlSettings(seeds=tuple(seeds), **{**FAKE_DEFAULTS, **settings})
    engine = Engine(
        crawl_settings,
        writer,
        fetcher,
        resolver=fetcher,
        clock=clock,
        wallclock=clock.wallclock,
        parser=InlineParser(crawl_settings.product_token),
        check=check,
    )
    try:
        async with asyncio.timeout(30):  # real seconds: a bound, never reached by a passing test
            stats = await engine.run()
    finally:
        clock.close()
    return Crawl(fetcher, writer, stats, clock)
