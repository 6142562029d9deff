"""What a crawl follows and fetches, on a virtual clock: follow rules, scope, caps and
redirects. The real engine over ``tests/fakes.py``; what must (and must not) be requested
is written out by hand."""

from __future__ import annotations

import follow_pages
import pytest
from fakes import Answer, html, run_crawl, text

pytestmark = pytest.mark.timeout(60)

F = f"http://{follow_pages.HOST}"


def page(*links: str, head: str = "", headers: dict[str, str] | None = None) -> Answer:
    """An HTML page; a link is ``href`` or ``href rel`` (space separated)."""
    anchors = []
    for link in links:
        href, _, rel = link.partition(" ")
        anchors.append(f'<a href="{href}"' + (f' rel="{rel}"' if rel else "") + f">{href}</a>")
    body = f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(anchors)}</body></html>"
    return Answer(200, body.encode(), {"Content-Type": "text/html", **(headers or {})})


# The follow-rules site (``tests/follow_pages.py``) as scripted answers.
FOLLOW = {
    f"{F}{path}": page(*links, head=head, headers=headers)
    for path, (links, head, headers) in follow_pages.PAGES.items()
}
BEHIND_ROBOTS = {"/behind-meta", "/behind-ours", "/behind-header"}


def requested(crawl: object, base: str = F) -> set[str]:
    urls = crawl.fetcher.urls(robots=False)  # type: ignore[attr-defined]
    return {u.removeprefix(base) for u in urls}


async def test_nofollow_links_are_recorded_not_followed() -> None:
    crawl = await run_crawl(FOLLOW, seeds=[f"{F}/"])
    every_page = {u.removeprefix(F) for u in FOLLOW}
    assert requested(crawl) == every_page - follow_pages.NEVER_FOLLOWED
    home = {link.target: link for link in crawl.writer.page_links[f"{F}/"]}
    assert len(home) == 12  # every link recorded, followed or not
    for path, rel in {"/nf": ("nofollow",), "/sp": ("sponsored",), "/ugc": ("ugc",)}.items():
        assert (home[f"{F}{path}"].rel, home[f"{F}{path}"].follow) == (rel, False)
    assert home[f"{F}/plain"].follow is True
    nofollow = {u.removeprefix(F) for u, p in crawl.writer.pages.items() if p.nofollow}
    noindex = {u.removeprefix(F) for u, p in crawl.writer.pages.items() if p.noindex}
    assert nofollow == {"/meta-robots", "/meta-ours", "/x-robots"}
    assert noindex == {"/noindex", "/x-noindex"}


async def test_follow_nofollow_lifts_rel_nofollow_but_not_a_pages_own_nofollow() -> None:
    """--follow-nofollow lifts rel=nofollow only; a page's own robots nofollow still holds."""
    crawl = await run_crawl(FOLLOW, seeds=[f"{F}/"], follow_nofollow=True)
    assert {"/nf", "/sp", "/ugc"} <= requested(crawl)
    assert not BEHIND_ROBOTS & requested(crawl)


# -- scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "fetched"),
    [
        ("domain", {"www.one.test", "blog.one.test"}),
        ("host", {"www.one.test"}),
        ("any", {"www.one.test", "blog.one.test", "www.two.test"}),
    ],
)
async def test_scope_decides_what_is_fetched(scope: str, fetched: set[str]) -> None:
    targets = ["http://blog.one.test/", "http://www.two.test/"]
    script = {"http://www.one.test/": html(*targets)} | {t: html() for t in targets}
    crawl = await run_crawl(script, seeds=["http://www.one.test/"], scope=scope)
    assert {r.host for r in crawl.fetcher.log} == fetched
    # Out of scope: never resolved, never a page; but the link is kept.
    assert set(crawl.fetcher.lookups) == fetched
    assert {u.split("/")[2] for u in crawl.writer.pages} == fetched
    links = {link.target for link in crawl.writer.page_links["http://www.one.test/"]}
    assert links == set(targets)


# -- caps -----------------------------------------------------------------------------------


def hosts_web(hosts: int, pages: int) -> dict[str, Answer]:
    """``hosts`` sites whose home page links ``pages`` leaves and the next site's home."""
    script: dict[str, Answer] = {}
    for h in range(hosts):
        base = f"http://www.s{h}.test"
        script[f"{base}/"] = html(*(f"/p/{i}" for i in range(pages)))
        script |= {f"{base}/p/{i}": html() for i in range(pages)}
    return script


async def test_max_pages_is_exact() -> None:
    script = hosts_web(6, 8)
    seeds = [u for u in script if u.endswith(".test/")]
    crawl = await run_crawl(script, seeds=seeds, max_pages=25, delay=0.0, concurrency=50)
    assert len(crawl.fetcher.urls(robots=False)) == 25
    assert crawl.stats.requests == 25
    assert sum(p.status is not None for p in crawl.writer.pages.values()) == 25


