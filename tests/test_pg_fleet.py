"""Several crawl workers on one PostgreSQL store crawl as one process would.

Three ``linkgraph crawl --db postgresql://...`` processes crawl a demo web of 200 hosts
together; the demo web's request log (what was *sent*) and the store (what was
*recorded*) are checked against the web's own rules (robots.txt disallows ``/private/``
and ``/tmp/`` on every host) and against a single-process SQLite crawl of the same web.
Then one worker is killed with SIGKILL mid-crawl and the other two finish the crawl.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crawl_support import child_env, page_hits, served_on_uvloop, settings_for
from fleet_support import (
    DELAY,
    TOLERANCE,
    committed,
    finish,
    links,
    pages,
    politeness_breaches,
    workers,
)

import linkgraph
from linkgraph import api
from linkgraph.demo import DemoWeb, generate

pytestmark = pytest.mark.timeout(300)

SITES = 200


@pytest.fixture(scope="module")
def web() -> Iterator[DemoWeb]:
    with served_on_uvloop(DemoWeb(generate(SITES, 6, seed=11, traps=False))) as served:
        yield served


@pytest.fixture(scope="module")
def reference(web: DemoWeb, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One process crawling the web into SQLite: the pages and links to expect."""
    folder = tmp_path_factory.mktemp("reference")
    hosts = web.write_hosts_file(folder / "hosts")
    db = folder / "links.db"
    settings = settings_for(web, hosts, delay=DELAY, pinned_only=True, concurrency=24)
    asyncio.run(api.crawl_async(db, settings))
    return {"pages": pages(db), "links": links(db)}


def test_three_workers_crawl_politely_what_one_process_crawls(
    web: DemoWeb, reference: dict[str, Any], pg_url: str, tmp_path: Path
) -> None:
    web.reset()
    with workers(3, web, pg_url, tmp_path) as processes:
        errs = [finish(p) for p in processes]
    assert politeness_breaches(web) == {
        "disallowed": [],
        "robots.txt fetched again": [],
        "gaps": [],
        "two at once": [],
    }
    fetched = Counter((h.site, h.path) for h in page_hits(web))
    assert [key for key, n in fetched.items() if n > 1] == []
    assert pages(pg_url) == reference["pages"]
    assert links(pg_url) == reference["links"]
    # Each worker said who it was and its share; the shares add up to the pages fetched.
    ids, shares = [], []
    for err in errs:
        (worker,) = re.findall(r"this is worker (\d+) of the crawl", err)
        (share,) = re.findall(rf"worker {worker} fetched ([\d,]+) of the ([\d,]+) pages", err)
        ids.append(int(worker))
        shares.append(int(share[0].replace(",", "")))
    assert sorted(ids) == [1, 2, 3]
    assert sum(shares) == len(fetched)
    assert all(share > 0 for share in shares)
    # A worker ends when nothing is left for anyone, every page committed: its summary
    # is the store's, not what the worker itself wrote.
    stored = f"{api.stats(pg_url)['links']['total']:,}"
    summaries = [
        re.findall(r"the store holds ([\d,]+) current links; queue left: (\d+)", e) for e in errs
    ]
    assert summaries == [[(stored, "0")]] * 3


def test_a_worker_killed_mid_crawl_leaves_its_hosts_to_the_others(
    web: DemoWeb, reference: dict[str, Any], pg_url: str, tmp_path: Path
) -> None:
    web.reset()
    want = len(reference["pages"])
    with workers(3, web, pg_url, tmp_path) as processes:
        deadline = time.monotonic() + 120
        while committed(pg_url) < want // 3:
            assert time.monotonic() < deadline, "the workers did not get a third done"
            time.sleep(0.05)
        before = set(pages(pg_url))
        processes[0].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        processes[0].wait(30)
        for process in processes[1:]:
            finish(process)
    assert pages(pg_url) == reference["pages"]
    assert links(pg_url) == reference["links"]
    breaches = politeness_breaches(web)
    assert (breaches["disallowed"], breaches["gaps"], breaches["two at once"]) == ([], [], [])
    # Fetched twice: only pages in flight when the worker died (fetched before the
    # kill, never committed by it): at most what a worker buffers before it must commit
    # (4 batches of LINKGRAPH_BATCH_PAGES) and its connections' worth.
    hits = page_hits(web)
    twice = {url for url, n in Counter(web.url(h.site, h.path) for h in hits).items() if n > 1}
    assert twice.isdisjoint(before)
    first = {}
    for h in sorted(hits, key=lambda h: h.time):
        first.setdefault(web.url(h.site, h.path), h.time)
    # (A request sent just before the kill may be noted up to TOLERANCE later.)
    assert [(u, first[u] - killed_at) for u in twice if first[u] > killed_at + TOLERANCE] == []
    assert len(twice) <= 4 * 20 + 8


