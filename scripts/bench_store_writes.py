"""CPU a crawled page costs the store's writer: the event loop's share and SQLite's, by statement.

The pages are the ones ``bench_crawl.py`` crawls (the demo web of 300 hosts x 50 pages,
seed 7, as the demo server serves them; ``bench_parse.py``'s page set), parsed once by the
parse worker's ``parse_page`` and made into the crawl's page records as the crawl makes
them. Then, timed: ``StoreWriter.add_page`` for each page and ``flush`` every 1,000 (the
crawl's batch), into a fresh store, with nothing else running, so that what a crawl's
profile spreads over its event loop is measured alone. It prints the event loop thread's
CPU (``time.thread_time()``: the writer's Python), the writer thread's (SQLite), and
SQLite's CPU per kind of statement (timed in its thread around each call), per page.

To compare two versions of the code, run it twice, the other one installed in DIR with
``pip install --no-deps --target DIR`` and put first with ``PYTHONPATH=DIR``.

Examples::

    python scripts/bench_store_writes.py
    python scripts/bench_store_writes.py --repeat 3 --statements 20
"""

from __future__ import annotations

import asyncio
import collections
import gc
import marshal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import add_number, bench_parser, parse_args
from bench_parse import pages as bench_pages


def crawl_records(sites: int, per_site: int) -> list[Any]:
    """The bench web's pages as the crawl records them (``crawler.pagefetch``)."""
    from linkgraph.crawler.parsing import _unpack, parse_page
    from linkgraph.storage.records import Link, Page

    records = []
    for i, (body, content_type, url) in enumerate(bench_pages(sites, per_site)):
        found = _unpack(
            marshal.loads(marshal.dumps(parse_page(body, content_type, url, "linkgraph", True)))
        )
        page = Page(url, 1, 1_700_000_000.0 + i, status=200, final_url=url, size=len(body))
        page.content_type, page.elapsed = content_type, 0.01
        page.title, page.lang, page.canonical = found.title, found.lang, found.canonical
        page.text, page.url_info, page.links = found.text, found.url_info, found.links
        if found.canonical is not None and found.canonical != url:
            page.links.append(Link(found.canonical, kind="canonical"))
        records.append(page)
    return records


def _timed_statements(seconds: dict[str, list[float]]) -> None:
    """Time every call aiosqlite runs in its thread, by the first words of its SQL."""
    import aiosqlite

    run = aiosqlite.Connection._execute

    async def execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        def timed() -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                sql = args[0] if args and isinstance(args[0], str) else fn.__name__
                entry = seconds[" ".join(str(sql).split()[:4])[:50]]
                entry[0] += 1
                entry[1] += time.thread_time() - start

        return await run(self, timed)

    aiosqlite.Connection._execute = execute  # type: ignore[method-assign]


async def one_round(
    records: list[Any], db: Path, seconds: dict[str, list[float]]
) -> dict[str, float]:
    from linkgraph.storage.writer import StoreWriter

    writer = await StoreWriter.open(db, batch_pages=1000)
    # As a crawl runs (crawler.engine): the heap frozen, young objects collected rarely.
    gc.freeze()
    gc.set_threshold(500_000, 50, 1000)
    seconds.clear()
    loop_cpu, cpu = time.thread_time(), time.process_time()
    for i, page in enumerate(records, 1):
        writer.add_page(page)
        if i % 1000 == 0:
            await writer.flush()
    await writer.flush()
    loop_cpu, cpu = time.thread_time() - loop_cpu, time.process_time() - cpu
    await writer.close()
    gc.unfreeze()
    n = len(records)
    return {
        "loop_ms": loop_cpu * 1000 / n,
        "sqlite_ms": (cpu - loop_cpu) * 1000 / n,
        "links": writer.links,
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    add_number(parser, "--sites", 300, "demo hosts")
    add_number(parser, "--pages", 50, "pages per host")
    add_number(parser, "--repeat", 3, "rounds, each into a fresh store")
    add_number(parser, "--statements", 12, "kinds of statement listed")
    args = parse_args(parser, argv)
    records = crawl_records(args.sites, args.pages)
    seconds: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    _timed_statements(seconds)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-store-writes-") as tmp:
        for round_no in range(1, args.repeat + 1):
            result = asyncio.run(one_round(records, Path(tmp) / f"{round_no}.db", seconds))
            rounds.append(result)
            print(
                f"round {round_no}: {len(records):,} pages, {result['links']:,} links;"
                f" event loop {result['loop_ms']:.3f} ms a page, SQLite {result['sqlite_ms']:.3f}"
            )
    n = len(records)
    print("\nSQLite's CPU by statement, last round (ms a page; calls):")
    for sql, (calls, spent) in sorted(seconds.items(), key=lambda kv: -kv[1][1])[: args.statements]:
        print(f"  {spent * 1000 / n:7.4f}  {calls:6d}  {sql}")
    loop = statistics.median(r["loop_ms"] for r in rounds)
    sqlite = statistics.median(r["sqlite_ms"] for r in rounds)
    print(f"\nmedian of {len(rounds)} rounds: event loop {loop:.3f} ms a page, SQLite {sqlite:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
