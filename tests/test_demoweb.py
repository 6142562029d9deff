"""The demo web: serving, the request log, counters, run modes and conditional requests."""

from __future__ import annotations

import asyncio
import doctest
import errno
import http.client
import importlib
import json
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from demo_support import HTML, client, http_date, small_sites

import linkgraph.demo
from linkgraph.demo import (
    GENERATION_DATES,
    PORT_TOKEN,
    DemoPage,
    DemoSite,
    DemoWeb,
    DemoWebError,
    DemoWebProcess,
    ExpectedLink,
    Response,
    compress,
    decompress,
    generate,
    server,
)

pytestmark = pytest.mark.timeout(60)


async def test_pages_served_as_declared() -> None:
    async with DemoWeb(small_sites()) as web, client(web) as http:
        async with http.get(web.url("a.test", "/about")) as r:
            assert (r.status, await r.text()) == (200, "<p>about a</p>")
            assert r.headers["Content-Type"] == HTML
        async with http.get(web.url("a.test", "/search?q=1")) as r:
            assert await r.text() == "<p>query</p>"
        async with http.get(web.url("a.test", "/search?q=2")) as r:
            assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")
        async with http.get(web.url("a.test", "/robots.txt")) as r:
            assert "Disallow: /private/" in await r.text()
        async with http.get(web.url("b.test", "/robots.txt")) as r:
            assert r.status == 404
        async with http.get(web.url("a.test", "/go"), allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (302, f"http://b.test:{web.port}/x")
        async with http.get(web.url("a.test", "/go")) as r:
            assert await r.text() == "<p>b x</p>"
        async with http.head(web.url("a.test", "/about")) as r:
            assert r.status == 200 and await r.read() == b""
        async with http.get(web.url("a.test", "/untyped")) as r:
            assert "Content-Type" not in r.headers
            assert await r.read() == b"<!DOCTYPE html><p>no type</p>"


async def test_port_is_filled_in_bodies_headers_and_links() -> None:
    async with DemoWeb(small_sites()) as web:
        async with client(web) as http, http.get(web.url("a.test")) as r:
            assert f"http://b.test:{web.port}/x" in await r.text()
        async with client(web, auto_decompress=False) as http:
            async with http.get(web.url("a.test", "/gz")) as r:
                assert r.headers["Content-Encoding"] == "gzip"
                body = decompress(await r.read(), "gzip").decode()
                assert body == f'<a href="http://a.test:{web.port}/">home</a>'
        site = next(s for s in web.sites if s.name == "a.test")
        assert site.address == web.hosts["a.test"]
        assert [ln.target for ln in site.pages["/"].links] == [
            f"http://a.test:{web.port}/about",
            f"http://b.test:{web.port}/x",
        ]
        edges = web.expected_edges()
        assert (
            f"http://a.test:{web.port}/go",
            ExpectedLink(f"http://b.test:{web.port}/x", kind="redirect"),
        ) in edges
    assert PORT_TOKEN in small_sites()[0].pages["/"].responses[0].body.decode()


async def test_successive_responses_and_reset() -> None:
    async with DemoWeb(small_sites()) as web, client(web) as http:
        statuses = []
        for _ in range(3):
            async with http.get(web.url("a.test", "/flaky")) as r:
                statuses.append(r.status)
        assert statuses == [503, 200, 200]
        web.reset()
        async with http.get(web.url("a.test", "/flaky")) as r:
            assert r.status == 503 and r.headers["Retry-After"] == "1"


async def test_request_log_records_site_time_path_and_connection() -> None:
    async with DemoWeb(small_sites()) as web, client(web) as http:
        before = time.monotonic()
        for path in ("/", "/about", "/nope"):
            async with http.get(web.url("a.test", path), headers={"User-Agent": "probe/1"}) as r:
                await r.read()
        after = time.monotonic()
        hits = web.requests
        assert [h.path for h in hits] == ["/", "/about", "/nope"]
        assert [h.status for h in hits] == [200, 200, 404]
        assert all(before <= h.time <= after for h in hits)
        assert hits[0].time <= hits[1].time <= hits[2].time
        assert {h.site for h in hits} == {"a.test"}
        assert hits[0].host_header == f"a.test:{web.port}"
        assert hits[0].method == "GET" and hits[0].headers["user-agent"] == "probe/1"
        assert len({h.conn for h in hits}) == 1  # one keep-alive connection
        assert hits[0].peer[0].startswith("127.") and hits[0].peer[1] > 0
        assert web.hits("a.test", "/about") == [hits[1]]
        web.clear_log()
        assert web.requests == []


async def test_site_is_found_by_local_address_not_host_header() -> None:
    async with DemoWeb(small_sites()) as web, aiohttp.ClientSession() as http:
        url = f"http://{web.hosts['b.test']}:{web.port}/x"
        async with http.get(url, headers={"Host": "a.test"}) as r:
            assert await r.text() == "<p>b x</p>"
        (hit,) = web.requests
        assert (hit.site, hit.host_header, hit.path) == ("b.test", "a.test", "/x")


async def test_inflight_and_connection_peaks() -> None:
    async with DemoWeb(small_sites()) as web:

        async def fetch(http: aiohttp.ClientSession, site: str) -> None:
            async with http.get(web.url(site, "/slow")) as r:
                await r.read()

        async with client(web) as http:  # no per-host limit: five connections at once
            await asyncio.gather(*(fetch(http, "a.test") for _ in range(5)))
        async with client(web, limit_per_host=1) as http:
            await asyncio.gather(*(fetch(http, "one.test") for _ in range(5)))
        assert web.max_inflight("a.test") == 5
        assert web.max_connections("a.test") == 5
        assert web.max_inflight("one.test") == 1
        assert web.max_connections("one.test") == 1
        assert len({h.conn for h in web.hits("one.test")}) == 1
        assert len({h.conn for h in web.hits("a.test")}) == 5
        assert web.max_connections("down.test") == 0
        assert web.stats()["sites"]["one.test"]["requests"] == 5


async def test_not_listening_host_refuses_connections(tmp_path: Path) -> None:
    async with DemoWeb(small_sites()) as web:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(web.hosts["down.test"], web.port)
        async with client(web) as http:
            with pytest.raises(aiohttp.ClientConnectorError):
                await http.get(web.url("down.test"))
        hosts = web.write_hosts_file(tmp_path / "hosts").read_text().splitlines()
        assert f"{web.hosts['down.test']} down.test" in hosts
        assert f"{web.hosts['a.test']} a.test" in hosts
        assert web.seeds == [web.url(n) for n in ("a.test", "b.test", "one.test", "cal.test")]
        assert all(addr.startswith("127.77.") for addr in web.hosts.values())
        assert len(set(web.hosts.values())) == 5


async def test_calendar_fallback_is_endless() -> None:
    async with DemoWeb(small_sites()) as web, client(web) as http:
        async with http.get(web.url("cal.test", "/calendar/2024-02-28")) as r:
            assert r.status == 200
            assert 'href="/calendar/2024-02-29"' in await r.text()
        async with http.get(web.url("cal.test", "/calendar/2024-02-30")) as r:
            assert r.status == 404


async def test_two_demo_webs_run_side_by_side() -> None:
    sites = small_sites()
    async with DemoWeb(sites) as one, DemoWeb(sites) as two:
        assert one.port != two.port and one.hosts == two.hosts
        for web in (one, two):
            async with client(web) as http, http.get(web.url("b.test", "/x")) as r:
                assert r.status == 200
            assert len(web.requests) == 1


async def test_bind_retries_on_a_port_taken_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.socket
    refused: list[tuple[str, int]] = []

    class Flaky(real):  # type: ignore[misc, valid-type]
        def bind(self, address: tuple[str, int]) -> None:
            if address[0] == "127.77.0.3" and address[1] and not refused:
                refused.append(address)
                raise OSError(errno.EADDRINUSE, "taken")
            super().bind(address)

    monkeypatch.setattr(server.socket, "socket", Flaky)
    async with DemoWeb(small_sites()) as web:
        monkeypatch.setattr(server.socket, "socket", real)
        assert refused and web.hosts["b.test"] == "127.77.0.3"
        async with client(web) as http, http.get(web.url("b.test", "/x")) as r:
            assert r.status == 200


async def test_fixed_port_in_use_is_an_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.77.0.2", 0))
        taken.listen()
        web = DemoWeb(small_sites(), port=taken.getsockname()[1])
        with pytest.raises(DemoWebError):
            await web.start()


def raw_get(address: str, port: int, host: str, path: str = "/") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_runs_in_a_background_thread() -> None:
    with DemoWeb(small_sites()) as web:
        assert raw_get(web.hosts["b.test"], web.port, "b.test", "/x") == (200, b"<p>b x</p>")
        assert [h.path for h in web.requests] == ["/x"]
        address, port = web.hosts["b.test"], web.port
    with pytest.raises(ConnectionRefusedError):
        raw_get(address, port, "b.test", "/x")


def test_runs_as_a_process_and_stops_on_sigterm() -> None:
    with DemoWebProcess(14, 6, seed=3, traps=True, timeout=60) as demo:
        assert demo.ready["pid"] == demo.process.pid  # type: ignore[union-attr]
        assert demo.seeds[0] == demo.url("www.alpha.test")
        assert set(demo.hosts) == {s.name for s in generate(14, 6, seed=3)}
        address = demo.hosts["www.golf.test"]
        status, body = raw_get(address, demo.port, "www.golf.test")
        assert status == 200 and b"Golf" in body
    assert demo.returncode == 0
    assert demo.stats is not None and demo.stats["sites"]["www.golf.test"]["requests"] == 1


def test_module_command_writes_ready_file(tmp_path: Path) -> None:
    ready, hosts = tmp_path / "ready.json", tmp_path / "hosts"
    cmd = [sys.executable, "-P", "-m", "linkgraph.demo.process", "--sites", "3", "--pages", "2"]
    cmd += ["--no-traps", "--ready-file", str(ready), "--hosts-file", str(hosts)]
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        info = json.loads(ready.read_text())
        assert set(info) >= {"port", "hosts", "seeds"} and len(info["hosts"]) == 3
        assert hosts.read_text().count(".test") == 3
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_compression_helpers_round_trip() -> None:
    body = b"<p>hello</p>" * 20
    for encoding in ("gzip", "deflate", "br", "identity"):
        assert decompress(compress(body, encoding), encoding) == body
    assert compress(body, "gzip") == compress(body, "gzip")  # no timestamp inside
    response = Response.encoded(body, "br", Content_Type="text/html")
    assert response.headers == {"Content-Type": "text/html", "Content-Encoding": "br"}
    with pytest.raises(ValueError):
        compress(body, "zstd")


@pytest.mark.parametrize(
    "name",
    ["model", "markup", "server", "web", "process", "traps", "truth", "audit", "sites", "run"],
)
def test_the_examples_in_the_demo_docstrings_run(name: str) -> None:
    module = importlib.import_module(f"linkgraph.demo.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest failures in {name}"


def test_public_surface() -> None:
    assert set(linkgraph.demo.__all__) >= {
        "DemoWeb",
        "DemoWebProcess",
        "DemoSite",
        "DemoPage",
        "Response",
        "Hit",
        "generate",
        "run_demo",
    }
    assert all(hasattr(linkgraph.demo, name) for name in linkgraph.demo.__all__)
    assert linkgraph.demo.generate is generate


# Conditional requests ------------------------------------------------------------------


def conditional_site() -> DemoSite:
    get_only = DemoPage.html("/get-only", "<p>get</p>")
    get_only.allow = ("GET",)
    later = DemoPage.html("/later", "<p>written in generation 2</p>")
    later.last_modified = GENERATION_DATES[2]
    pages = [
        DemoPage.html("/page", "<p>page</p>"),
        DemoPage.html("/bare", "<p>no validators</p>", validators=False),
        get_only,
        later,
        DemoPage.redirect("/moved", "/page"),
        DemoPage.file("/data.json", b"{}", "application/json"),
    ]
    return DemoSite("c.test", pages)


async def test_conditional_requests_answer_304() -> None:
    async with DemoWeb([conditional_site()]) as web, client(web) as http:
        url = web.url("c.test", "/page")

        async def get(headers: dict[str, str], method: str = "GET") -> tuple[int, bytes]:
            async with http.request(method, url, headers=headers) as r:
                return r.status, await r.read()

        async with http.get(url) as r:
            etag, stamp = r.headers["ETag"], r.headers["Last-Modified"]
            assert await r.read() == b"<p>page</p>"
        assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10  # strong
        assert stamp == http_date(GENERATION_DATES[1])
        async with http.get(url, headers={"If-None-Match": etag}) as r:
            assert (r.status, await r.read()) == (304, b"")
            assert (r.headers["ETag"], r.headers["Last-Modified"]) == (etag, stamp)
        assert await get({"If-None-Match": f"W/{etag}"}) == (304, b"")  # weak comparison
        assert await get({"If-None-Match": f'"other", {etag}'}) == (304, b"")
        assert await get({"If-None-Match": "*"}) == (304, b"")
        assert await get({"If-None-Match": '"other"'}) == (200, b"<p>page</p>")
        future = http_date(GENERATION_DATES[2])
        # If-None-Match decides alone when present (RFC 9110 §13.2.2).
        assert (await get({"If-None-Match": '"other"', "If-Modified-Since": future}))[0] == 200
        assert (await get({"If-Modified-Since": stamp}))[0] == 304
        assert (await get({"If-Modified-Since": future}))[0] == 304
        earlier = http_date(GENERATION_DATES[1] - timedelta(seconds=1))
        assert (await get({"If-Modified-Since": earlier}))[0] == 200
        assert (await get({"If-Modified-Since": "yesterday"}))[0] == 200  # not a date: ignored
        assert (await get({"If-None-Match": etag}, "HEAD"))[0] == 304
        assert (await get({"If-None-Match": etag}, "POST"))[0] == 412
        assert (await get({"If-Modified-Since": future}, "POST"))[0] == 200
        assert [h.status for h in web.hits("c.test", "/page")][:3] == [200, 304, 304]

        async with http.get(web.url("c.test", "/bare"), headers={"If-None-Match": "*"}) as r:
            assert r.status == 200 and "ETag" not in r.headers
            assert "Last-Modified" not in r.headers
        bare = web.url("c.test", "/bare")
        async with http.get(bare, headers={"If-Modified-Since": future}) as r:
            assert r.status == 200
        async with http.get(web.url("c.test", "/later")) as r:
            assert r.headers["Last-Modified"] == future
        async with http.get(web.url("c.test", "/later"), headers={"If-Modified-Since": stamp}) as r:
            assert r.status == 200  # modified after the date asked about
        async with http.get(web.url("c.test", "/data.json"), headers={"If-None-Match": "*"}) as r:
            assert r.status == 304  # files have validators too
        for path in ("/moved", "/nope"):  # not 2xx: no validators, conditionals ignored
            target = web.url("c.test", path)
            async with http.get(target, headers={"If-None-Match": "*"}, allow_redirects=False) as r:
                assert r.status in (301, 404) and "ETag" not in r.headers
        async with http.head(web.url("c.test", "/get-only")) as r:
            assert (r.status, r.headers["Allow"]) == (405, "GET")
        async with http.get(web.url("c.test", "/get-only")) as r:
            assert r.status == 200
        assert web.hits("c.test", "/get-only")[0].status == 405