def test_stats_lists_the_workers_of_the_crawl(
    web: DemoWeb, reference: dict[str, Any], pg_url: str, tmp_path: Path
) -> None:
    with workers(2, web, pg_url, tmp_path) as processes:
        for process in processes:
            finish(process)
    out = subprocess.run(
        [sys.executable, "-P", "-m", "linkgraph", "stats", "--db", pg_url],
        cwd=tmp_path,
        env={**child_env(), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = re.findall(
        r"│\s*(\d+)\s*│\s*(\S+:\d+)\s*│\s*(\w+)\s*│\s*([\d,]+)\s*│\s*([\d,]+)\s*│", out
    )
    assert [(r[0], r[2], r[3]) for r in rows] == [("2", "stopped", "0"), ("1", "stopped", "0")]
    assert sum(int(r[4].replace(",", "")) for r in rows) == sum(
        1 for status, _ in reference["pages"].values() if status is not None
    )
    host = socket.gethostname()
    assert sorted(r[1] for r in rows) == sorted(f"{host}:{p.pid}" for p in processes)


def test_a_crawl_copied_into_postgresql_with_its_queue_is_finished_there(
    pg_url: str, tmp_path: Path
) -> None:
    with DemoWeb(generate(12, 6, seed=2, traps=False)) as small:
        hosts = small.write_hosts_file(tmp_path / "hosts")
        full, part = tmp_path / "full.db", tmp_path / "part.db"
        asyncio.run(api.crawl_async(full, settings_for(small, hosts, pinned_only=True)))
        capped = settings_for(small, hosts, pinned_only=True, max_pages=10)
        asyncio.run(api.crawl_async(part, capped))
        linkgraph.copy(str(part), pg_url)
        assert 0 < len(pages(pg_url)) < len(pages(full))
        rest = settings_for(small, hosts, pinned_only=True, max_pages=None)
        asyncio.run(api.crawl_async(pg_url, rest))
    assert pages(pg_url) == pages(full)


async def test_leases_go_to_one_worker_and_come_back_with_their_state(pg_url: str) -> None:
    from linkgraph.storage.leases import HostState
    from linkgraph.storage.pg.fleet import PgLeases
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import QueueItem

    async with await PgWriter.open(pg_url) as writer:
        writer.add_queued([QueueItem("http://a.test/", 0), QueueItem("http://a.test/x", 1)])
    first = await PgLeases.open(pg_url, seconds=60)
    second = await PgLeases.open(pg_url, seconds=60)
    try:
        assert (await first.start(), await second.start()) == (1, 2)
        (claim,) = await first.claim(10)
        assert (claim.host, claim.queued, claim.state, claim.holder_vanished) == (
            "a.test", 2, None, False,
        )  # fmt: skip
        assert await second.claim(10) == []  # held, and not for long gone
        assert await first.renew({"a.test": HostState(next_in=30.0, delay=2.0)}, 7) == {"a.test"}
        began = time.monotonic()
        await first.release({"a.test": HostState(next_in=30.0, delay=2.0, parks=1)})
        (again,) = await second.claim(10)
        took = time.monotonic() - began
        assert again.state is not None and not again.holder_vanished
        assert (again.state.delay, again.state.parks) == (2.0, 1)
        # The same moment, on the server's clock: 30 s on from the release.
        assert 30.0 - took <= again.state.next_in <= 30.0
        # The holder vanishes (its connection closes): its host goes as soon as the
        # server has ended the session, flagged, long before the lease's 60 s.
        await second.close()
        deadline = time.monotonic() + 20
        while not (taken := await first.claim(10)):
            assert time.monotonic() < deadline, "the vanished worker's host was not freed"
            await asyncio.sleep(0.05)
        assert [c.holder_vanished for c in taken] == [True]
        # Its worker may be alive without its session: the host waits out its lease.
        assert 60.0 - (time.monotonic() - began) <= taken[0].lapses_in <= 60.0
        assert not await first.drained()
    finally:
        await first.close()
        await second.close()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT id, pages FROM workers ORDER BY id").fetchall()
    assert rows == [(1, 7), (2, 0)]


def test_a_later_crawl_starts_a_new_pass_as_on_sqlite(pg_url: str, tmp_path: Path) -> None:
    # A host retired by --max-pages-per-host, and its request count, belong to that crawl:
    # a later crawl with the cap raised, then a --refresh, fetch what they fetch on SQLite.
    with DemoWeb(generate(8, 8, seed=4, traps=False)) as small:
        hosts = small.write_hosts_file(tmp_path / "hosts")
        lite = tmp_path / "lite.db"
        steps = ({"max_pages_per_host": 2}, {"max_pages_per_host": 100}, {"refresh": True})
        for step in steps:
            settings = settings_for(small, hosts, pinned_only=True, **step)
            on_sqlite = asyncio.run(api.crawl_async(lite, settings)).pages
            on_pg = asyncio.run(api.crawl_async(pg_url, settings)).pages
            assert (step, on_pg, pages(pg_url)) == (step, on_sqlite, pages(lite))
            assert on_sqlite > 0


async def test_a_new_pass_resets_what_the_last_pass_left_on_its_hosts(pg_url: str) -> None:
    from linkgraph.storage.leases import HostState
    from linkgraph.storage.pg.fleet import PgLeases
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import QueueItem

    async with await PgWriter.open(pg_url) as writer:
        writer.add_queued([QueueItem("http://a.test/", 0), QueueItem("http://b.test/", 0)])
    last = await PgLeases.open(pg_url, seconds=60)
    await last.start()
    assert sorted(c.host for c in await last.claim(10)) == ["a.test", "b.test"]
    left = {
        "a.test": HostState(next_in=0.0, delay=1.0, requests=2, retired=True),
        "b.test": HostState(next_in=30.0, delay=1.0, requests=5, parks=2, skip_reason="parked"),
    }
    # Read before the release: the server dates the parking's wait from its statement,
    # which begins after this and may end well before the answer reaches us.
    released = time.monotonic()
    await last.release(left)
    # A worker joining while another runs is in the same pass: the states hold.
    joining = await PgLeases.open(pg_url, seconds=60)
    await joining.start()
    try:
        (claim,) = await joining.claim(10)  # a.test stays given up for this pass
        assert claim.host == "b.test" and claim.state is not None
        assert (claim.state.requests, claim.state.skip_reason) == (5, "parked")
    finally:
        # Both leave the crawl as a worker does: gone at once, not when the server has
        # ended their sessions (a closed connection's may linger for a moment).
        await joining.finish(0)
        await last.finish(0)
    # The next pass: nothing given up, nothing counted; the parking's wait still holds.
    later = await PgLeases.open(pg_url, seconds=60)
    await later.start()
    try:
        claims = {c.host: c.state for c in await later.claim(10)}
    finally:
        await later.close()
    took = time.monotonic() - released
    assert sorted(claims) == ["a.test", "b.test"]
    fresh = {n: (s.requests, s.parks, s.skip_reason, s.retired) for n, s in claims.items()}
    assert fresh == {"a.test": (0, 0, None, False), "b.test": (0, 0, None, False)}
    assert 30.0 - took <= claims["b.test"].next_in <= 30.0


async def test_a_queue_read_the_server_refuses_is_one_store_error(pg_url: str) -> None:
    # The queue reader is connected when the writer opens: once the server has ended
    # every session of the store, a read fails as the store's error, not as a driver
    # traceback (nor, before, by connecting late to a server with no connection to give).
    import psycopg
    from linkgraph.storage.errors import StoreError
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import QueueItem

    async with await PgWriter.open(pg_url) as writer:
        writer.add_queued([QueueItem("http://a.test/", 0)])
        await writer.flush()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(StoreError, match=r"^cannot read the queue of postgresql://"):
            await writer.take_frontier("a.test", 10)
        with contextlib.suppress(StoreError):
            await writer.close()


def test_a_worker_stopping_early_reports_the_queue_left_in_the_store(
    pg_url: str, tmp_path: Path
) -> None:
    # Its own hosts were given back as it stopped: what is left is the store's queue.
    import psycopg

    with DemoWeb(generate(6, 6, seed=2, traps=False)) as small:
        hosts = small.write_hosts_file(tmp_path / "hosts")
        capped = settings_for(small, hosts, pinned_only=True, max_pages=5)
        stats = asyncio.run(api.crawl_async(pg_url, capped))
    with psycopg.connect(pg_url) as conn:
        ((left,),) = conn.execute("SELECT count(*) FROM frontier").fetchall()
    assert left > 0
    assert stats.queued == left


async def test_a_worker_and_a_crawl_of_the_version_before_the_fleet_refuse_each_other(
    pg_url: str,
) -> None:
    # That version crawled alone, holding this lock ("LKGW") exclusively for its run.
    import psycopg
    from linkgraph.storage.errors import StoreError
    from linkgraph.storage.pg.writer import PgWriter

    old_lock = 0x4C4B4757
    async with await PgWriter.open(pg_url):
        with psycopg.connect(pg_url, autocommit=True) as old:
            ((took,),) = old.execute("SELECT pg_try_advisory_lock(%s)", (old_lock,)).fetchall()
        assert took is False  # the old crawl would refuse to start
    with psycopg.connect(pg_url, autocommit=True) as old:
        old.execute("SELECT pg_advisory_lock(%s)", (old_lock,))
        with pytest.raises(StoreError, match=r"^postgresql://\S+ is being crawled by an older"):
            await PgWriter.open(pg_url)
