"""Benchmark a crawl into PostgreSQL against the same crawl into SQLite: the demo web
crawled without delay by one process into each backend, pages/s and this process's CPU,
then the writer alone (batches of pages with links and queue entries, no network).

The demo web is served from this process, so its CPU is counted with the crawler's; the
PostgreSQL server's CPU is not. Both crawls must store the same pages and links.

Without ``--pg-url`` the script starts a throwaway PostgreSQL server as the tests do
(``tests/pg_support.py``: initdb into a temporary directory, a Unix socket, fsync off)
and stops it at the end.

Usage::

    python scripts/bench_pg_crawl.py --sites 300 --pages 20
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _benchutil import add_number, add_pg_url, bench_parser, parse_args, report_json, throwaway_pg

REPO = Path(__file__).resolve().parent.parent


def crawls(sites: int, pages: int, pg_url: str, tmp: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tests"))
    from crawl_support import settings_for

    from linkgraph import api
    from linkgraph.demo import DemoWeb, generate

    out: dict[str, Any] = {}
    with DemoWeb(generate(sites, pages, seed=3, traps=False)) as web:
        hosts = web.write_hosts_file(tmp / "hosts")
        for name, db in (("sqlite", str(tmp / "links.db")), ("postgresql", pg_url)):
            web.reset()
            settings = settings_for(web, hosts, delay=0.0, quiet=True)
            start, cpu = time.perf_counter(), time.process_time()
            stats = asyncio.run(api.crawl_async(db, settings))
            wall = time.perf_counter() - start
            out[name] = {
                "pages": stats.pages,
                "links": stats.links,
                "seconds": round(wall, 2),
                "pages_per_s": round(stats.pages / wall, 1),
                "process_cpu_s": round(time.process_time() - cpu, 2),
            }
    if (out["sqlite"]["pages"], out["sqlite"]["links"]) != (
        out["postgresql"]["pages"],
        out["postgresql"]["links"],
    ):
        raise SystemExit(f"the two crawls differ: {out}")
    return out


async def _write(writer: Any, batches: int, per_batch: int, links: int) -> dict[str, float]:
    from linkgraph.storage.records import Link, Page, QueueItem

    rng = random.Random(1)
    made = []
    for b in range(batches):
        batch = []
        for i in range(per_batch):
            url = f"http://h{(b * per_batch + i) % 300}.test/p{b}-{i}"
            targets = [
                Link(f"http://h{rng.randrange(1000)}.test/x{rng.randrange(5000)}", f"anchor {j}")
                for j in range(links)
            ]
            batch.append(Page(url, 1, time.time(), status=200, links=targets, title="t"))
        made.append(batch)
    start, cpu = time.perf_counter(), time.process_time()
    for batch in made:
        for page in batch:
            writer.add_page(page, [QueueItem(link.target, 2) for link in page.links[:10]])
        await writer.flush()
    wall = time.perf_counter() - start
    rows = batches * per_batch * links
    return {
        "link_rows": rows,
        "seconds": round(wall, 2),
        "link_rows_per_s": round(rows / wall),
        "process_cpu_s": round(time.process_time() - cpu, 2),
    }


async def writers(pg_url: str, tmp: Path, batches: int) -> dict[str, Any]:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.writer import StoreWriter

    async with await StoreWriter.open(tmp / "writer.db", batch_pages=10**9) as sqlite:
        lite = await _write(sqlite, batches, 200, 40)
    async with await PgWriter.open(pg_url, batch_pages=10**9) as pg:
        post = await _write(pg, batches, 200, 40)
    return {"sqlite": lite, "postgresql": post}


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", json=True)
    add_number(parser, "--sites", 300, "demo sites to crawl")
    add_number(parser, "--pages", 20, "pages per demo site")
    add_number(parser, "--batches", 20, "writer batches of 200 pages x 40 links")
    add_pg_url(parser)
    args = parse_args(parser, argv)
    with throwaway_pg(args.pg_url) as server:
        tmp = Path(tempfile.mkdtemp(prefix="bench-pg-crawl-"))
        crawl_url = args.pg_url or server.url(server.create_database())
        writer_url = server.url(server.create_database()) if server else None
        result = {"crawl": crawls(args.sites, args.pages, crawl_url, tmp)}
        if writer_url is not None:  # the writer alone needs a second, empty database
            result["writer"] = asyncio.run(writers(writer_url, tmp, args.batches))
    report_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
