"""scripts/bench_crawl.py's helpers (scripts/_crawlchecks.py): the py-spy breakdown, and the check
that linkgraph did the peers' work."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "_crawlchecks.py"

MAIN = "thread (101): MainThread;<module> (bench_crawl.py:571);run (linkgraph/api.py:62)"
LOOP = MAIN + ";Runner.run (asyncio/runners.py:118)"
RAW = "\n".join(
    [
        # The engine's parse thread, parsing the first pages before the workers start.
        "thread (102): page-parser;Thread._bootstrap (threading.py:1002);"
        "_ParseThread._run (crawler/parsing.py:262);extract (crawler/extract.py:536) 7",
        # aiosqlite's connection thread.
        "thread (103): Thread-1 (_connection_worker_thread);Thread._bootstrap (threading.py:1002);"
        "_connection_worker_thread (aiosqlite/core.py:66) 5",
        # The loop handing a page to the parse worker, called from the engine.
        LOOP + ";Engine._step (crawler/engine.py:323);Engine._parse (crawler/engine.py:480);"
        "PageParser.parse (crawler/parsing.py:359);_Worker.submit (crawler/parsing.py:220) 11",
        # The loop handing a page to the parse thread: still the loop's time.
        LOOP
        + ";Engine._parse (crawler/engine.py:480);_ParseThread.parse (crawler/parsing.py:249) 2",
        # The engine's own work on the loop.
        LOOP + ";Engine._step (crawler/engine.py:323);Engine._record (crawler/engine.py:600) 3",
        # The HTTP client's Python, and its socket send.
        LOOP + ";PageFetch.run (crawler/pagefetch.py:69);HttpClient.send (crawler/client.py:340)"
        ";_Connection.on_headers_complete (crawler/client.py:190) 4",
        LOOP + ";PageFetch.run (crawler/pagefetch.py:69);HttpClient.send (crawler/client.py:330)"
        ";_Connection.start (crawler/client.py:150);_Connection.send (crawler/client.py:160) 6",
    ]
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crawlchecks_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_parse_thread_and_sqlite_thread_are_told_apart() -> None:
    threads, _ = _load().spy_counts(RAW)
    assert threads["page-parser thread (the first pages, before the workers)"] == 7
    assert threads["SQLite writer thread (aiosqlite)"] == 5
    assert threads["event loop thread"] == 26


def test_parse_hand_off_on_the_loop_is_not_charged_to_the_engine() -> None:
    _, buckets = _load().spy_counts(RAW)
    assert buckets["parse hand-off (pickles to and from the worker, Link records)"] == 13
    assert buckets["engine (records, follow lists, steps)"] == 3


def test_the_http_clients_python_and_its_socket_send_are_told_apart() -> None:
    _, buckets = _load().spy_counts(RAW)
    assert buckets["HTTP client (crawler/client.py)"] == 4
    assert buckets["socket send (syscall; on loopback it runs the receive side too)"] == 6


def test_link_check_counts_unfetched_urls_by_reason(tmp_path: Path) -> None:
    db = tmp_path / "crawl.db"
    home, deep, private = "http://a.test/", "http://a.test/deep", "http://a.test/private/x"

    async def write() -> None:
        async with await StoreWriter.open(db) as writer:
            links = [Link(deep, "deep", (), "content"), Link(private, "private", (), "content")]
            writer.add_page(Page(home, 0, 1.0, status=200, final_url=home, links=links))
            writer.add_page(Page(deep, 21, 1.0, error="trap-depth"))
            writer.add_page(Page(private, 1, 1.0, error="robots"))

    asyncio.run(write())
    check = _load().check_linkgraph(db, {})
    assert check["not_fetched"] == {"robots": 1, "trap-depth": 1}
    assert check["fetched_pages"] == 1
