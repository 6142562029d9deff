"""robots.txt in a crawl (RFC 9309) on a virtual clock: what is never requested, in
which order, and when robots.txt is asked again. The real engine over the fakes of
``tests/fakes.py``; times are virtual seconds, worked out by hand."""

from __future__ import annotations

import pytest
from fakes import Answer, html, run_crawl, text

pytestmark = pytest.mark.timeout(60)

A = "http://a.test"
ROBOTS = f"{A}/robots.txt"


def site(*paths: str, links: tuple[str, ...] = ()) -> dict[str, Answer]:
    """``/`` linking to ``links``, and a leaf page at each of ``paths``."""
    return {f"{A}/": html(*links), **{f"{A}{p}": html() for p in paths}}


def requested(crawl: object, *, robots: bool = True) -> list[str]:
    urls = crawl.fetcher.urls("a.test", robots=robots)  # type: ignore[attr-defined]
    return [u.removeprefix(A) for u in urls]


async def test_another_bots_group_is_not_ours() -> None:
    """Only ``*`` applies when no group names us, however strict the others are."""
    robots = "User-agent: googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /private/\n"
    script = site("/public", "/private/x", links=("/public", "/private/x"))
    crawl = await run_crawl({ROBOTS: text(robots)} | script, seeds=[f"{A}/"])
    assert requested(crawl) == ["/robots.txt", "/", "/public"]
    assert crawl.page(f"{A}/private/x").error == "robots"


async def test_robots_comes_first_and_once_even_with_many_urls_queued() -> None:
    """Forty seeds on each of three hosts, twenty workers, no delay, each answer 0.5 s:
    robots.txt first and once per host, and never two requests to a host at once."""
    hosts = ["http://www.one.test", "http://www.two.test", "http://blog.two.test"]
    seeds = [f"{h}/p/{i}" for h in hosts for i in range(40)]
    script = {u: html(takes=0.5) for u in seeds}
    script |= {f"{h}/robots.txt": text("User-agent: *\nDisallow: /x/\n", takes=0.5) for h in hosts}
    crawl = await run_crawl(script, seeds=seeds, concurrency=20, delay=0.0)
    for host in hosts:
        log = crawl.fetcher.requests(host.split("/")[2])
        assert [r.url for r in log][:1] == [f"{host}/robots.txt"]
        assert [r.url for r in log].count(f"{host}/robots.txt") == 1
        assert len(log) == 41
        # One at a time, back to back: each starts when the one before ended.
        assert [r.start for r in log] == [0.5 * i for i in range(41)]
    assert crawl.stats.robots_fetches == 3


@pytest.mark.parametrize("status", [401, 403, 404, 410])
async def test_robots_4xx_allows_everything(status: int) -> None:
    script = {ROBOTS: text("User-agent: *\nDisallow: /\n", status)}
    script |= site("/private/account", "/a", links=("/private/account", "/a"))
    crawl = await run_crawl(script, seeds=[f"{A}/"])
    assert sorted(requested(crawl)) == ["/", "/a", "/private/account", "/robots.txt"]


@pytest.mark.parametrize(
    ("answer", "starts"),
    [(text("User-agent: *\nAllow: /\n", status), [0.0, 10.0, 20.0]) for status in (500, 503, 429)]
    + [
        (Answer(error="connect", sent=False), [0.0, 10.0, 20.0]),
        # A try that times out after 3 s: the retry wait runs from when it gave up.
        (Answer(error="timeout", takes=3.0), [0.0, 13.0, 26.0]),
    ],
    ids=["500", "503", "429", "refused", "timeout"],
)
async def test_unreachable_robots_disallows_everything(answer: Answer, starts: list[float]) -> None:
    """5xx, 429 and no answer at all: robots.txt asked again robots_retry_seconds (10)
    after each failed try, robots_retries (2) times, nothing else requested, every URL
    recorded as ``robots-unavailable`` (§2.3.1.4); the other host is crawled."""
    seeds = [f"{A}/", f"{A}/a", f"{A}/b", "http://fine.test/"]
    script = {ROBOTS: answer, "http://fine.test/": html()}
    crawl = await run_crawl(script, seeds=seeds, robots_retries=2, robots_retry_seconds=10.0)
    assert requested(crawl) == ["/robots.txt"] * 3
    assert crawl.fetcher.starts("a.test") == starts
    for url in seeds[:3]:
        page = crawl.page(url)
        assert (page.status, page.error) == (None, "robots-unavailable")
    assert crawl.page("http://fine.test/").status == 200
    assert "robots.txt unavailable after 3 tries" in crawl.stats.host_notes["a.test"]


