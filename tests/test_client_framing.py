"""The crawl's HTTP client against servers that break HTTP/1.1 framing, beside aiohttp's.

Answers after the end of an answer, interim 1xx answers, compression bombs, endless
trailers, a client closed mid-send and slow lookups; where both fetchers are run they
must give the same outcome.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

import pytest
from hostile import FETCHERS, NAME, Hostile, fetch, html, reply
from linkgraph.crawler.client import HttpClient
from linkgraph.crawler.fetch import FetchError, Request, SafeResolver

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=sorted(FETCHERS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_a_second_answer_in_the_same_write_does_not_replace_the_first(kind: str) -> None:
    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        if path == "/a":
            moved = (
                b"HTTP/1.1 301 Moved\r\nLocation: http://evil.example/\r\nContent-Length: 0\r\n\r\n"
            )
            writer.write(html(b"hello") + moved)
        else:
            writer.write(html(b"second"))
        await writer.drain()

    _, results = await fetch(kind, answer, ["/a", "/b"])
    assert results[0] == (200, b"hello", False)
    assert results[1] in [(200, b"second", False), "protocol"]


async def test_a_connection_that_sent_an_unasked_answer_is_not_reused() -> None:
    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        extra = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nINJECTED" if path == "/a" else b""
        writer.write(html(path.encode()) + extra)
        await writer.drain()

    server, results = await fetch("llhttp", answer, ["/a", "/b"])
    assert results == [(200, b"/a", False), (200, b"/b", False)]
    assert server.connections == 2


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "two-writes"])
async def test_an_early_hints_answer_is_skipped_for_the_final_one(kind: str, split: bool) -> None:
    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
        if split:
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(html(b"<p>final</p>"))
        await writer.drain()

    server, results = await fetch(kind, answer, ["/", "/"])
    assert results == [(200, b"<p>final</p>", False)] * 2
    assert server.connections == 1


async def test_endless_interim_answers_are_a_protocol_error() -> None:
    answer = reply(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" * 50 + html(b"x"))
    _, results = await fetch("llhttp", answer, ["/"])
    assert results == ["protocol"]


async def test_a_brotli_bomb_is_decoded_only_up_to_the_cap() -> None:
    brotli = pytest.importorskip("brotli")
    bomb = brotli.compress(b"\0" * (64 << 20), quality=5)  # 64 MiB from about 100 bytes
    tracemalloc.start()
    try:
        _, results = await fetch(
            "llhttp", reply(html(bomb, "Content-Encoding: br")), ["/"], max_bytes=100_000
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert results == [(200, b"\0" * 100_000, True)]
    assert peak < 16 << 20  # far below the 64 MiB the whole bomb would take


async def test_an_endless_trailer_is_a_protocol_error() -> None:
    async def endless(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: ")
        for _ in range(1_000):  # 1 MB of one trailer line, then silence
            writer.write(b"a" * 1000)
            await writer.drain()
        await asyncio.sleep(3600)

    _, results = await fetch("llhttp", endless, ["/"], seconds=2.0)
    assert results == ["protocol"]


async def test_many_tiny_chunks_are_not_mistaken_for_a_long_head(kind: str) -> None:
    page = bytes(range(256)) * 80  # 20,480 one-byte chunks: over 100 KB of chunk framing
    body = b"".join(b"1\r\n%s\r\n" % page[i : i + 1] for i in range(len(page))) + b"0\r\n\r\n"
    _, results = await fetch(kind, reply(html(body, "Transfer-Encoding: chunked")), ["/"])
    assert results == [(200, page, False)]


class SlowResolver(SafeResolver):
    """Pinned answers that take ``delay`` seconds to come."""

    def __init__(self, delay: float) -> None:
        super().__init__({NAME: ["127.0.0.1"]})
        self.delay = delay

    async def _lookup(self, host: str) -> list[str]:
        await asyncio.sleep(self.delay)
        return await super()._lookup(host)


async def test_a_send_still_resolving_when_the_client_closes_keeps_no_connection() -> None:
    async with Hostile(reply(html(b"ok"))) as server:
        client = HttpClient(user_agent="t", resolver=SlowResolver(0.2))
        task = asyncio.create_task(client.send(Request(server.url("/"), 1000)))
        await asyncio.sleep(0.05)
        await client.close()
        with pytest.raises(FetchError):
            await task
        assert client._idle_count == 0 and not client._idle
    assert server.connections == 0


async def test_a_slow_lookup_counts_against_the_deadline(kind: str) -> None:
    async with Hostile(reply(html(b"ok"))) as server:
        fetcher = FETCHERS[kind](
            user_agent="t", resolver=SlowResolver(60), connect_timeout=0.1, read_timeout=0.1
        )
        async with fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.send(Request(server.url("/"), 1000))
    assert caught.value.reason == "timeout"


async def test_a_kept_alive_connection_closed_unanswered_is_not_sent_again(kind: str) -> None:
    # The aiohttp fetcher turns aiohttp's silent second try off: the engine retries itself.
    served: dict[asyncio.StreamWriter, int] = {}  # the writer itself: an id can be reused

    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        count = served[writer] = served.get(writer, 0) + 1
        if count == 2:  # the server drops this kept-alive connection as it is reused
            writer.transport.abort()
            return
        writer.write(html(path.encode()))
        await writer.drain()

    server, results = await fetch(kind, answer, ["/a", "/b"])
    assert results == [(200, b"/a", False), "protocol"]
    assert server.connections == 1


async def test_a_refused_lookup_is_a_connect_failure(kind: str) -> None:
    resolver = SafeResolver({}, pinned_only=True)
    async with Hostile(reply(html(b"x"))) as server:
        async with FETCHERS[kind](user_agent="t", resolver=resolver) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.send(Request(server.url("/"), 1000))
    assert caught.value.reason == "connect"
