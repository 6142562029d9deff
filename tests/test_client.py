"""The crawl's HTTP client (crawler/client.py) against a hostile server, beside aiohttp's.

Each case is a raw asyncio server on loopback, port 0, that answers every request with
bytes the test scripts. Both fetchers, the llhttp client the crawl uses and the aiohttp
one it replaced, must give the same outcome for each: the same status and body, or the
same ``FetchError`` reason.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import ssl
import subprocess
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from linkgraph.crawler.client import HttpClient
from linkgraph.crawler.fetch import Fetcher, FetchError, Request, SafeResolver

pytestmark = pytest.mark.timeout(30)

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


@pytest.fixture(params=sorted(FETCHERS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


async def test_a_garbage_status_line_is_a_protocol_error(kind: str) -> None:
    _, results = await fetch(kind, reply(b"\x00\xffNOT HTTP\r\n\r\n"), ["/"])
    assert results == ["protocol"]


async def test_endless_headers_are_a_protocol_error(kind: str) -> None:
    async def endless(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100_000):
            writer.write(b"X-Filler-%d: %s\r\n" % (i, b"y" * 50))
            await writer.drain()

    _, results = await fetch(kind, endless, ["/"])
    assert results == ["protocol"]


async def test_one_endless_header_line_is_a_protocol_error(kind: str) -> None:
    async def endless(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
        for _ in range(10_000):
            writer.write(b"y" * 1000)
            await writer.drain()

    _, results = await fetch(kind, endless, ["/"])
    assert results == ["protocol"]


async def test_a_body_longer_than_its_length_is_cut_and_does_not_reach_the_next_answer(
    kind: str,
) -> None:
    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        if path == "/long":
            writer.write(html(b"<p>ok</p>", "Content-Length: 9") + b"HTTP/1.1 200 OK\r\nX: evil")
        else:
            writer.write(html(b"<p>second</p>"))
        await writer.drain()

    _, results = await fetch(kind, answer, ["/long", "/next"])
    assert results[0] == (200, b"<p>ok</p>", False)
    assert results[1] in [(200, b"<p>second</p>", False), "protocol"]


async def test_a_dripping_body_times_out_on_the_whole_try(kind: str) -> None:
    async def drip(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        while True:  # never silent long enough for the read timeout alone
            writer.write(b"<")
            await writer.drain()
            await asyncio.sleep(0.05)

    _, results = await fetch(kind, drip, ["/"], seconds=0.3)
    assert results == ["timeout"]


async def test_a_silent_server_times_out(kind: str) -> None:
    async def silent(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        await asyncio.sleep(3600)

    _, results = await fetch(kind, silent, ["/"], seconds=0.2)
    assert results == ["timeout"]


async def test_a_reset_mid_body_is_a_protocol_error(kind: str) -> None:
    async def reset(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        await writer.drain()
        writer.transport.abort()

    _, results = await fetch(kind, reset, ["/"])
    assert results == ["protocol"]


async def test_a_close_before_any_answer_is_a_protocol_error(kind: str) -> None:
    _, results = await fetch(kind, reply(b"", close=True), ["/"])
    assert results == ["protocol"]


async def test_chunked_and_compressed_bodies_are_decoded(kind: str) -> None:
    page = b"<html><body>" + b"<a href='/x'>x</a>" * 500 + b"</body></html>"
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bodies = {
        "/gzip": (gzip.compress(page), "Content-Encoding: gzip"),
        "/deflate": (zlib.compress(page), "Content-Encoding: deflate"),
        "/raw-deflate": (
            raw_deflate.compress(page) + raw_deflate.flush(),
            "Content-Encoding: deflate",
        ),
    }

    async def answer(reader: Any, writer: asyncio.StreamWriter, path: str) -> None:
        if path == "/chunked":
            chunks = [page[i : i + 1000] for i in range(0, len(page), 1000)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
            writer.write(html(body, "Transfer-Encoding: chunked"))
        else:
            body, header = bodies[path]
            writer.write(html(body, header))
        await writer.drain()

    server, results = await fetch(kind, answer, ["/chunked", *bodies])
    assert results == [(200, page, False)] * 4
    assert server.connections == 1  # one kept-alive connection for all four


async def test_a_compressed_body_is_cut_at_the_cap_after_decoding(kind: str) -> None:
    bomb = gzip.compress(b"a" * 5_000_000)  # 5 MB from about 5 KB on the wire

    _, results = await fetch(
        kind, reply(html(bomb, "Content-Encoding: gzip")), ["/"], max_bytes=50_000
    )
    assert results == [(200, b"a" * 50_000, True)]


async def test_an_identity_body_is_cut_at_the_cap(kind: str) -> None:
    body = bytes(range(256)) * 1000
    server, results = await fetch(kind, reply(html(body)), ["/", "/"], max_bytes=1000)
    assert results == [(200, body[:1000], True)] * 2
    assert server.connections == 2  # the cut connection is not reused


async def test_a_declined_body_is_not_returned(kind: str) -> None:
    server, results = await fetch(
        kind,
        reply(html(b"%PDF-1.4" + b"x" * 100, "X-Kind: pdf")),
        ["/a.pdf", "/b.pdf"],
        want_body=lambda status, headers: False,
    )
    assert results == [(200, b"", False)] * 2
    assert server.connections == 1  # small: drained, the connection kept


async def test_a_body_until_the_connection_closes_is_read_whole(kind: str) -> None:
    answer = reply(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<p>old</p>", close=True)
    server, results = await fetch(kind, answer, ["/", "/"])
    assert results == [(200, b"<p>old</p>", False)] * 2
    assert server.connections == 2


async def test_the_request_carries_our_headers_and_the_conditional_ones(kind: str) -> None:
    conditional = {"If-None-Match": '"abc"', "If-Modified-Since": "Mon, 03 Jun 2024 08:00:00 GMT"}
    server, results = await fetch(
        kind, reply(b"HTTP/1.1 304 Not Modified\r\n\r\n"), ["/p?q=1"], headers=conditional
    )
    assert results == [(304, b"", False)]
    lines = server.heads[0].split("\r\n")
    assert lines[0] == "GET /p?q=1 HTTP/1.1"
    fields = {k.lower(): v for k, _, v in (ln.partition(": ") for ln in lines[1:] if ln)}
    assert fields["host"] == f"{NAME}:{server.port}"
    assert fields["user-agent"] == "linkgraph-test/1.0 (+https://example.invalid/bot)"
    assert set(fields["accept-encoding"].replace(" ", "").split(",")) >= {"gzip", "deflate"}
    assert fields["if-none-match"] == '"abc"'
    assert fields["if-modified-since"] == "Mon, 03 Jun 2024 08:00:00 GMT"


async def test_a_line_break_in_a_header_value_is_never_sent(kind: str) -> None:
    server, results = await fetch(
        kind, reply(html(b"x")), ["/"], headers={"If-None-Match": '"a"\r\nX-Evil: 1'}
    )
    assert results == ["protocol"]
    assert not any("X-Evil" in head for head in server.heads)


async def test_an_address_the_resolver_refuses_is_never_connected_to(kind: str) -> None:
    resolver = SafeResolver({})  # 127.0.0.1 is not public, and nothing is pinned
    async with Hostile(reply(html(b"x"))) as server:
        async with FETCHERS[kind](user_agent="t", resolver=resolver) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.send(Request(f"http://127.0.0.1:{server.port}/", 1000))
    assert caught.value.reason == "blocked-address"
    assert server.connections == 0


async def test_a_head_request_reads_no_body_and_keeps_the_connection(kind: str) -> None:
    answer = reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n")
    server, results = await fetch(kind, answer, ["/a", "/b"], method="HEAD")
    assert results == [(200, b"", False)] * 2
    assert server.heads[0].startswith("HEAD /a HTTP/1.1")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for NAME (and its key), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a certificate with")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", key, "-out", cert, "-subj", f"/CN={NAME}"]
    command += ["-addext", f"subjectAltName=DNS:{NAME}"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def tls_fetch(fetcher: Any, certificate: tuple[str, str]) -> Any:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*certificate)
    server = await asyncio.start_server(
        lambda r, w: Hostile(reply(html(b"<p>secret</p>")))._serve(r, w),
        "127.0.0.1",
        0,
        ssl=server_context,
    )
    port = server.sockets[0].getsockname()[1]
    try:
        async with fetcher:
            try:
                resp = await fetcher.send(Request(f"https://{NAME}:{port}/", 1000))
                return (resp.status, resp.body)
            except FetchError as exc:
                return exc.reason
    finally:
        server.close()
        await server.wait_closed()


async def test_an_untrusted_certificate_is_a_connect_failure(
    kind: str, certificate: tuple[str, str]
) -> None:
    resolver = SafeResolver({NAME: ["127.0.0.1"]})
    fetcher = FETCHERS[kind](user_agent="t", resolver=resolver)
    assert await tls_fetch(fetcher, certificate) == "connect"


async def test_https_through_a_trusted_context_is_answered(certificate: tuple[str, str]) -> None:
    context = ssl.create_default_context(cafile=certificate[0])
    resolver = SafeResolver({NAME: ["127.0.0.1"]})
    fetcher = HttpClient(user_agent="t", resolver=resolver, ssl_context=context)
    assert await tls_fetch(fetcher, certificate) == (200, b"<p>secret</p>")


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