async def test_robots_redirect_is_followed_one_hop_per_delay() -> None:
    script = {
        ROBOTS: Answer(301, headers={"Location": "/real-robots.txt"}),
        f"{A}/real-robots.txt": text("User-agent: *\nDisallow: /secret/\n"),
    } | site("/open", "/secret/plan", links=("/open", "/secret/plan"))
    crawl = await run_crawl(script, seeds=[f"{A}/"], delay=2.0)
    assert requested(crawl) == ["/robots.txt", "/real-robots.txt", "/", "/open"]
    # The redirect hop is a request to the host like any other: the delay applies to it.
    assert crawl.fetcher.starts("a.test") == [0.0, 2.0, 4.0, 6.0]
    assert crawl.page(f"{A}/secret/plan").error == "robots"


async def test_sitemap_urls_are_queued() -> None:
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    orphans = [f"{A}/orphan/{i}" for i in range(1, 4)]
    index = (
        f'<sitemapindex xmlns="{ns}"><sitemap><loc>{A}/sitemap-1.xml</loc></sitemap></sitemapindex>'
    )
    urlset = "".join(f"<url><loc>{u}</loc></url>" for u in [*orphans, f"{A}/private/x"])
    xml = {"Content-Type": "application/xml"}
    script = {
        ROBOTS: text(f"User-agent: *\nDisallow: /private/\nSitemap: {A}/sitemap-index.xml\n"),
        f"{A}/sitemap-index.xml": Answer(200, index.encode(), xml),
        f"{A}/sitemap-1.xml": Answer(200, f'<urlset xmlns="{ns}">{urlset}</urlset>'.encode(), xml),
        **{u: html() for u in orphans},
    } | site("/a", links=("/a",))
    with_maps = await run_crawl(script, seeds=[f"{A}/"], sitemaps=True)
    without = await run_crawl(script, seeds=[f"{A}/"], sitemaps=False)
    assert sorted(requested(with_maps, robots=False)) == sorted(
        ["/", "/a", "/sitemap-index.xml", "/sitemap-1.xml", *(u.removeprefix(A) for u in orphans)]
    )
    assert sorted(requested(without, robots=False)) == ["/", "/a"]
    assert with_maps.page(f"{A}/private/x").error == "robots"


async def test_robots_is_fetched_again_when_its_cache_expires() -> None:
    """§2.4: rules cached for robots_cache_seconds (2.5); at t=3 the cache has run out,
    robots.txt is asked again, and its new rules apply to what is requested after."""
    leaves = [f"/p/{i}" for i in range(5)]
    script = {
        ROBOTS: [text("User-agent: *\nAllow: /\n"), text("User-agent: *\nDisallow: /p/\n")]
    } | site(*leaves)
    crawl = await run_crawl(
        script, seeds=[f"{A}{p}" for p in leaves], delay=1.0, robots_cache_seconds=2.5
    )
    assert requested(crawl) == ["/robots.txt", "/p/0", "/p/1", "/robots.txt"]
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 2.0, 3.0]
    assert [crawl.page(f"{A}{p}").error for p in leaves[2:]] == ["robots"] * 3


async def test_a_robots_txt_cut_at_the_limit_keeps_its_last_complete_line() -> None:
    """§2.5: a body longer than robots_max_bytes is read up to the limit, and a line whose
    end is the first octet past the limit is complete: its rule applies."""
    head = "User-agent: *\nDisallow: /private/"
    script = {ROBOTS: text(head + "\n" + "# padding\n" * 50)}
    script |= site("/public", "/private/x", links=("/public", "/private/x"))
    crawl = await run_crawl(script, seeds=[f"{A}/"], robots_max_bytes=len(head.encode()))
    assert requested(crawl) == ["/robots.txt", "/", "/public"]
    assert crawl.page(f"{A}/private/x").error == "robots"


async def test_a_line_cut_by_the_size_limit_is_dropped_whole() -> None:
    """Cut at the limit, "Allow: /public/page" would read "Allow: /" and open the site."""
    robots = "User-agent: *\nDisallow: /\nAllow: /public/page\n"
    script = {ROBOTS: text(robots)} | site("/public/page", links=("/public/page",))
    crawl = await run_crawl(script, seeds=[f"{A}/"], robots_max_bytes=robots.index("/public") + 1)
    assert requested(crawl) == ["/robots.txt"]
    assert crawl.page(f"{A}/").error == "robots"
