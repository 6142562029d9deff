"""The in-memory and PostgreSQL writers keep the SQLite writer's contract: each test runs
on all three."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes import memory_writer
from linkgraph.crawler.urls import url_hash
from linkgraph.storage.interface import CrawlWriter
from linkgraph.storage.records import Link, Page, QueueItem
from linkgraph.storage.writer import StoreWriter

A = "http://a.test"
B = "http://b.test"


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def writer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CrawlWriter]:
    if request.param == "memory":
        yield memory_writer(batch_pages=2)
    elif request.param == "postgresql":
        from linkgraph.storage.pg.writer import PgWriter

        url = request.getfixturevalue("pg_url")
        async with await PgWriter.open(url, batch_pages=2) as store:
            yield store
    else:
        async with await StoreWriter.open(tmp_path / "links.db", batch_pages=2) as store:
            yield store


def page(url: str, *targets: str, status: int | None = 200, **kwargs: object) -> Page:
    return Page(url, 0, 1.0, status=status, links=[Link(t) for t in targets], **kwargs)  # type: ignore[arg-type]


async def test_a_page_its_discoveries_and_its_own_entry_land_together_on_flush(
    writer: CrawlWriter,
) -> None:
    writer.add_queued([QueueItem(f"{A}/", 0)])
    await writer.flush()
    found = [QueueItem(f"{A}/x", 1), QueueItem(f"{A}/y", 1)]
    writer.add_page(page(f"{A}/", f"{A}/x", f"{A}/y"), found)
    assert writer.pending_pages == 1
    assert not writer.full
    assert writer.links == 0  # nothing committed yet
    await writer.flush()
    assert writer.pending_pages == 0
    assert writer.links == 2
    assert writer.hosts_crawled == 1
    assert [i.url for i in await writer.take_frontier("a.test", 10)] == [f"{A}/x", f"{A}/y"]


async def test_full_after_a_batch_of_pages(writer: CrawlWriter) -> None:
    writer.add_page(page(f"{A}/1"))
    assert not writer.full
    writer.add_page(page(f"{A}/2"))
    assert writer.full


async def test_take_frontier_is_oldest_first_per_host_and_filters_kinds(
    writer: CrawlWriter,
) -> None:
    writer.add_queued(
        [
            QueueItem(f"{A}/3", 0),
            QueueItem(f"{B}/1", 0),
            QueueItem(f"{A}/1", 0, kind="sitemap"),
            QueueItem(f"{A}/2", 0, kind="check"),
        ]
    )
    await writer.flush()
    assert [i.url for i in await writer.take_frontier("a.test", 2)] == [f"{A}/3", f"{A}/1"]
    checks = await writer.take_frontier("a.test", 10, kinds=("check",))
    assert [(i.url, i.kind) for i in checks] == [(f"{A}/2", "check")]


async def test_an_entry_already_queued_keeps_its_first_depth(writer: CrawlWriter) -> None:
    writer.add_queued([QueueItem(f"{A}/x", 1)])
    writer.add_queued([QueueItem(f"{A}/x", 5)])
    await writer.flush()
    assert [(i.url, i.depth) for i in await writer.take_frontier("a.test", 10)] == [(f"{A}/x", 1)]


async def test_resume_state_counts_requests_but_not_skips_or_checks(writer: CrawlWriter) -> None:
    writer.add_queued(
        [QueueItem(f"{A}/q", 0), QueueItem(f"{B}/q", 0), QueueItem(f"{B}/c", 0, kind="check")]
    )
    writer.add_page(page(f"{A}/ok"))
    writer.add_page(page(f"{A}/err", status=None, error="timeout"))
    writer.add_page(page(f"{A}/skip", status=None, error="robots"))
    writer.add_page(page(f"{B}/checked", checked_only=True))
    state = await writer.resume_state()
    assert state.queued_by_host == {"a.test": 1, "b.test": 2}
    assert state.requests_by_host == {"a.test": 2}
    assert state.requests_total == 2
    urls = [f"{A}/q", f"{B}/q", f"{B}/c", f"{A}/ok", f"{A}/err", f"{A}/skip", f"{B}/checked"]
    assert sorted(state.seen_hashes) == sorted(url_hash(u) for u in urls)
    checks = await writer.resume_state(kinds=("check",))
    assert checks.queued_by_host == {"b.test": 1}


async def test_queue_checks_queues_link_targets_without_a_page(writer: CrawlWriter) -> None:
    writer.add_page(page(f"{A}/", f"{A}/", f"{A}/gone", f"{B}/"))
    assert await writer.queue_checks() == 2
    queued = await writer.take_frontier("a.test", 10, kinds=("check",))
    assert [(i.url, i.kind) for i in queued] == [(f"{A}/gone", "check")]


async def test_queue_refresh_carries_the_validators(writer: CrawlWriter) -> None:
    writer.add_page(page(f"{A}/", etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT"))
    writer.add_page(page(f"{A}/skipped", status=None, error="robots"))
    assert await writer.queue_refresh() == 1
    (item,) = await writer.take_frontier("a.test", 10)
    assert (item.url, item.kind, item.etag) == (f"{A}/", "refresh", '"v1"')
    assert item.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"


async def test_the_crawl_settings_round_trip(writer: CrawlWriter) -> None:
    assert await writer.load_crawl() is None
    await writer.save_crawl({"seeds": [f"{A}/"], "delay": 1.0})
    assert await writer.load_crawl() == {"seeds": [f"{A}/"], "delay": 1.0}


async def test_a_second_postgresql_writer_is_refused_until_the_first_closes(pg_url: str) -> None:
    from linkgraph.storage.errors import StoreError
    from linkgraph.storage.pg.writer import PgWriter

    first = await PgWriter.open(pg_url)
    try:
        with pytest.raises(StoreError, match="being written by another linkgraph process"):
            await PgWriter.open(pg_url)
    finally:
        await first.close()
    second = await PgWriter.open(pg_url)  # the lock went with the first connection
    await second.close()
