"""What a live crawl follows, fetches and records: follow rules, encodings, size and time
limits, and address safety, over real sockets.

Scope, caps, redirects and the follow rules themselves are proven on a virtual clock in
``test_follow_rules.py``; the follow rules are also checked here once, through the store.

The sites are declared in each test (the follow-rules site in ``tests/follow_pages.py``, which
``test_follow_rules.py`` crawls too); what must (and must not) be requested is written out
by hand or taken from the demo web's ground truth, then checked against the server's log,
and what must be stored against the store.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import follow_pages
import pytest
from crawl_support import (
    crawl,
    link_page,
    link_records,
    page_hits,
    paths,
    settings_for,
    stored_links,
    stored_pages,
)
from linkgraph.storage.vocab import ROBOTS_NOFOLLOW, ROBOTS_NOINDEX

from linkgraph import api
from linkgraph.demo import (
    DemoPage,
    DemoSite,
    DemoWeb,
    Response,
    site_url,
)

pytestmark = pytest.mark.timeout(60)


def expected_link_set(web: DemoWeb, host: str) -> set[tuple[str, str, str, str, str]]:
    """The ground truth of one host's links, in the shape of ``stored_links``."""
    return {
        (source, link.target, link.anchor, link.kind, link.placement)
        for source, link in web.expected_edges()
        if source.startswith(f"http://{host}:")
    }


def outbound_records(db: Path, source: str) -> dict[str, dict]:
    return {r["target"]: r for r in link_records(db) if r["source"] == source}


# -- follow rules ---------------------------------------------------------------------------

FOLLOW_HOST = follow_pages.HOST


def follow_site() -> DemoSite:
    """The follow-rules site (``tests/follow_pages.py``) as a demo site."""
    pages = []
    for path, (links, head, headers) in follow_pages.PAGES.items():
        targets = []
        for link in links:
            href, _, rel = link.partition(" ")
            targets.append((href, href, tuple(rel.split())))
        pages.append(link_page(FOLLOW_HOST, path, targets, head=head, headers=headers or None))
    return DemoSite(FOLLOW_HOST, pages)


async def test_nofollow_links_are_recorded_not_followed(tmp_path: Path) -> None:
    async with DemoWeb([follow_site()]) as web:
        _, db = await crawl(web, tmp_path)
        requested = set(page_hits_paths(web))
        truth = expected_link_set(web, FOLLOW_HOST)
    every_page = set(follow_site().pages)
    assert requested == every_page - follow_pages.NEVER_FOLLOWED
    assert stored_links(db) == truth  # every link recorded, followed or not
    home = outbound_records(db, web.url(FOLLOW_HOST))
    for path, rel in {"/nf": ["nofollow"], "/sp": ["sponsored"], "/ugc": ["ugc"]}.items():
        record = home[web.url(FOLLOW_HOST, path)]
        assert (record["rel"], record["follow"]) == (rel, False)
    assert home[web.url(FOLLOW_HOST, "/plain")]["follow"] is True
    robots = {
        u.removeprefix(web.url(FOLLOW_HOST)[:-1]): p.robots for u, p in stored_pages(db).items()
    }
    assert robots["/meta-robots"] == robots["/meta-ours"] == robots["/x-robots"] == ROBOTS_NOFOLLOW
    assert robots["/noindex"] == robots["/x-noindex"] == ROBOTS_NOINDEX
    assert robots["/meta-other"] == robots["/x-other"] == robots["/plain"] == 0


def page_hits_paths(web: DemoWeb) -> list[str]:
    return [h.path for h in page_hits(web)]


# -- fetching ------------------------------------------------------------------------------


def content_site() -> DemoSite:
    h = "www.bytes.test"
    latin1 = {"Content-Type": "text/html; charset=ISO-8859-1"}
    home = link_page(
        h,
        "/",
        [
            "/cafe",
            "/gzip",
            "/br",
            "/deflate",
            "/untyped",
            "/report.pdf",
            "/photo.png",
            "/data.json",
            "/notes.txt",
        ],
    )
    cafe = DemoPage.html("/cafe", '<p><a href="/menu">Café menu</a></p>', headers=latin1)
    encoded = [
        DemoPage.html(f"/{name}", f'<a href="/from-{name}">From {name}</a>', encoding=name)
        for name in ("gzip", "br", "deflate")
    ]
    untyped = DemoPage("/untyped", [Response(200, b'<!DOCTYPE html><a href="/from-untyped">u</a>')])
    # Files whose bytes look like links: none of them may be parsed.
    trick = b'<html><a href="/from-file">not a link</a></html>'
    files = [
        DemoPage.file("/report.pdf", b"%PDF-1.4\n" + trick, "application/pdf"),
        DemoPage.file("/photo.png", b"\x89PNG\r\n\x1a\n" + trick, "image/png"),
        DemoPage.file(
            "/data.json", b'{"html": "' + trick.replace(b'"', b"'") + b'"}', "application/json"
        ),
        DemoPage.file("/notes.txt", trick, "text/plain"),
    ]
    leaves = [link_page(h, p, []) for p in ("/menu", "/from-gzip", "/from-br", "/from-deflate")]
    leaves += [link_page(h, "/from-untyped", []), link_page(h, "/from-file", [])]
    return DemoSite(h, [home, cafe, *encoded, untyped, *files, *leaves])


