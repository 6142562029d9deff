"""A crawl records what one page may cost: parse-timeout, links-truncated; and goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_support import crawl, link_page, stored_links, stored_pages
from linkgraph.storage import queries

from linkgraph.demo import DemoPage, DemoSite, DemoWeb, Response

pytestmark = pytest.mark.timeout(120)

H = "www.heavy.test"
_OFF = "http://elsewhere.test/p"


def _many_links(path: str, n: int, first: str) -> DemoPage:
    # The rest point off-site: recorded, never fetched.
    items = [f'<a href="{first}">first</a>'] + [f'<a href="{_OFF}{i}">{i}</a>' for i in range(n)]
    return DemoPage.html(path, "<!DOCTYPE html><body>" + "\n".join(items) + "</body>")


async def test_a_page_past_its_budget_or_link_cap_is_marked_and_the_crawl_goes_on(
    tmp_path: Path,
) -> None:
    pages = [
        link_page(H, "/", ["/slow", "/wide", "/small"]),
        # 3.5 MB: a few tenths of a second of CPU to decode and parse, against a budget of
        # 20 ms; a small page here takes well under 2 ms.
        _many_links("/slow", 100_000, "/after-slow"),
        _many_links("/wide", 300, "/after-wide"),
        link_page(H, "/small", []),
        link_page(H, "/after-slow", []),
        link_page(H, "/after-wide", []),
    ]
    async with DemoWeb([DemoSite(H, pages)]) as web:
        _, db = await crawl(web, tmp_path, max_links_per_page=100, parse_cpu_seconds=0.02)
        url = web.url
    stored = stored_pages(db)
    slow, wide = stored[url(H, "/slow")], stored[url(H, "/wide")]
    assert (slow.status, slow.error) == (200, "parse-timeout")
    assert (wide.status, wide.error) == (200, "links-truncated")
    # The pages after them were fetched: the crawl went on, and followed what was found.
    for path in ("/small", "/after-wide"):
        assert (stored[url(H, path)].status, stored[url(H, path)].error) == (200, None), path
    links = stored_links(db)
    from_slow = {t for s, t, *_ in links if s == url(H, "/slow")}
    from_wide = {t for s, t, *_ in links if s == url(H, "/wide")}
    # Whatever was found before the budget ran out (here, likely nothing: the parse
    # alone takes longer), in document order: a prefix of the page.
    prefix = [url(H, "/after-slow")] + [f"{_OFF}{i}" for i in range(99)]
    assert from_slow == set(prefix[: len(from_slow)])
    assert from_wide == {url(H, "/after-wide")} | {f"{_OFF}{i}" for i in range(99)}
    with queries.reader(db) as conn:
        counts = queries.stats(conn)["pages"]
    assert counts["incomplete"] == {"parse-timeout": 1, "links-truncated": 1}


async def test_over_long_urls_are_neither_stored_nor_fetched(tmp_path: Path) -> None:
    long_path = "/" + "a" * 300
    pages = [
        link_page(H, "/", [long_path, "/moved", "/ok"]),
        DemoPage("/moved", [Response(301, headers={"Location": long_path})]),
        link_page(H, "/ok", []),
        link_page(H, long_path, []),
    ]
    async with DemoWeb([DemoSite(H, pages)]) as web:
        stats, db = await crawl(web, tmp_path, max_url_length=200)
        url = web.url
        requested = [hit.path for hit in web.hits(H)]
    assert long_path not in requested
    assert url(H, "/ok") in stored_pages(db)
    assert not any(long_path in t for _, t, *_ in stored_links(db))
    assert stats.long_urls == 2  # the link on /, the Location of /moved
