"""The garbage collector while a crawl runs: the young generation collected rarely, the
heap that existed before the crawl frozen, and both put back when the crawl ends."""

from __future__ import annotations

import gc

import pytest
from fakes import Answer, html, run_crawl
from linkgraph.crawler.engine import YOUNG_COLLECTION

pytestmark = pytest.mark.timeout(60)

SITE = "http://gc.test"


async def test_crawl_collects_young_objects_rarely_and_restores_the_collector() -> None:
    during: list[tuple[int, bool]] = []

    def answer(url: str) -> Answer | None:  # asked while the crawl runs, once per URL
        during.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return html(f"{SITE}/a") if url == f"{SITE}/" else None

    before = gc.get_threshold()
    crawl = await run_crawl({}, seeds=[f"{SITE}/"], fallback=answer)
    assert crawl.fetcher.urls(robots=False) == [f"{SITE}/", f"{SITE}/a"]
    assert during and set(during) == {(YOUNG_COLLECTION, True)}
    assert YOUNG_COLLECTION >= 500_000  # a batch of pages' objects between collections
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
