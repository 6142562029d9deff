"""What the demo web's tests share: a small hand-built web, a client that reaches it, and readers
for what its pages answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import format_datetime

import aiohttp

from linkgraph.demo import (
    CalendarTrap,
    DemoPage,
    DemoSite,
    DemoWeb,
    ExpectedLink,
    Response,
    decompress,
    site_url,
)

HTML = "text/html; charset=utf-8"


def small_sites() -> list[DemoSite]:
    """Five hand-built sites: a.test with one page of each kind, b.test, a slow one, one that does
    not listen and a calendar trap."""
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
    """A session whose connections reach ``web``'s sites (its resolver), nothing else."""
    connector = aiohttp.TCPConnector(resolver=web.resolver(), limit_per_host=limit_per_host)
    async with aiohttp.ClientSession(connector=connector, **kw) as session:  # type: ignore[arg-type]
        yield session


def page_text(response: Response) -> str | None:
    """The decoded HTML of ``response``, or None when it is not HTML."""
    ctype = response.headers.get("Content-Type")
    if ctype is not None and not ctype.startswith("text/html"):
        return None
    body = decompress(response.body, response.headers.get("Content-Encoding", "identity"))
    charset = ctype.split("charset=")[1] if ctype and "charset=" in ctype else "utf-8"
    return body.decode(charset)


def http_date(when: datetime) -> str:
    """``when`` as an HTTP date (Last-Modified, If-Modified-Since)."""
    return format_datetime(when, usegmt=True)


def host_of(url: str) -> str:
    """The host of an ``http://host:port/...`` URL, without the port."""
    return url.split("/")[2].rsplit(":", 1)[0]
