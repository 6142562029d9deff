"""The caps of a crawl hold across several workers on one PostgreSQL store.

An IP address is leased to one worker at a time (the per-IP connection cap), and
``--max-pages`` is reserved from one counter for the fleet; ``--max-pages-per-host``
travels with a host's lease. The store's side first (two ``PgLeases`` on one database),
then three ``linkgraph crawl`` processes on demo webs, read through the web's log.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from crawl_support import page_hits, served_on_uvloop, settings_for
from fleet_support import DELAY, committed, finish, pages, politeness_breaches, workers

from linkgraph import api
from linkgraph.demo import DemoWeb, generate
from linkgraph.demo.model import DemoSite

pytestmark = pytest.mark.timeout(300)


async def test_an_address_goes_to_one_worker_and_claims_pass_its_hosts_by(pg_url: str) -> None:
    from linkgraph.storage.leases import HostState
    from linkgraph.storage.pg.fleet import PgLeases
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import QueueItem

    async with await PgWriter.open(pg_url) as writer:
        writer.add_queued([QueueItem(f"http://{h}.test/", 0) for h in "abc"])
    first = await PgLeases.open(pg_url, seconds=60)
    second = await PgLeases.open(pg_url, seconds=60)
    shared = "127.0.0.5"
    try:
        await first.start()
        await second.start()
        assert await first.hold_address(shared) == 0.0
        assert await second.hold_address(shared) is None  # the first holds it
        assert await first.hold_address(shared) == 0.0  # renewed: still the first's
        assert sorted(c.host for c in await first.claim(10)) == ["a.test", "b.test", "c.test"]
        # a.test and b.test are on the first worker's address, c.test on none yet; b.test
        # and c.test may start before a.test.
        await first.release({
            "a.test": HostState(next_in=30.0, delay=1.0, address=shared),
            "b.test": HostState(next_in=0.0, delay=1.0, address=shared),
            "c.test": HostState(next_in=0.0, delay=1.0),
        })  # fmt: skip
        assert [c.host for c in await second.claim(10)] == ["c.test"]
        # Its own address's hosts come first for the first worker, soonest first.
        assert [c.host for c in await first.claim(1)] == ["b.test"]
        assert [c.host for c in await first.claim(1)] == ["a.test"]
        await first.release({
            "a.test": HostState(next_in=0.0, delay=1.0, address=shared),
            "b.test": HostState(next_in=0.0, delay=1.0, address=shared),
        })  # fmt: skip
        assert await first.keep_addresses(set()) == set()  # no host on it held: given back
        assert sorted(c.host for c in await second.claim(10)) == ["a.test", "b.test"]
        began = time.monotonic()  # before the lease starts, on the server's clock
        assert await second.hold_address(shared) == 0.0
        # The holder's session ends: the address is free, but its worker may still be
        # running requests until its lease's end (60 s on): the next waits that long.
        await second.close()
        deadline = time.monotonic() + 20
        while (wait := await first.hold_address(shared)) is None:
            assert time.monotonic() < deadline, "the vanished worker's address was not freed"
            await asyncio.sleep(0.05)
        assert 60.0 - (time.monotonic() - began) <= wait <= 60.0
        assert await first.keep_addresses({shared}) == {shared}
    finally:
        await first.finish(0)
        await second.close()
    import psycopg

    with psycopg.connect(pg_url) as conn:  # a worker leaving gives its addresses back
        assert conn.execute("SELECT count(*) FROM address_leases").fetchone() == (0,)


async def earlier_pass(pg_url: str, *, also_skipped: bool = False) -> None:
    """A store holding 3 requests made by an earlier pass (and, ``also_skipped``, a page
    skipped for robots.txt: no request made)."""
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Page

    async with await PgWriter.open(pg_url) as writer:
        for path in ("a", "b", "c"):
            writer.add_page(Page(f"http://a.test/{path}", 0, 0.0, status=200))
        if also_skipped:
            writer.add_page(Page("http://a.test/d", 0, 0.0, error="robots"))


async def test_the_page_cap_is_granted_across_workers_and_a_new_pass_counts_afresh(
    pg_url: str,
) -> None:
    from linkgraph.storage.pg.fleet import PgLeases

    await earlier_pass(pg_url, also_skipped=True)
    first = await PgLeases.open(pg_url, seconds=60)
    second = await PgLeases.open(pg_url, seconds=60)
    try:
        await first.start()
        await second.start()
        assert await first.reserve_pages(15, 8, fresh=False) == 8
        assert await second.reserve_pages(15, 8, fresh=False) == 4  # 15 - 3 - 8
        assert await first.reserve_pages(15, 8, fresh=False) == 0
        await second.return_pages(3)  # leaving with 3 unused
        assert await first.reserve_pages(15, 8, fresh=False) == 3
        assert await first.reserve_pages(12, 8, fresh=True) == 0  # a refresh: 15 of 12
    finally:
        await first.finish(0)
        await second.finish(0)
    later = await PgLeases.open(pg_url, seconds=60)
    try:
        await later.start()  # a new pass: only what the store holds counts
        assert await later.reserve_pages(15, 20, fresh=False) == 12
    finally:
        await later.finish(0)


async def test_workers_started_with_other_flags_reserve_from_the_passs_cap(
    pg_url: str,
) -> None:
    from linkgraph.storage.pg.fleet import PgLeases

    await earlier_pass(pg_url)
    refresh = await PgLeases.open(pg_url, seconds=60)
    plain = await PgLeases.open(pg_url, seconds=60)
    try:
        # The pass begins with `--refresh --max-pages 10`: 10 requests of its own.
        await refresh.start(max_pages=10, fresh=True)
        await plain.start(max_pages=50, fresh=False)  # joins it: the pass's cap holds
        assert await plain.reserve_pages(50, 8, fresh=False) == 8
        assert await refresh.reserve_pages(10, 8, fresh=True) == 2
        assert await plain.reserve_pages(50, 8, fresh=False) == 0
    finally:
        await refresh.finish(0)
        await plain.finish(0)


def test_three_workers_fetch_the_fleets_page_caps_exactly(pg_url: str, tmp_path: Path) -> None:
    # Each worker counting its own requests would fetch up to 3 x 100; a host handed from
    # one worker to another keeps its count. (60 hosts: 120 pages within the host cap.)
    caps = ("--max-pages", "100", "--max-pages-per-host", "2")
    with served_on_uvloop(DemoWeb(generate(60, 6, seed=11, traps=False))) as web:
        with workers(3, web, pg_url, tmp_path, *caps) as processes:
            for process in processes:
                finish(process)
        hits = page_hits(web)
    fetched = Counter((h.site, h.path) for h in hits)
    assert (len(fetched), sum(fetched.values())) == (100, 100)
    assert max(Counter(h.site for h in hits).values()) == 2
    assert sum(1 for status, _ in pages(pg_url).values() if status is not None) == 100


def test_a_worker_joining_a_capped_pass_without_max_pages_is_held_to_its_cap(
    pg_url: str, tmp_path: Path
) -> None:
    # The first worker caps the pass at 30 pages and crawls slowly (pages answering in
    # 0.3 s, two connections); the second joins while it runs, its --max-pages lifted
    # (without the flag it would take the cap stored with the crawl). Not held to the
    # pass's cap, the second would crawl the rest of the web's 360 pages.
    sites = [slow(site, 0.3) for site in generate(60, 6, seed=13, traps=False)]
    with served_on_uvloop(DemoWeb(sites)) as web:
        with workers(1, web, pg_url, tmp_path, "--max-pages", "30", "--concurrency", "2") as (
            first,
        ):
            deadline = time.monotonic() + 60
            while committed(pg_url) == 0:  # it has begun the pass
                assert first.poll() is None, first.communicate()[1]
                assert time.monotonic() < deadline, "the first worker never committed a page"
                time.sleep(0.05)
            lifted = ("--max-pages", "none", "--concurrency", "2")
            with workers(1, web, pg_url, tmp_path, *lifted) as (second,):
                said = finish(second)
            finish(first)
        hits = page_hits(web)
    assert "joining a pass capped at 30 pages" in said  # it joined while the first ran
    fetched = Counter((h.site, h.path) for h in hits)
    assert (len(fetched), sum(fetched.values())) == (30, 30)
    assert sum(1 for status, _ in pages(pg_url).values() if status is not None) == 30


def slow(site: DemoSite, seconds: float) -> DemoSite:
    """``site`` answering every request after ``seconds``: requests overlap on the wire."""
    pages = {
        path: replace(page, responses=[replace(r, delay=seconds) for r in page.responses])
        for path, page in site.pages.items()
    }
    return replace(site, pages=pages)


def test_three_workers_keep_the_per_ip_cap_across_the_fleet(pg_url: str, tmp_path: Path) -> None:
    # Thirty hosts, ten on each of three addresses (shared hosting), answering in 50 ms:
    # three workers each holding hosts of one address would open up to 3 x 2 connections.
    sites = [
        slow(replace(site, address=f"127.78.0.{2 + i // 10}"), 0.05)
        for i, site in enumerate(generate(30, 6, seed=5, traps=False))
    ]
    with served_on_uvloop(DemoWeb(sites)) as shared:
        hosts = shared.write_hosts_file(tmp_path / "hosts")
        lite = tmp_path / "links.db"
        settings = settings_for(shared, hosts, delay=DELAY, pinned_only=True, concurrency=24)
        asyncio.run(api.crawl_async(lite, settings))
        addresses = sorted(set(shared.hosts.values()))
        assert [shared.max_inflight_at(a) for a in addresses] == [2, 2, 2]  # the cap, alone
        shared.reset()
        with workers(3, shared, pg_url, tmp_path) as processes:
            for process in processes:
                finish(process)
        assert max(shared.max_inflight_at(a) for a in addresses) <= 2
        breaches = politeness_breaches(shared)
    assert (breaches["disallowed"], breaches["gaps"], breaches["two at once"]) == ([], [], [])
    assert pages(pg_url) == pages(lite)


async def test_a_worker_refuses_to_join_workers_started_before_the_stores_upgrade(
    pg_url: str,
) -> None:
    import psycopg
    from linkgraph.storage.errors import StoreError
    from linkgraph.storage.pg.fleet import PgLeases
    from linkgraph.storage.pg.writer import PgWriter

    async with await PgWriter.open(pg_url):
        pass  # the schema
    old = await PgLeases.open(pg_url, seconds=60)
    new = await PgLeases.open(pg_url, seconds=60)
    try:
        await old.start()
        # The store is upgraded after the first worker joined: it runs an older linkgraph.
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE linkgraph_migrations SET applied_at = now() + interval '1 second'"
                " WHERE version = (SELECT max(version) FROM linkgraph_migrations)"
            )
            await asyncio.sleep(1.2)
            with pytest.raises(StoreError, match=r"1 crawl worker\(s\) of an older linkgraph"):
                await new.start()
            # Nothing of the refused worker stays: its row went with the transaction.
            ((joined,),) = conn.execute("SELECT count(*) FROM workers").fetchall()
        assert joined == 1
        await old.finish(0)
        assert await new.start() is not None  # the older worker is gone: it may join
    finally:
        await old.close()
        await new.close()