async def test_charsets_encodings_and_files(tmp_path: Path) -> None:
    h = "www.bytes.test"
    async with DemoWeb([content_site()]) as web:
        _, db = await crawl(web, tmp_path)
        requested = set(page_hits_paths(web))
        url = web.url
    assert "/from-file" not in requested
    for path in ("/menu", "/from-gzip", "/from-br", "/from-deflate", "/from-untyped"):
        assert path in requested, path
    links = stored_links(db)
    assert (url(h, "/cafe"), url(h, "/menu"), "Café menu", "link", "content") in links
    for name in ("gzip", "br", "deflate"):
        assert (
            url(h, f"/{name}"),
            url(h, f"/from-{name}"),
            f"From {name}",
            "link",
            "content",
        ) in links
    stored = stored_pages(db)
    types = {
        "/report.pdf": "application/pdf",
        "/photo.png": "image/png",
        "/data.json": "application/json",
        "/notes.txt": "text/plain",
    }
    for path, content_type in types.items():
        page = stored[url(h, path)]
        assert (page.status, page.content_type) == (200, content_type), path
        assert not any(source == url(h, path) for source, *_ in links), path


async def test_size_cap_marks_too_large(tmp_path: Path) -> None:
    h = "www.big.test"
    big = "<p>" + "x" * 20_000 + "</p>"
    bomb = ("<p>" + "y" * 200_000 + "</p>").encode()
    pages = [
        link_page(h, "/", ["/big", "/bomb", "/small"]),
        DemoPage.html("/big", big),
        # Small on the wire, large once decompressed: the cap is on what we hold.
        DemoPage("/bomb", [Response.encoded(bomb, "gzip", Content_Type="text/html")]),
        link_page(h, "/small", []),
    ]
    assert len(gzip.compress(bomb)) < 4_000
    async with DemoWeb([DemoSite(h, pages)]) as web:
        _, db = await crawl(web, tmp_path, max_page_bytes=4_000)
        stored = stored_pages(db)
        url = web.url
    for path in ("/big", "/bomb"):
        page = stored[url(h, path)]
        assert (page.status, page.error) == (200, "too-large"), path
        assert page.size <= 4_000, path
    assert stored[url(h, "/small")].error is None


async def test_timeouts_are_recorded(tmp_path: Path) -> None:
    h = "www.slow.test"
    slow = link_page(h, "/slow", [])
    slow.responses[0].delay = 1.0
    pages = [link_page(h, "/", ["/slow", "/fast"]), slow, link_page(h, "/fast", [])]
    async with DemoWeb([DemoSite(h, pages)]) as web:
        _, db = await crawl(web, tmp_path, read_timeout=0.2, max_retries=1)
        tries = paths(web, h).count("/slow")
        stored = stored_pages(db)
        url = web.url
    assert tries == 1 + 1  # the first try and max_retries retries
    assert (stored[url(h, "/slow")].status, stored[url(h, "/slow")].error) == (None, "timeout")
    assert stored[url(h, "/fast")].status == 200


# -- address safety -------------------------------------------------------------------------------


def safety_sites() -> list[DemoSite]:
    """A public-looking site linking and redirecting to a site on 127.0.0.1.

    The local site is reached as ``127.0.0.1`` (an IP literal) and as ``localhost`` (a
    name the system resolver maps to loopback, not pinned by the test's hosts file).
    """
    h = "www.safe.test"
    inner = [
        site_url("127.0.0.1", "/literal"),
        site_url("localhost", "/by-name"),
        "/redirect-literal",
        "/redirect-name",
    ]
    pages = [
        link_page(h, "/", inner),
        DemoPage.redirect("/redirect-literal", site_url("127.0.0.1", "/via-redirect"), 302),
        DemoPage.redirect("/redirect-name", site_url("localhost", "/via-redirect-name"), 302),
    ]
    local = DemoSite(
        "localhost",
        [
            link_page("localhost", p, [])
            for p in ("/literal", "/by-name", "/via-redirect", "/via-redirect-name")
        ],
        address="127.0.0.1",
        seed=False,
    )
    return [DemoSite(h, pages), local]


LOCAL_PATHS = ["/literal", "/by-name", "/via-redirect", "/via-redirect-name"]


@pytest.mark.parametrize("allow", [False, True])
async def test_private_addresses_are_never_reached_unless_allowed(
    tmp_path: Path, allow: bool
) -> None:
    async with DemoWeb(safety_sites()) as web:
        hosts = web.write_hosts_file(tmp_path / "hosts")
        # Pin only the public-looking site: localhost must go through the system resolver.
        lines = [ln for ln in hosts.read_text().splitlines() if not ln.endswith(" localhost")]
        hosts.write_text("\n".join(lines) + "\n")
        settings = settings_for(web, hosts, scope="any", allow_private_addresses=allow)
        await api.crawl_async(tmp_path / "links.db", settings)
        local = paths(web, "localhost")
        stored = stored_pages(tmp_path / "links.db")
        port = web.port
    local_urls = [f"http://127.0.0.1:{port}{p}" for p in LOCAL_PATHS[::2]]
    local_urls += [f"http://localhost:{port}{p}" for p in LOCAL_PATHS[1::2]]
    if allow:
        assert sorted(p for p in local if p != "/robots.txt") == sorted(LOCAL_PATHS)
        assert all(stored[u].status == 200 for u in local_urls)
    else:
        assert local == []  # not one connection: the server saw nothing
        assert {u: stored[u].error for u in local_urls} == dict.fromkeys(
            local_urls, "blocked-address"
        )
