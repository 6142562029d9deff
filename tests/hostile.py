"""A hostile HTTP server on loopback and a runner that fetches from it with either fetcher.

Each case is a raw asyncio server on 127.0.0.1, port 0, that answers every request with
bytes the test scripts; :func:`fetch` runs the same paths through the llhttp client the
crawl uses or the aiohttp fetcher it replaced, and gives each result as a
``(status, body, truncated)`` tuple or a ``FetchError`` reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from linkgraph.crawler.client import HttpClient
from linkgraph.crawler.fetch import Fetcher, FetchError, Request, SafeResolver

NAME = "www.hostile.test"
Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]


class Hostile:
    """A server on 127.0.0.1 that reads each request head and lets ``answer`` reply."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.heads: list[str] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Hostile:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://{NAME}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                text = head.decode("latin-1")
                self.heads.append(text)
                await self.answer(reader, writer, text.split()[1])
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


def reply(raw: bytes, *, close: bool = False) -> Answer:
    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(raw)
        await writer.drain()
        if close:
            writer.close()

    return answer


def html(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: text/html", *extra]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in extra):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


FETCHERS = {"llhttp": HttpClient, "aiohttp": Fetcher}


async def fetch(
    kind: str,
    answer: Answer,
    paths: list[str],
    *,
    max_bytes: int = 100_000,
    seconds: float = 5.0,
    **request: Any,
) -> tuple[Hostile, list[Any]]:
    """Fetch ``paths`` in turn with one fetcher; each result is a response or a reason."""
    resolver = SafeResolver({NAME: ["127.0.0.1"]})
    results: list[Any] = []
    async with Hostile(answer) as server:
        fetcher = FETCHERS[kind](
            user_agent="linkgraph-test/1.0 (+https://example.invalid/bot)",
            resolver=resolver,
            connect_timeout=seconds,
            read_timeout=seconds,
        )
        async with fetcher:
            for path in paths:
                try:
                    resp = await fetcher.send(Request(server.url(path), max_bytes, **request))
                    results.append((resp.status, resp.body, resp.truncated))
                except FetchError as exc:
                    results.append(exc.reason)
    return server, results
