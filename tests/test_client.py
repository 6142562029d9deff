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
import zlib
from typing import Any

import pytest
from hostile import FETCHERS, NAME, Hostile, fetch, html, reply
from linkgraph.crawler.client import HttpClient
from linkgraph.crawler.fetch import FetchError, Request, SafeResolver

pytestmark = pytest.mark.timeout(30)


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
