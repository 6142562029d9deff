"""The demo web: serving, the request log, counters, run modes, and the generated sites."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import lxml.html
import pytest

from crawler.urls import resolve
from linkgraph import demosites, demoweb
from linkgraph.demoweb import (
    CalendarTrap,
    DemoPage,
    DemoSite,
    DemoWeb,
    DemoWebError,
    DemoWebProcess,
    ExpectedLink,
    Response,
    compress,
    decompress,
    describe,
    expected_edges,
    generate,
    site_url,
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
    assert demoweb.PORT_TOKEN in small_sites()[0].pages["/"].responses[0].body.decode()


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

    monkeypatch.setattr(demoweb.socket, "socket", Flaky)
    async with DemoWeb(small_sites()) as web:
        monkeypatch.setattr(demoweb.socket, "socket", real)
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
    cmd = [sys.executable, "-m", "linkgraph.demoweb", "--sites", "3", "--pages", "2"]
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
    assert len(sites) == 40 and len(set(names)) == 40
    assert names[:4] == ["www.alpha.test", "blog.alpha.test", "shop.alpha.test", "old.alpha.test"]
    summary = describe(sites)
    assert summary["sites"] == 40 and summary["listening"] == 39
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


@pytest.mark.parametrize("traps", [True, False])
async def test_ground_truth_matches_the_html(traps: bool) -> None:
    sites = generate(16, 8, seed=5, traps=traps)
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
            dangling.add(link.target.replace(demoweb.PORT_TOKEN, "P"))
    assert dangling == {"http://www.alpha.test:P/missing"}
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


def test_public_surface() -> None:
    assert set(demoweb.__all__) >= {
        "DemoWeb",
        "DemoSite",
        "DemoPage",
        "Response",
        "Hit",
        "generate",
    }
    assert demoweb.generate is demosites.generate
    assert all(hasattr(demoweb, name) for name in demoweb.__all__)
