"""The demo web: serving, the request log, counters, run modes, and the generated sites."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import errno
import http.client
import importlib
import json
import math
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import lxml.html
import pytest
from linkgraph.crawler.extract import extract
from linkgraph.crawler.urls import Scope, registrable_domain, resolve
from linkgraph.storage.records import LOST_REASONS

import linkgraph.demo
from linkgraph.demo import (
    GENERATION_DATES,
    PORT_TOKEN,
    CalendarTrap,
    DemoPage,
    DemoSite,
    DemoWeb,
    DemoWebError,
    DemoWebProcess,
    ExpectedLink,
    Response,
    audit_sites,
    compress,
    decompress,
    describe,
    expected_edges,
    fill_port,
    generate,
    header_value,
    server,
    site_url,
    truth,
)

pytestmark = pytest.mark.timeout(60)

HTML = "text/html; charset=utf-8"


def small_sites() -> list[DemoSite]:
    home = DemoPage.html(
        "/",
        f'<a href="/about">About</a> <a href="{site_url("b.test", "/x")}">B</a>',
        [ExpectedLink("/about", "About"), ExpectedLink(site_url("b.test", "/x"), "B")],
    )
    flaky = DemoPage(
        "/flaky",
        [
            Response(503, b"busy", {"Retry-After": "1"}),
            Response(200, b"ok", {"Content-Type": HTML}),
        ],
    )
    a = DemoSite(
        "a.test",
        [
            home,
            DemoPage.html("/about", "<p>about a</p>"),
            DemoPage.html("/search?q=1", "<p>query</p>"),
            flaky,
            DemoPage.redirect("/go", site_url("b.test", "/x"), 302),
            DemoPage("/untyped", [Response(200, b"<!DOCTYPE html><p>no type</p>")]),
            DemoPage.html("/gz", f'<a href="{site_url("a.test")}">home</a>', encoding="gzip"),
            DemoPage.html("/slow", "<p>slow</p>", delay=0.3),
        ],
        robots=DemoPage.robots("User-agent: *\nDisallow: /private/\n"),
    )
    b = DemoSite("b.test", [DemoPage.html("/x", "<p>b x</p>"), DemoPage.html("/", "<p>b</p>")])
    one = DemoSite("one.test", [DemoPage.html("/slow", "<p>slow</p>", delay=0.2)])
    down = DemoSite("down.test", listening=False)
    cal = DemoSite("cal.test", fallback=CalendarTrap("cal.test"))
    return [a, b, one, down, cal]


@contextlib.asynccontextmanager
async def client(
    web: DemoWeb, limit_per_host: int = 0, **kw: object
) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(resolver=web.resolver(), limit_per_host=limit_per_host)
    async with aiohttp.ClientSession(connector=connector, **kw) as session:  # type: ignore[arg-type]
        yield session


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


# The generated web ---------------------------------------------------------------------


def test_generate_is_deterministic() -> None:
    assert generate(40, 12, seed=7) == generate(40, 12, seed=7)
    assert generate(40, 12, seed=7) != generate(40, 12, seed=8)
    assert generate(20, 5, seed=1, traps=False) == generate(20, 5, seed=1, traps=False)
    with pytest.raises(ValueError):
        generate(5)


def test_generated_web_shape() -> None:
    sites = generate(40, 12)
    names = [s.name for s in sites]
    audit = [s.name for s in audit_sites()]
    assert names[40:] == audit  # the fixed audit sites come after the n_sites hosts
    assert len(set(names)) == len(names) == 40 + len(audit)
    assert names[:4] == ["www.alpha.test", "blog.alpha.test", "shop.alpha.test", "old.alpha.test"]
    summary = describe(sites)
    assert summary["sites"] == 40 + len(audit) and summary["listening"] == 39 + len(audit) - 1
    assert summary["domains"] < summary["sites"]  # several hosts per registrable domain
    assert summary["cross_site_links"] > 1000 and summary["nofollow_links"] > 50
    for trap in ("robots-500", "crawl-delay-60", "redirect-loop", "calendar-trap", "latin-1"):
        assert trap in summary["traps"]
    # In-degree has structure: the hubs collect far more links than the median site.
    indegree = {n: 0 for n in names}
    for source, link in expected_edges(sites):
        host = link.target.split("/")[2].split(":")[0]
        if host in indegree and host != source.split("/")[2].split(":")[0]:
            indegree[host] += 1
    counts = sorted(indegree.values())
    hubs = [s.name for s in sites if s.note == "hub"]
    assert hubs and min(indegree[h] for h in hubs) > 3 * counts[len(counts) // 2]
    bench = generate(30, 8, traps=False)
    assert describe(bench)["traps"] == ["hub"] and all(s.listening for s in bench)
    assert all(s.fallback is None and s.robots is not None for s in bench)
    assert all(
        r.delay == 0 and r.status < 300
        for s in bench
        for p in s.pages.values()
        for r in p.responses
    )


def html_links(body: str, page_url: str) -> list[ExpectedLink]:
    """Extract links the way a careful crawler would, as an independent check."""
    tree = lxml.html.document_fromstring(body)
    base = page_url
    for element in tree.iter("base"):
        base = resolve(element.get("href"), page_url) or page_url
        break
    found = []
    for element in tree.iter("a", "link"):
        href = element.get("href")
        if element.tag == "link":
            if element.get("rel") == "canonical":
                found.append(ExpectedLink(resolve(href, base) or "", kind="canonical"))
            continue
        target = resolve(href, base)
        if href is None or target is None:
            continue  # mailto: and friends are not web links
        placement = "content"
        for ancestor in element.iterancestors():
            tag = ancestor.tag
            if tag == "section" and ancestor.get("id") == "comments":
                tag = "comments"
            mapped = {"header": "header", "nav": "nav", "aside": "sidebar", "footer": "footer"}
            if tag == "comments" or tag in mapped:
                placement = mapped.get(tag, tag)
                break
        images = element.findall(".//img")
        text = " ".join(element.text_content().split())
        image = bool(images) and not text
        anchor = images[0].get("alt", "") if image else text
        rel = tuple((element.get("rel") or "").split())
        found.append(ExpectedLink(target, anchor, rel, placement, image))
    return found


def page_text(response: Response) -> str | None:
    ctype = response.headers.get("Content-Type")
    if ctype is not None and not ctype.startswith("text/html"):
        return None
    body = decompress(response.body, response.headers.get("Content-Encoding", "identity"))
    charset = ctype.split("charset=")[1] if ctype and "charset=" in ctype else "utf-8"
    return body.decode(charset)


@pytest.mark.parametrize(("traps", "generation"), [(True, 1), (True, 2), (False, 1)])
async def test_ground_truth_matches_the_html(traps: bool, generation: int) -> None:
    sites = generate(16, 8, seed=5, traps=traps, generation=generation)
    async with DemoWeb(sites) as web:
        checked = 0
        for site in web.sites:
            for path, page in site.pages.items():
                url = web.url(site.name, path)
                final = page.responses[-1]
                if 300 <= final.status < 400:
                    (link,) = page.links
                    assert resolve(final.headers["Location"], url) == link.target
                    continue
                text = page_text(final)
                if text is None:
                    assert page.links == []
                    continue
                assert html_links(text, url) == page.links, url
                checked += 1
        assert checked > 100
        assert len(web.expected_edges()) == sum(
            len(p.links) for s in web.sites for p in s.pages.values()
        )


async def test_generated_links_point_at_pages_that_exist() -> None:
    sites = generate(40, 12)
    web = DemoWeb(sites)
    by_name = {s.name: s for s in sites}
    dangling = set()
    for _source, link in expected_edges(sites):
        host, _, rest = link.target.removeprefix("http://").partition("/")
        site = by_name.get(host.split(":")[0])
        if site is None or not site.listening:
            continue
        path = "/" + rest
        if path not in site.pages and not (site.fallback and site.fallback(path)):
            dangling.add(link.target.replace(PORT_TOKEN, "P"))
    broken = {b.target for b in truth.BROKEN_LINKS} - {
        site_url(truth.TARGET, "/old-catalogue")
    }  # a 410
    assert dangling == {"http://www.alpha.test:P/missing"} | {
        b.replace(PORT_TOKEN, "P") for b in broken
    }
    # Pages the crawler must reach only by a rule: linked from one nofollow page, or nowhere.
    linked_from: dict[str, set[str]] = {}
    for source, link in expected_edges(sites):
        linked_from.setdefault(link.target.split("/", 3)[3], set()).add(source.split("/", 3)[3])
    assert linked_from["behind-meta-robots"] == {"meta-nofollow"}
    assert linked_from["behind-meta-linkgraph"] == {"meta-linkgraph"}
    assert not {"orphan/1", "orphan/2", "orphan/3", "commented-out", "from-script"} & set(
        linked_from
    )
    assert web.hosts["old.alpha.test"]  # in the hosts file although nothing listens
    bench = generate(30, 8, seed=3, traps=False)
    pages = {(s.name, path) for s in bench for path in s.pages}
    for _source, link in expected_edges(bench):
        host, _, rest = link.target.removeprefix("http://").partition("/")
        assert (host.split(":")[0], "/" + rest) in pages, link


async def test_generated_web_is_served() -> None:
    sites = generate(12, 6, seed=2)
    async with DemoWeb(sites) as web, client(web, auto_decompress=False) as http:

        async def fetch(site: DemoSite, path: str) -> None:
            async with http.get(web.url(site.name, path), allow_redirects=False) as r:
                body = await r.read()
            page = site.pages[path]
            assert r.status == page.responses[0].status, (site.name, path)
            if r.status == 200:
                assert body == page.responses[0].body

        sites_served = [s for s in web.sites if s.listening]
        await asyncio.gather(*(fetch(s, p) for s in sites_served for p in s.pages))
        async with http.get(web.url("news.bravo.test", "/busy")) as r:
            assert r.status == 200  # the 429 came first, then 200 for good
        async with http.get(web.url("www.charlie.test", "/robots.txt")) as r:
            assert r.status == 500
        async with http.get(web.url("www.bravo.test", "/cafe")) as r:
            assert r.headers["Content-Type"] == "text/html; charset=ISO-8859-1"
            assert "Café menu".encode("latin-1") in await r.read()
        async with http.get(web.url("www.bravo.test", "/brotli")) as r:
            assert r.headers["Content-Encoding"] == "br"
            assert f":{web.port}/".encode() in decompress(await r.read(), "br")
        assert web.requests and not any(h.site == "old.alpha.test" for h in web.requests)


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


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


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


def served_pages(web: DemoWeb) -> list[tuple[DemoSite, str]]:
    """Every declared page of the listening sites answering 200 at once, every time."""
    return [
        (site, path)
        for site in web.sites
        if site.listening
        for path, page in site.pages.items()
        if len(page.responses) == 1
        and page.responses[0].status == 200
        and not page.responses[0].delay
    ]


async def test_generation_switch_in_place() -> None:
    async with DemoWeb(generate(12, 6, seed=1)) as web, client(web) as http:
        port, hosts, pages = web.port, dict(web.hosts), served_pages(web)

        async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
            async with http.get(url, headers=headers, allow_redirects=False) as r:
                return r.status, (r.headers.copy(), await r.read())

        urls = [web.url(site.name, path) for site, path in pages]
        first = dict(zip(urls, await asyncio.gather(*(fetch(u) for u in urls)), strict=True))
        assert all(status == 200 for status, _ in first.values())
        web.replace_sites(generate(12, 6, seed=1, generation=2))
        assert (web.port, web.hosts) == (port, hosts)
        assert web.url(truth.TARGET) in web.seeds

        async def again(url: str) -> tuple[int, Any]:
            old = first[url][1][0]
            return await fetch(url, {"If-None-Match": old["ETag"]} if "ETag" in old else None)

        second = dict(zip(urls, await asyncio.gather(*(again(u) for u in urls)), strict=True))
        changed = {truth.fill(c.source, port) for c in truth.CHANGES}
        no_validators = {web.url(truth.TARGET, "/size-guide")}
        assert {u for u, (status, _) in second.items() if status != 304} == changed | no_validators
        statuses = {"page-404": 404, "page-410": 410, "page-redirects": 301, "fetch-error": 500}
        for c in truth.CHANGES:
            url = truth.fill(c.source, port)
            status, (headers, body) = second[url]
            assert status == statuses.get(c.reason, 200), c
            if status == 200:  # changed in place: new body, new ETag, new Last-Modified
                assert headers["ETag"] != first[url][1][0]["ETag"] and body != first[url][1][1]
                assert headers["Last-Modified"] == http_date(GENERATION_DATES[2])
        # Unchanged pages keep their Last-Modified too: If-Modified-Since still gives 304.
        unchanged = [u for u in urls if u not in changed | no_validators]
        stamp = http_date(GENERATION_DATES[1])
        assert {first[u][1][0]["Last-Modified"] for u in unchanged} == {stamp}
        since = await asyncio.gather(*(fetch(u, {"If-Modified-Since": stamp}) for u in unchanged))
        assert {status for status, _ in since} == {304}
        status, (headers, _) = await fetch(
            web.url(truth.TARGET, "/size-guide"), {"If-None-Match": "*"}
        )
        assert status == 200 and "ETag" not in headers
        expected = {(s, ln.target) for s, ln in web.expected_edges() if ln.kind == "link"}
        new = [c for c in truth.CHANGES if c.reason == "new"]
        assert new and all(
            (truth.fill(c.source, port), truth.fill(c.target, port)) in expected for c in new
        )


def host_of(url: str) -> str:
    return url.split("/")[2].rsplit(":", 1)[0]


def page_at(sites: list[DemoSite], url: str) -> DemoPage:
    host, path = url.removeprefix("http://").split("/", 1)
    return next(s for s in sites if s.name == host.split(":")[0]).pages["/" + path]


def link_pairs(sites: list[DemoSite]) -> set[tuple[str, str]]:
    return {(s, ln.target) for s, ln in expected_edges(sites) if ln.kind == "link"}


def test_changes_match_the_two_generations() -> None:
    one, two = generate(12, 6, seed=1), generate(12, 6, seed=1, generation=2)
    assert [s.name for s in one] == [s.name for s in two]
    e1, e2 = link_pairs(one), link_pairs(two)
    assert {c.reason for c in truth.CHANGES} == {
        *LOST_REASONS,
        "new",
    }  # every reason, once at least
    page_level = {c.source for c in truth.CHANGES if c.target is None}
    assert all(
        c.reason in LOST_REASONS and c.reason != "removed"
        for c in truth.CHANGES
        if c.target is None
    )
    removed = {(c.source, c.target) for c in truth.CHANGES if c.reason == "removed"}
    new = {(c.source, c.target) for c in truth.CHANGES if c.reason == "new"}
    # Apart from pages that stop counting as a whole, the links differ by exactly truth.CHANGES.
    assert {pair for pair in e1 - e2 if pair[0] not in page_level} == removed
    assert {pair for pair in e2 - e1 if pair[0] not in page_level} == new
    sources_1 = {s for s, _ in e1}
    for c in truth.CHANGES:
        assert c.source in sources_1  # the page existed, so a recrawl refetches it
        page = page_at(two, c.source)
        response = page.responses[-1]
        assert page.note  # generation 2 names the change on the page
        if c.reason in ("removed", "new", "page-noindex", "canonical-moved"):
            assert response.status == 200
        if c.target is None:  # it had backlinks of the target to lose
            assert any(s == c.source and truth.TARGET in t for s, t in e1)
        body = page_text(response) or ""
        expected = {"page-404": 404, "page-410": 410, "page-redirects": 301, "fetch-error": 500}
        if c.reason in expected:
            assert response.status == expected[c.reason]
        if c.reason == "page-redirects":
            assert page.links[0].kind == "redirect" and response.headers["Location"] == "/deals/"
        if c.reason == "page-noindex":
            assert '<meta name="robots" content="noindex">' in body
            assert "noindex" not in (page_text(page_at(one, c.source).responses[-1]) or "")
        if c.reason == "canonical-moved":
            (canonical,) = [ln for ln in page.links if ln.kind == "canonical"]
            assert canonical.target != c.source
            assert not [ln for ln in page_at(one, c.source).links if ln.kind == "canonical"]
            assert canonical.target in sources_1  # it names a page that exists
    # A new referring domain: it links the target only in generation 2.
    target = registrable_domain(truth.TARGET)

    def referrers(pairs: set[tuple[str, str]]) -> set[str]:
        return {host_of(s) for s, t in pairs if registrable_domain(host_of(t)) == target}

    assert truth.NEW_REFERRER in referrers(e2) - referrers(e1)
    # Nothing else changed: same bodies, same Last-Modified, everywhere else.
    changed = {c.source for c in truth.CHANGES}
    for site_1, site_2 in zip(one, two, strict=True):
        assert set(site_1.pages) == set(site_2.pages)
        for path, page in site_1.pages.items():
            other = site_2.pages[path]
            url = site_url(site_1.name, path)
            assert (page.responses != other.responses) == (url in changed), url
            stamp = GENERATION_DATES[2 if url in changed else 1]
            assert (page.last_modified, other.last_modified) == (GENERATION_DATES[1], stamp)
    assert generate(20, 6, traps=False, generation=2) == generate(20, 6, traps=False)
    with pytest.raises(ValueError):
        generate(12, 6, generation=3)


async def test_replace_sites_needs_the_same_hosts() -> None:
    sites = small_sites()
    async with DemoWeb(sites) as web:
        with pytest.raises(ValueError):
            web.replace_sites(sites[:-1])
        with pytest.raises(ValueError):
            web.replace_sites([*sites[:-1], DemoSite("cal.test", listening=False)])
        b = DemoSite("b.test", [DemoPage.html("/x", "<p>b x, later</p>")])
        web.replace_sites([b if s.name == "b.test" else s for s in sites])
        async with client(web) as http, http.get(web.url("b.test", "/x")) as r:
            assert await r.text() == "<p>b x, later</p>"
        async with client(web) as http, http.get(web.url("b.test", "/")) as r:
            assert r.status == 404


# The audit sites -------------------------------------------------------------------------


def test_link_farm_is_a_clique_with_money_anchors() -> None:
    sites = audit_sites()
    edges = expected_edges(sites)
    farm = {registrable_domain(h) for h in truth.FARM}
    assert len(farm) == 5
    pairs = {
        (registrable_domain(host_of(s)), registrable_domain(host_of(ln.target)))
        for s, ln in edges
        if ln.kind == "link"
    }
    for a in farm:
        for b in farm - {a}:
            assert (a, b) in pairs and (b, a) in pairs  # mutual, every pair
    by_name = {s.name: s for s in sites}
    for host in truth.FARM:
        pages = by_name[host].pages
        assert len(pages) > 30
        for path, page in pages.items():  # sitewide: every page links every partner
            footer = {host_of(ln.target) for ln in page.links if ln.placement == "footer"}
            assert footer == set(truth.FARM) - {host}, path
        money = {
            ln.anchor
            for p in pages.values()
            for ln in p.links
            if host_of(ln.target) == truth.TARGET
        }
        assert set(truth.KEYWORDS) <= money
        outlinks = [ln for ln in pages["/links"].links if ln.kind == "link"]
        assert len(outlinks) >= 150
        assert sum(host_of(ln.target) != host for ln in outlinks) >= 100
        assert by_name[host].seed and by_name[host].note == "link-farm"


def test_audit_target_has_a_realistic_anchor_mix() -> None:
    sites = audit_sites()
    into = [
        (s, ln)
        for s, ln in expected_edges(sites)
        if ln.kind == "link" and host_of(ln.target) == truth.TARGET and host_of(s) != truth.TARGET
    ]
    anchors = {ln.anchor for _, ln in into}
    assert {
        truth.BRAND,
        "www.acme-shoes.test",
        "click here",
        "read more",
        *truth.KEYWORDS,
    } <= anchors
    assert "best running shoes for beginners" in anchors  # partial match
    assert "" in {ln.anchor for _, ln in into if not ln.image}  # an empty anchor
    assert any(ln.image and ln.anchor for _, ln in into)  # an image link with its alt
    rels = {r for _, ln in into for r in ln.rel}
    assert {"sponsored", "ugc", "nofollow"} <= rels
    placements = {ln.placement for _, ln in into}
    assert {"content", "footer", "comments"} <= placements
    assert len({registrable_domain(host_of(s)) for s, _ in into}) >= 10
    # Sitewide: every page of the club links the target from its footer.
    club = next(s for s in sites if s.name == truth.SITEWIDE)
    for page in club.pages.values():
        assert any(
            host_of(ln.target) == truth.TARGET and ln.placement == "footer" for ln in page.links
        )
    # Reciprocal: the target links back to one of its linkers.
    assert any(host_of(s) == truth.RECIPROCAL for s, _ in into)
    assert any(
        host_of(s) == truth.TARGET and host_of(ln.target) == truth.RECIPROCAL
        for s, ln in expected_edges(sites)
    )


def visible_text(page: DemoPage) -> str | None:
    text = page_text(page.responses[-1])
    if text is None or page.responses[-1].status != 200:
        return None
    return " ".join(lxml.html.document_fromstring(text).body.text_content().split())


@pytest.mark.parametrize("generation", [1, 2])
def test_brand_mentions_are_as_declared(generation: int) -> None:
    sites = generate(12, 6, seed=1, generation=generation)
    linking = {
        s
        for s, ln in expected_edges(sites)
        if ln.kind == "link" and host_of(ln.target) == truth.TARGET
    }
    found = {
        site_url(site.name, path)
        for site in sites
        if site.listening and site.name != truth.TARGET
        for path, page in site.pages.items()
        if truth.BRAND in (visible_text(page) or "")
    }
    mentions = truth.MENTIONS[generation]
    assert found == set(mentions.linked) | set(mentions.unlinked)
    assert set(mentions.linked) <= linking
    assert not set(mentions.unlinked) & linking and len(mentions.unlinked) >= 3
    facts = describe(sites)
    assert facts["brand_mentions"] == len(found)
    assert facts["unlinked_mentions"] == len(mentions.unlinked)


def test_topical_text_separates_relevant_from_unrelated_sites() -> None:
    """TF-IDF (sites as documents) puts running sites near the target, the others far."""
    sites = [s for s in audit_sites() if s.listening]
    counts = {
        s.name: Counter(
            re.findall(
                r"[a-z]{3,}", " ".join(visible_text(p) or "" for p in s.pages.values()).lower()
            )
        )
        for s in sites
    }
    df = Counter(word for c in counts.values() for word in c)

    def vector(host: str) -> dict[str, float]:
        idf = {w: math.log(len(counts) / df[w]) for w in counts[host]}
        return {w: (1 + math.log(n)) * idf[w] for w, n in counts[host].items()}

    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        dot = sum(v * b.get(w, 0.0) for w, v in a.items())
        return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))

    target = vector(truth.TARGET)
    relevant = [cosine(vector(h), target) for h in truth.RELEVANT]
    unrelated = [cosine(vector(h), target) for h in truth.UNRELATED]
    assert min(relevant) > 0.08 and max(unrelated) < 0.03, (relevant, unrelated)


async def test_broken_and_external_links_answer_as_declared() -> None:
    sites = generate(12, 6, seed=1)
    edges = {(s, ln.target) for s, ln in expected_edges(sites)}
    async with DemoWeb(sites) as web, client(web) as http:
        for link in truth.BROKEN_LINKS + truth.EXTERNAL_LINKS:
            assert (link.source, link.target) in edges
            if link.status is None:
                with pytest.raises(aiohttp.ClientConnectorError):
                    await http.get(truth.fill(link.target, web.port))
                continue
            async with http.get(truth.fill(link.target, web.port), allow_redirects=False) as r:
                assert r.status == link.status, link
        async with http.head(web.url(truth.EXTERNAL, "/no-head")) as r:
            assert r.status == 405 and r.headers["Allow"] == "GET"
        scope = Scope("domain", web.seeds)
        assert scope.allows_host(truth.TARGET) and scope.allows_host(truth.FARM[0])
        assert not scope.allows_host(truth.EXTERNAL) and not scope.allows_host(truth.REFUSED)
        assert web.hosts[truth.REFUSED]  # in the hosts file, although nothing listens


def test_the_ground_truth_of_every_generated_page_is_what_extract_finds_in_it() -> None:
    # The expected links are the records a crawl stores, so on every HTML page of the
    # generated web (both generations) the extractor's links equal the page's ground truth.
    pages = 0
    for generation in (1, 2):
        for site in generate(12, 6, seed=1, generation=generation):
            origin = f"http://{site.name}:8000"
            for page in site.pages.values():
                page = fill_port(page, origin, "8000")
                response = page.responses[-1]
                ctype = header_value(response.headers, "Content-Type") or ""
                if response.status != 200 or not ctype.startswith("text/html"):
                    continue
                encoding = header_value(response.headers, "Content-Encoding") or "identity"
                charset = ctype.partition("charset=")[2] or "utf-8"
                html = decompress(response.body, encoding).decode(charset)
                found = extract(html, origin + page.path).links
                assert found == [ln for ln in page.links if ln.kind == "link"], origin + page.path
                pages += 1
    assert pages > 500


def test_describe_counts_the_audit_content() -> None:
    facts = describe(generate(12, 6, seed=1))
    assert facts["farm_sites"] == len(truth.FARM) and facts["pages_without_validators"] == 1
    assert facts["target_backlinks"] > 30 and facts["target_referring_domains"] >= 10
    # alpha's /missing, /gone and old.alpha.test, then the audit's broken and external links
    external = sum(link.status is None or link.status >= 400 for link in truth.EXTERNAL_LINKS)
    assert facts["broken_links"] == 3 + len(truth.BROKEN_LINKS) + external
    bench = describe(generate(20, 6, traps=False))
    assert bench["farm_sites"] == bench["target_backlinks"] == bench["brand_mentions"] == 0
