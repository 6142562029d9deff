"""``pinned_only``: a crawl that resolves nothing but its hosts file (the demo's mode).

The suite's network guard (tests/netguard) fails any test that looks up a name outside
loopback, so these tests also prove that not a single DNS query for the outside name was
made: without ``pinned_only`` the same crawl asks the system resolver for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from crawl_support import crawl, site, site_url, stored_pages
from linkgraph.crawler.settings import CrawlSettings, SettingsError

import linkgraph
from linkgraph.demo import DemoWeb, demo_settings

OUTSIDE = "https://en.wikipedia.org/wiki/Web_crawler"


def _web() -> DemoWeb:
    return DemoWeb(
        [
            site("www.one.test", {"/": [site_url("www.two.test"), (OUTSIDE, "W")]}),
            site("www.two.test", {"/": []}, seed=False),
        ]
    )


async def test_without_pinned_only_an_outside_name_is_looked_up(
    tmp_path: Path, netguard_violations: Callable[[], list[str]]
) -> None:
    async with _web() as web:
        await crawl(web, tmp_path, scope="any")
    assert any("en.wikipedia.org" in line for line in netguard_violations())


async def test_pinned_only_records_an_outside_host_without_resolving_it(tmp_path: Path) -> None:
    async with _web() as web:
        _, db = await crawl(web, tmp_path, scope="any", pinned_only=True)
        two = web.url("www.two.test")
    pages = stored_pages(db)
    assert pages[OUTSIDE].error == "not-pinned"
    assert pages[OUTSIDE].status is None
    assert pages[two].status == 200  # pinned names are crawled as before


async def test_a_link_check_under_pinned_only_does_not_call_outside_links_broken(
    tmp_path: Path,
) -> None:
    async with _web() as web:
        _, db = await crawl(web, tmp_path, pinned_only=True)
        broken = await _check(db)
    assert OUTSIDE not in {b["target"] for b in broken}


async def _check(db: Path) -> list[dict[str, object]]:
    return await asyncio.to_thread(linkgraph.broken, db, check_external=True)


def test_the_demo_crawls_pinned_only() -> None:
    assert demo_settings(["http://www.one.test/"], "/tmp/hosts").pinned_only


def test_pinned_only_without_a_hosts_file_is_refused() -> None:
    with pytest.raises(SettingsError, match="pinned_only needs a hosts_file"):
        CrawlSettings(pinned_only=True)
