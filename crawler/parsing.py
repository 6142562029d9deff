"""Page parsing off the event loop: decoding and link extraction in worker processes.

A crawl is CPU-bound in its event-loop thread long before the network is the limit:
parsing is a third of that thread's time, and threads cannot help (the GIL). So once a
crawl has shown it is big (``inline_pages`` pages parsed inline), parsing moves to worker
processes (``python -m crawler.parsing``), each fed through its stdin and answering on
its stdout, read by the event loop itself. Not ``concurrent.futures``: its feeder and
manager threads fight the event loop for the GIL and, measured, made the crawl slower.

Protocol: length-prefixed pickles, one request and one answer per page, answered in
order. Small crawls never start a worker (one costs half a second to start), and a worker
that dies is dropped: its pages in flight are parsed inline, and so is everything after,
so a bad page can cost time, never the crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from collections import deque

from storage.records import Link

from .encoding import decode_html
from .extract import Extracted, extract
from .urls import host_of, registrable_domain, url_hash

__all__ = ["PageParser", "auto_workers", "parse_page"]

log = logging.getLogger("linkgraph.crawl")

_HEADER = struct.Struct("!I")

# A compact, cheaply pickled form of Extracted: links as plain tuples.
_Parsed = tuple[
    list[tuple[str, str, tuple[str, ...], str, bool]],
    str | None,
    str | None,
    str | None,
    frozenset[str],
    str,
    str | None,
    dict[str, tuple[int, str, str]],
]


def parse_page(
    body: bytes, content_type: str | None, url: str, agent_token: str, want_text: bool
) -> _Parsed:
    """Decode and extract one page (runs in a worker process, or inline)."""
    text, _ = decode_html(body, content_type)
    found = extract(text, url, agent_token=agent_token, want_text=want_text)
    links = [
        (link.target, link.anchor, link.rel, link.placement, link.image) for link in found.links
    ]
    # The frontier and the store need each target's hash, host and domain: computing them
    # here takes that work off the event loop too.
    info = {}
    for url in {link.target for link in found.links} | (
        {found.canonical} if found.canonical else set()
    ):
        host = host_of(url)
        info[url] = (url_hash(url), host, registrable_domain(host))
    return (
        links,
        found.title,
        found.lang,
        found.canonical,
        found.robots,
        found.base,
        found.text,
        info,
    )


def _unpack(parsed: _Parsed) -> Extracted:
    links, title, lang, canonical, robots, base, text, info = parsed
    return Extracted(
        links=[Link(t, a, r, p, i) for t, a, r, p, i in links],
        title=title,
        lang=lang,
        canonical=canonical,
        robots=robots,
        base=base,
        text=text,
        url_info=info,
    )


def auto_workers() -> int:
    """One worker per core beyond the event loop's own, at most four."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.waiting: deque[asyncio.Future[_Parsed]] = deque()
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = _HEADER.unpack(await stdout.readexactly(_HEADER.size))
                answer = pickle.loads(await stdout.readexactly(size))
                future = self.waiting.popleft()
                if not future.done():
                    if isinstance(answer, BaseException):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError, IndexError):
            pass
        finally:
            while self.waiting:  # the worker is gone: its callers parse inline
                future = self.waiting.popleft()
                if not future.done():
                    future.set_exception(BrokenPipeError("parse worker exited"))

    def submit(self, request: bytes) -> asyncio.Future[_Parsed]:
        stdin = self.process.stdin
        assert stdin is not None
        if self.reader.done() or stdin.is_closing():
            raise BrokenPipeError("parse worker exited")
        future: asyncio.Future[_Parsed] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        stdin.write(_HEADER.pack(len(request)) + request)
        return future

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 5)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class PageParser:
    """Parses pages inline, then (for big crawls) in ``workers`` processes."""

    def __init__(
        self, *, workers: int, agent_token: str, want_text: bool, inline_pages: int = 500
    ) -> None:
        self.workers = workers
        self.agent_token = agent_token
        self.want_text = want_text
        self.inline_pages = inline_pages
        self.parsed = 0
        self._pool: list[_Worker] = []
        self._starting: asyncio.Task[None] | None = None
        self._broken = workers == 0
        self._next = 0

    async def _start(self) -> None:
        try:
            for _ in range(self.workers):
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "crawler.parsing",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                self._pool.append(_Worker(process))
        except OSError as exc:
            log.warning("cannot start page-parsing workers (%s); parsing inline", exc)
            self._broken = True

    async def parse(self, body: bytes, content_type: str | None, url: str) -> Extracted:
        self.parsed += 1
        if not self._broken and self._starting is None and self.parsed > self.inline_pages:
            self._starting = asyncio.ensure_future(self._start())
        if self._pool and not self._broken:
            worker = self._pool[self._next % len(self._pool)]
            self._next += 1
            request = pickle.dumps(
                (body, content_type, url, self.agent_token, self.want_text), protocol=5
            )
            try:
                return _unpack(await worker.submit(request))
            except (BrokenPipeError, ConnectionError, RuntimeError) as exc:
                if not self._broken:
                    log.warning(
                        "a page-parsing worker stopped (%s); parsing inline from now on", exc
                    )
                self._broken = True
        return _unpack(parse_page(body, content_type, url, self.agent_token, self.want_text))

    async def wait_started(self) -> bool:
        """Wait for the workers being started, if any; True when they are in use."""
        if self._starting is not None:
            await self._starting
        return bool(self._pool) and not self._broken

    async def close(self) -> None:
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        for worker in self._pool:
            await worker.close()
        self._pool = []


def _serve() -> None:  # pragma: no cover - runs in the worker process
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (size,) = _HEADER.unpack(header)
        args = pickle.loads(stdin.read(size))
        try:
            answer: object = parse_page(*args)
        except Exception as exc:  # a parser bug on one page: the caller records it
            answer = RuntimeError(f"parsing failed: {type(exc).__name__}: {exc}")
        data = pickle.dumps(answer, protocol=5)
        stdout.write(_HEADER.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    _serve()
