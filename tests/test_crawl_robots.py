"""robots.txt in a live crawl (RFC 9309): what is never requested, and in which order.

Each test declares its sites, crawls them with the real engine, and checks the server's
request log: a disallowed URL must never appear in it, robots.txt must come first on its
origin, and an origin whose robots.txt cannot be read gets nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_support import (
    crawl,
    gaps,
    link_page,
    page_hits,
    paths,
    site,
    stored_pages,
)

from linkgraph.demo import DemoPage, DemoSite, DemoWeb, Response, site_url

pytestmark = pytest.mark.timeout(60)


def pages_of(host: str, allowed: list[str], disallowed: list[str]) -> list[DemoPage]:
    """A home page linking to every path, and each path as a leaf page."""
    home = link_page(host, "/", [*allowed, *disallowed])
    return [home, *(link_page(host, p, []) for p in allowed + disallowed)]


# The rules and which of the linked paths they allow for ``linkgraph``, worked out by hand
# from RFC 9309 §2.2.1 (group selection) and §2.2.2 (longest match, Allow wins a tie).
RULES = """\
User-agent: *
Disallow: /star-only/

User-agent: otherbot
Disallow: /

User-agent: LinkGraph
Disallow: /ours/
Allow: /ours/public/
Disallow: /*.pdf$
Disallow: /search?
Disallow: /tmp*/deep
Allow: /tie
Disallow: /tie
"""
ALLOWED = [
    "/star-only/page",  # our group replaces the * group entirely
    "/ours/public/page",  # the longer Allow beats the shorter Disallow
    "/files/a.pdf?x=1",  # $ anchors the end: a query is more than ".pdf"
    "/files/a.pdfx",
    "/search",  # "/search?" needs the question mark
    "/tmp1/shallow",
    "/tie",  # equal length: Allow wins
    "/other",
]
DISALLOWED = ["/ours/secret", "/files/a.pdf", "/search?q=shoes", "/tmp1/deep", "/tmpx/deep"]


async def test_disallowed_urls_are_never_requested(tmp_path: Path) -> None:
    sites = [site("www.rules.test", pages_of("www.rules.test", ALLOWED, DISALLOWED), robots=RULES)]
    async with DemoWeb(sites) as web:
        _, db = await crawl(web, tmp_path)
        requested = paths(web, "www.rules.test")
        stored = stored_pages(db)
    assert requested[0] == "/robots.txt" and requested.count("/robots.txt") == 1
    assert sorted(requested[1:]) == sorted(["/", *ALLOWED])
    for path in DISALLOWED:
        page = stored[web.url("www.rules.test", path)]
        assert (page.status, page.error) == (None, "robots"), path
    for path in ALLOWED:
        assert stored[web.url("www.rules.test", path)].status == 200, path


async def test_another_bots_group_is_not_ours(tmp_path: Path) -> None:
    """Only ``*`` applies when no group names us, however strict the others are."""
    robots = "User-agent: googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n"
    pages = pages_of("www.star.test", ["/public"], ["/private/x"])
    async with DemoWeb([site("www.star.test", pages, robots=robots)]) as web:
        await crawl(web, tmp_path)
        assert sorted(paths(web, "www.star.test")) == ["/", "/public", "/robots.txt"]


async def test_robots_comes_first_and_once_even_with_many_urls_queued(tmp_path: Path) -> None:
    many = [f"/p/{i}" for i in range(40)]
    sites = [
        site(
            name,
            [link_page(name, "/", many), *(link_page(name, p, many[:5]) for p in many)],
            robots="User-agent: *\nDisallow: /private/\n",
        )
        for name in ("www.one.test", "www.two.test", "blog.two.test")
    ]
    async with DemoWeb(sites) as web:
        # Forty seeds per host: every URL of a host is queued before its first request.
        seeds = [web.url(s.name, p) for s in sites for p in ["/", *many]]
        stats, _ = await crawl(web, tmp_path, seeds=seeds, concurrency=20, delay=0.0)
        for s in sites:
            requested = paths(web, s.name)
            assert requested[0] == "/robots.txt", s.name
            assert requested.count("/robots.txt") == 1, s.name
            assert len(requested) == 1 + 1 + len(many)
            assert web.max_inflight(s.name) == 1
    assert stats.robots_fetches == len(sites)


@pytest.mark.parametrize("status", [401, 403, 404, 410])
async def test_robots_4xx_allows_everything(tmp_path: Path, status: int) -> None:
    robots = DemoPage("/robots.txt", [Response(status, b"User-agent: *\nDisallow: /\n")])
    pages = pages_of("www.open.test", ["/private/account", "/a"], [])
    async with DemoWeb([site("www.open.test", pages, robots=robots)]) as web:
        _, db = await crawl(web, tmp_path)
        assert sorted(paths(web, "www.open.test")) == ["/", "/a", "/private/account", "/robots.txt"]
    assert all(p.status == 200 for p in stored_pages(db).values())


@pytest.mark.parametrize("status", [500, 503, 429, None])
async def test_unreachable_robots_disallows_everything(tmp_path: Path, status: int | None) -> None:
    """5xx, 429 and no connection at all: robots.txt retried a bounded number of times,
    nothing else requested, every URL recorded as ``robots-unavailable`` (§2.3.1.4)."""
    name = "www.down.test"
    if status is None:
        down = DemoSite(name, listening=False)
    else:
        robots = DemoPage.robots("User-agent: *\nAllow: /\n", status)
        down = site(name, pages_of(name, ["/a"], []), robots=robots)
    fine = site("www.fine.test", pages_of("www.fine.test", ["/a"], []))
    async with DemoWeb([down, fine]) as web:
        seeds = [web.url(name), web.url(name, "/a"), web.url(name, "/b"), web.url("www.fine.test")]
        stats, db = await crawl(
            web, tmp_path, seeds=seeds, robots_retries=2, robots_retry_seconds=0.3
        )
        tries = web.hits(name)
        assert paths(web, "www.fine.test")[:1] == ["/robots.txt"]
    stored = stored_pages(db)
    if status is not None:
        assert [h.path for h in tries] == ["/robots.txt"] * 3  # the first try and 2 retries
        assert all(g >= 0.3 - 0.01 for g in gaps(tries))
    assert stats.robots_fetches == 3 + 1
    for url in seeds[:3]:
        assert (stored[url].status, stored[url].error) == (None, "robots-unavailable")
    assert stored[seeds[3]].status == 200
    assert "robots.txt unavailable" in stats.host_notes[name]


async def test_robots_redirect_is_followed(tmp_path: Path) -> None:
    name = "www.moved.test"
    pages = pages_of(name, ["/open"], ["/secret/plan"])
    pages.append(DemoPage.robots("User-agent: *\nDisallow: /secret/\n"))
    pages[-1].path = "/real-robots.txt"
    robots = DemoPage.redirect("/robots.txt", "/real-robots.txt")
    async with DemoWeb([site(name, pages, robots=robots)]) as web:
        _, db = await crawl(web, tmp_path, delay=0.3)
        requested = web.hits(name)
    assert [h.path for h in requested[:2]] == ["/robots.txt", "/real-robots.txt"]
    assert sorted(h.path for h in requested[2:]) == ["/", "/open"]
    assert stored_pages(db)[web.url(name, "/secret/plan")].error == "robots"
    # The redirect hop is a request to the host like any other: the delay applies to it.
    assert min(gaps(requested)) >= 0.3 - 0.01


async def test_sitemap_urls_are_queued(tmp_path: Path) -> None:
    name = "www.maps.test"
    orphans = [f"/orphan/{i}" for i in range(1, 4)]

    def urlset(*locs: str) -> bytes:
        entries = "".join(f"<url><loc>{site_url(name, p)}</loc></url>" for p in locs)
        ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return f'<?xml version="1.0"?><urlset xmlns="{ns}">{entries}</urlset>'.encode()

    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site_url(name, '/sitemap-1.xml')}</loc></sitemap></sitemapindex>"
    ).encode()
    pages = [
        link_page(name, "/", ["/a"]),
        link_page(name, "/a", []),
        DemoPage.file("/sitemap-index.xml", index, "application/xml"),
        DemoPage.file("/sitemap-1.xml", urlset(*orphans, "/private/x"), "application/xml"),
        *(link_page(name, p, []) for p in orphans),
    ]
    robots = (
        f"User-agent: *\nDisallow: /private/\nSitemap: {site_url(name, '/sitemap-index.xml')}\n"
    )
    async with DemoWeb([site(name, pages, robots=robots)]) as web:
        _, db = await crawl(web, tmp_path)
        with_maps = sorted(paths(web, name))
        web.reset()
        await crawl(web, tmp_path, db="nomaps.db", sitemaps=False)
        without = sorted(paths(web, name))
    assert with_maps == sorted(
        ["/robots.txt", "/", "/a", "/sitemap-index.xml", "/sitemap-1.xml", *orphans]
    )
    assert without == ["/", "/a", "/robots.txt"]
    assert stored_pages(db)[web.url(name, "/private/x")].error == "robots"


@pytest.mark.parametrize("robots_retries", [0, 3])
async def test_robots_is_fetched_again_when_its_cache_expires(
    tmp_path: Path, robots_retries: int
) -> None:
    """§2.4: rules are cached for at most ``robots_cache_seconds``; then fetched again,
    and the new rules apply to what is requested after."""
    name = "www.change.test"
    leaves = [f"/p/{i}" for i in range(8)]
    robots = DemoPage(
        "/robots.txt",
        [
            Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"}),
            Response(200, b"User-agent: *\nDisallow: /p/\n", {"Content-Type": "text/plain"}),
        ],
    )
    pages = [link_page(name, "/", leaves), *(link_page(name, p, []) for p in leaves)]
    async with DemoWeb([site(name, pages, robots=robots)]) as web:
        _, db = await crawl(
            web, tmp_path, delay=0.15, robots_cache_seconds=0.5, robots_retries=robots_retries
        )
        requested = paths(web, name)
    assert requested.count("/robots.txt") == 2
    second = requested.index("/robots.txt", 1)
    # Nothing under /p/ after the second robots.txt said no; what remained is recorded.
    assert all(not p.startswith("/p/") for p in requested[second:])
    refused = [u for u, p in stored_pages(db).items() if p.error == "robots"]
    assert refused and len(refused) + len(page_hits(web, name)) == 1 + len(leaves)


async def test_a_robots_txt_cut_at_the_limit_keeps_its_last_complete_line(tmp_path: Path) -> None:
    """§2.5: a body longer than ``robots_max_bytes`` is read up to the limit, and a line
    whose end is the first octet past the limit is complete: its rule applies."""
    name = "www.long.test"
    head = "User-agent: *\nDisallow: /private/"
    robots = head + "\n" + "# padding\n" * 50
    pages = pages_of(name, ["/public"], ["/private/x"])
    async with DemoWeb([site(name, pages, robots=robots)]) as web:
        _, db = await crawl(web, tmp_path, robots_max_bytes=len(head.encode()))
        requested = paths(web, name)
    assert sorted(requested) == ["/", "/public", "/robots.txt"]
    assert stored_pages(db)[web.url(name, "/private/x")].error == "robots"


async def test_a_line_cut_by_the_size_limit_is_dropped_whole(tmp_path: Path) -> None:
    """Cut at the limit, "Allow: /public/page" would read "Allow: /" and open the site."""
    name = "www.cut.test"
    robots = "User-agent: *\nDisallow: /\nAllow: /public/page\n"
    pages = pages_of(name, ["/public/page"], [])
    async with DemoWeb([site(name, pages, robots=robots)]) as web:
        _, db = await crawl(web, tmp_path, robots_max_bytes=robots.index("/public") + 1)
        requested = paths(web, name)
    assert requested == ["/robots.txt"]
    assert stored_pages(db)[web.url(name, "/")].error == "robots"