async def test_max_pages_per_host_and_every_url_once() -> None:
    script = hosts_web(4, 8)
    seeds = [u for u in script if u.endswith(".test/")]
    capped = await run_crawl(script, seeds=seeds, max_pages_per_host=3, delay=0.0)
    whole = await run_crawl(script, seeds=seeds, delay=0.0)
    for h in range(4):
        host = f"www.s{h}.test"
        assert len(capped.fetcher.urls(host, robots=False)) == 3, host
        urls = whole.fetcher.urls(host, robots=False)
        assert len(urls) == len(set(urls)) == 1 + 8, host  # every URL, none twice


async def test_max_depth_stops_a_chain() -> None:
    """/d/k links /d/k+1 for ever: with max_depth 4, depths 1..4 are fetched."""
    base = "http://blog.cal.test"

    def chain(url: str) -> Answer | None:
        if not url.startswith(f"{base}/d/"):
            return None
        return html(f"/d/{int(url.rsplit('/', 1)[1]) + 1}")

    crawl = await run_crawl(
        {f"{base}/": html("/d/1")}, seeds=[f"{base}/"], fallback=chain, max_depth=4, delay=0.0
    )
    assert crawl.fetcher.urls(robots=False) == [f"{base}/", *(f"{base}/d/{d}" for d in range(1, 5))]
    assert crawl.page(f"{base}/d/4").depth == 4
    assert crawl.not_fetched() == {"trap-depth": 1}
    assert crawl.stats.queued == 0


# -- redirects --------------------------------------------------------------------------------

RA, RB = "http://www.ra.test", "http://www.rb.test"


def moved(location: str, status: int = 301) -> Answer:
    return Answer(status, b"", {"Location": location})


REDIRECTS = {
    f"{RA}/": html("/chain/1", "/loop/a", "/to-b-private", "/to-b"),
    f"{RA}/chain/1": moved(f"{RA}/chain/2"),
    f"{RA}/chain/2": moved("/chain/3", 302),
    f"{RA}/chain/3": moved("/chain/end", 307),
    f"{RA}/chain/end": html(),
    f"{RA}/loop/a": moved("/loop/b"),
    f"{RA}/loop/b": moved("/loop/a"),
    f"{RA}/to-b-private": moved(f"{RB}/private/x", 302),
    f"{RA}/to-b": moved(f"{RB}/ok", 302),
    f"{RB}/robots.txt": text("User-agent: *\nDisallow: /private/\n"),
    f"{RB}/ok": html(),
    f"{RB}/private/x": html(),
}


async def test_redirects_are_edges_and_their_targets_fetched() -> None:
    crawl = await run_crawl(REDIRECTS, seeds=[f"{RA}/"], scope="any")
    a_paths = [u.removeprefix(RA) for u in crawl.fetcher.urls("www.ra.test", robots=False)]
    chain = ["/chain/1", "/chain/2", "/chain/3", "/chain/end"]
    assert sorted(a_paths) == sorted(["/", *chain, "/loop/a", "/loop/b", "/to-b-private", "/to-b"])
    # Cross-host: the target host's robots.txt first, and its rules obeyed.
    assert crawl.fetcher.urls("www.rb.test") == [f"{RB}/robots.txt", f"{RB}/ok"]
    assert crawl.page(f"{RB}/private/x").error == "robots"
    assert [crawl.page(f"{RA}/chain/{i}").status for i in (1, 2, 3)] == [301, 302, 307]
    redirects = {
        (source, link.target)
        for source, links in crawl.writer.page_links.items()
        for link in links
        if link.kind == "redirect"
    }
    assert redirects == {
        (f"{RA}/chain/1", f"{RA}/chain/2"),
        (f"{RA}/chain/2", f"{RA}/chain/3"),
        (f"{RA}/chain/3", f"{RA}/chain/end"),
        (f"{RA}/loop/a", f"{RA}/loop/b"),
        (f"{RA}/loop/b", f"{RA}/loop/a"),
        (f"{RA}/to-b-private", f"{RB}/private/x"),
        (f"{RA}/to-b", f"{RB}/ok"),
    }


async def test_redirect_hops_are_capped() -> None:
    crawl = await run_crawl(REDIRECTS, seeds=[f"{RA}/chain/1"], max_redirects=2)
    assert crawl.fetcher.urls("www.ra.test") == [
        f"{RA}/robots.txt",
        f"{RA}/chain/1",
        f"{RA}/chain/2",
        f"{RA}/chain/3",
    ]
