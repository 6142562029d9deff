"""The frontier's memory: the seen set stays exact across merges and merges in place,
per-host queues cost nothing while empty, and the writer's page cache is bounded.

What these structures cost at a million URLs is measured by
``scripts/bench_frontier_memory.py`` (docs/benchmarks.md, "Frontier memory"); these
tests pin the behaviour the savings must not change and the rules that give them.
"""

from __future__ import annotations

import random
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from linkgraph.crawler.frontier import Frontier, SeenSet
from linkgraph.crawler.urls import Scope
from linkgraph.storage.records import QueueItem
from linkgraph.storage.writer import StoreWriter

pytestmark = pytest.mark.timeout(60)

HASH = (-(2**63), 2**63)


def test_seen_set_matches_a_python_set_across_many_merges() -> None:
    # A seeded stream as the frontier makes it: most keys new, some repeats of recent and
    # of long-merged ones, and now and then a bulk update (a resumed crawl's hashes).
    rng = random.Random(2026)
    seen, reference = SeenSet(recent=64), set()
    history: list[int] = []
    for step in range(20_000):
        roll = rng.random()
        if roll < 0.002:
            bulk = [rng.randrange(*HASH) for _ in range(300)] + rng.sample(history, 50)
            seen.update(bulk)
            reference.update(bulk)
            history += bulk
            continue
        key = rng.choice(history) if history and roll < 0.3 else rng.randrange(*HASH)
        assert (key in seen) == (key in reference), step
        if key not in reference:
            seen.add(key)
            reference.add(key)
            history.append(key)
    assert len(seen) == len(reference)
    assert all(key in seen for key in reference)
    strangers = [rng.randrange(*HASH) for _ in range(5_000)]
    assert not any(key in seen for key in strangers if key not in reference)


def test_seen_set_keeps_the_extreme_hashes() -> None:
    seen = SeenSet(recent=2)
    seen.update([0, 2**63 - 1])
    for key in (-(2**63), 5, 2**63 - 2):
        seen.add(key)
    assert [k in seen for k in (-(2**63), 0, 5, 2**63 - 2, 2**63 - 1, 1, -1)] == [True] * 5 + [
        False,
        False,
    ]
    assert len(seen) == 5


def test_seen_set_counts_a_key_once_when_an_update_repeats_a_recent_one() -> None:
    seen = SeenSet(recent=100)
    seen.add(7)
    seen.add(8)
    seen.update([7, 9])  # 7 is still among the recent members
    assert len(seen) == 3
    seen.update([8, 9, 9])
    assert len(seen) == 3


def test_seen_set_merge_allocates_far_less_than_the_set_itself() -> None:
    rng = np.random.default_rng(7)
    tracemalloc.start()  # before the array is made, so that its growth is traced as growth
    try:
        seen = SeenSet(recent=4096)
        seen.update(rng.integers(*HASH, size=1_000_000, dtype=np.int64).tolist())
        fresh = rng.integers(*HASH, size=4096, dtype=np.int64).tolist()
        for key in fresh[:-1]:
            seen.add(key)
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        seen.add(fresh[-1])  # the merge: 4096 keys into a million
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(seen._sorted) == 1_004_096
    # np.union1d made three temporaries of the whole array (4x its 8 MB at the peak); in
    # place, the array grows by the new keys and the rest is blocks of 64 KiB.
    assert peak < seen._sorted.nbytes / 8


def frontier(window: int = 3, budget: int = 100) -> Frontier:
    return Frontier(Scope("any", []), delay=1.0, window=window, budget=budget)


def test_a_host_with_nothing_in_memory_holds_no_queue_storage() -> None:
    f = frontier(window=2, budget=2)
    for i in range(3):
        f.offer(f"http://a.test/{i}", 1)
    offered = f.offer("http://b.test/", 1)  # the budget is spent: b's entry is spilled
    assert offered is not None
    b = offered[0]
    assert b.spilled == 1 and len(b.queue) == 0
    # An empty deque is 760 bytes (one 64-slot block is allocated up front).
    assert sys.getsizeof(b.queue) <= 64


def test_frontier_hands_out_a_hosts_urls_in_order_with_retries_first() -> None:
    f = frontier(window=3)
    for i in range(5):
        f.offer(f"http://a.test/{i}", 1)
    host = f.hosts["a.test"]
    assert (len(host.queue), host.spilled, f.in_memory) == (3, 2, 3)
    first = f.pop(host)
    assert first.url == "http://a.test/0"
    f.push_back(host, first)  # a retry goes back to the head
    assert [f.pop(host).url for _ in range(3)] == [f"http://a.test/{i}" for i in (0, 1, 2)]
    assert f.in_memory == 0
    f.refilled(host, [QueueItem("http://a.test/3", 1), QueueItem("http://a.test/4", 1)])
    assert [f.pop(host).url for _ in range(2)] == ["http://a.test/3", "http://a.test/4"]
    assert (host.spilled, f.in_memory) == (0, 0)


def test_a_host_never_fetched_from_holds_no_retry_or_head_bookkeeping() -> None:
    f = frontier()
    offered = f.offer("http://a.test/x", 1)
    assert offered is not None
    host = offered[0]
    # Made on first use: an empty set is 216 bytes, and most hosts are never fetched from.
    assert host._retries is None and host._head_refused is None
    host.retries["http://a.test/x"] = 1
    host.head_refused.add("http://a.test/x")
    assert host.retries == {"http://a.test/x": 1}
    assert "http://a.test/x" in host.head_refused


async def test_the_writer_page_cache_is_at_most_8_mib(tmp_path: Path) -> None:
    # The page cache is the frontier's largest fixed cost (docs/benchmarks.md).
    async with await StoreWriter.open(tmp_path / "s.db") as writer:
        async with writer._conn.execute("PRAGMA cache_size") as cur:
            row = await cur.fetchone()
    assert row is not None
    kib = -row[0] if row[0] < 0 else row[0] * 4  # negative: KiB; positive: pages
    assert 0 < kib <= 8192
