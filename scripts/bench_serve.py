"""Benchmark ``linkgraph serve``: server time of the pages people open most.

p50 / p99 of the time from request to the last byte of the answer, over loopback, for a
target's overview, backlinks, referring-domains and anchors pages (200 requests each by
default), for URLs with at least ``--min-backlinks`` current external links (the
synthetic store of ``scripts/bench_store.py``). The server is the real app
(:func:`linkgraph.web.make_app`) on an aiohttp test server in this process; the first
request of each page (the chart renderer's warm-up, the authority tables read from
``top``) is timed apart and reported as ``first``. The app's start-up (``make_app``:
whatever it reads ahead) is timed too, with the growth of this process's peak resident
memory over it, and this process's CPU time per request (server and client) beside the
wall time: on a shared machine the wall time waits for the CPU, the CPU time does not.
The report names the machine and its load average before and after.

Usage::

    python scripts/bench_store.py --links 1000000 --db /tmp/bench-store.db --no-peer --skip-rank
    linkgraph rank --db /tmp/bench-store.db
    python scripts/bench_serve.py --db /tmp/bench-store.db --repeat 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
from bench_store import pick_targets  # beside this script: run it as a script

import linkgraph

PAGES = ("overview", "backlinks", "referring-domains", "anchors")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def measure(
    db: Path, targets: list[str], repeat: int, startup: dict[str, float]
) -> dict[str, dict[str, float]]:
    from aiohttp.test_utils import TestClient, TestServer

    from linkgraph.web import make_app

    results: dict[str, dict[str, float]] = {}
    with linkgraph.open_store(db) as store:
        rss = _peak_rss_mb()
        t = time.perf_counter()
        app = make_app(store, db)
        startup["make_app_ms"] = round((time.perf_counter() - t) * 1000, 1)
        startup["peak_rss_growth_mb"] = round(_peak_rss_mb() - rss, 1)
        if hasattr(store, "domain_index"):  # the arrays the pages rank hub domains with
            index = store.domain_index()
            startup["domain_index_build_ms"] = round(index.build_seconds * 1000, 1)
            startup["domain_index_mb"] = round(index.nbytes / 2**20, 2)
        print("start-up", startup, file=sys.stderr)
        async with TestClient(TestServer(app)) as client:
            for page in PAGES:
                times: list[float] = []
                cpu: list[float] = []
                first = None
                for i in range(repeat):
                    target = targets[i % len(targets)]
                    t, c = time.perf_counter(), time.process_time()
                    response = await client.get(f"/{page}?target={quote(target, safe='')}")
                    await response.read()
                    elapsed = (time.perf_counter() - t) * 1000
                    used = (time.process_time() - c) * 1000
                    assert response.status == 200, (page, response.status)
                    if first is None:
                        first = elapsed
                    else:
                        times.append(elapsed)
                        cpu.append(used)
                results[page] = {
                    "first_ms": round(first or 0.0, 1),
                    "p50_ms": round(float(np.percentile(times, 50)), 1),
                    "p99_ms": round(float(np.percentile(times, 99)), 1),
                    # This process's CPU (server and client, every thread) per request:
                    # what the page costs, whatever else the machine runs.
                    "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 1),
                    "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 1),
                    "requests": len(times) + 1,
                }
                print(page, results[page], file=sys.stderr)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--db", default="/tmp/bench-store.db", help="a ranked store (default %(default)s)"
    )
    ap.add_argument("--repeat", type=int, default=200, help="requests per page (default 200)")
    ap.add_argument(
        "--min-backlinks", type=int, default=10_000, help="targets' size (default 10000 links)"
    )
    ap.add_argument("--targets", type=int, default=3, help="distinct targets, in turn (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write the results here, as JSON")
    args = ap.parse_args()
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    sizes = [args.min_backlinks * (i + 1) for i in range(args.targets)]
    picked = pick_targets(conn, sizes)
    conn.close()
    if not picked:
        print(f"no target with {args.min_backlinks:,}+ links in {args.db}", file=sys.stderr)
        return 1
    for url, links, backlinks in picked:
        print(f"target {url}: {links:,} links from {backlinks:,} pages", file=sys.stderr)
    load_before = os.getloadavg()
    startup: dict[str, float] = {}
    results = asyncio.run(measure(Path(args.db), [u for u, _, _ in picked], args.repeat, startup))
    report = {
        "db": args.db,
        "targets": [{"url": u, "links": n, "backlinks": b} for u, n, b in picked],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "startup": startup,
        "pages": results,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
