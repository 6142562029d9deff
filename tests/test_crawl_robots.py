"""robots.txt in a live crawl (RFC 9309): what is never requested, and in which order.

The rules (order, retries, redirects, caching, size limit, sitemaps) are proven on a
virtual clock in ``test_robots_rules.py``; this is the live check over real sockets.

Each test declares its sites, crawls them with the real engine, and checks the server's
request log: a disallowed URL must never appear in it, robots.txt must come first on its
origin, and an origin whose robots.txt cannot be read gets nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_support import (
    crawl,
    link_page,
    paths,
    site,
    stored_pages,
)

from linkgraph.demo import DemoPage, DemoWeb

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
