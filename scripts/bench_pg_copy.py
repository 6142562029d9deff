"""Benchmark `linkgraph copy`: a SQLite store to PostgreSQL and back, time and peak memory;
then the backlink queries on both backends.

Each direction runs as its own ``linkgraph copy`` process, so its peak resident memory
(``ru_maxrss`` from ``wait4``) is the copy's own: a streamed copy keeps it flat as the
store grows. The round trip must give back as many links as the store holds.

Then ``backlinks``, ``referring_domains`` and ``anchors`` (limit 100) for the targets with
the most, the 100th most and the 1000th most links, on the SQLite store and on its
PostgreSQL copy, each opened once (``linkgraph.open_store``): the median of ``--repeat``
calls after one warm-up call.

Without ``--pg-url`` the script starts a throwaway PostgreSQL server as the tests do
(``tests/pg_support.py``: initdb into a temporary directory, a Unix socket, fsync off)
and stops it at the end; build a store first with ``scripts/bench_store.py``.

Usage::

    python scripts/bench_pg_copy.py --db /tmp/bench-store.db
"""

from __future__ import annotations

import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _benchutil import (
    add_number,
    add_pg_url,
    bench_parser,
    cpu_model,
    parse_args,
    report_json,
    throwaway_pg,
)

# Starts the command and prints its exit code and peak RSS (KiB) from wait4. It runs in a
# small interpreter of its own because Linux keeps a process's peak RSS across exec: a
# child forked straight from this script would report this script's size (after the
# queries, 140 MiB) however little the copy used.
_MEASURE = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def timed_copy(src: str, dst: str) -> dict[str, float]:
    """``linkgraph copy SRC DST`` in a child process: seconds and peak RSS (MiB)."""
    started = time.perf_counter()
    measured = subprocess.run(
        [sys.executable, "-S", "-c", _MEASURE, sys.executable, "-P", "-m", "linkgraph", "copy",
         src, dst],
        stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    code, peak_kib = (int(n) for n in measured.stdout.split())
    if code != 0:
        raise SystemExit(f"linkgraph copy {src} {dst} failed")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}


def links_in(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM links").fetchone()[0]


def query_times(db: Path, pg_url: str, repeat: int) -> list[dict[str, object]]:
    """Median milliseconds of each query for three targets, on both backends."""
    import linkgraph

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        ranked = conn.execute(
            "SELECT t.url, x.n FROM (SELECT target_id, count(*) AS n FROM links"
            " GROUP BY target_id ORDER BY n DESC LIMIT 1000) x JOIN urls t ON t.id = x.target_id"
            " ORDER BY x.n DESC"
        ).fetchall()
    picks = [ranked[i] for i in (0, 99, 999) if i < len(ranked)]
    rows = []
    for backend, where in (("sqlite", str(db)), ("postgresql", pg_url)):
        with linkgraph.open_store(where) as store:
            for url, n in picks:
                for query in ("backlinks", "referring_domains", "anchors"):
                    ask = getattr(linkgraph, query)
                    ask(store, url)  # warm-up: the pages it reads come into the cache
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        ask(store, url)
                        times.append(time.perf_counter() - started)
                    ms = round(statistics.median(times) * 1000, 1)
                    rows.append({"backend": backend, "query": query, "links": n, "ms": ms})
    return rows


def run(db: Path, pg_url: str, repeat: int) -> dict[str, object]:
    links = links_in(db)
    with tempfile.TemporaryDirectory() as tmp:
        back = Path(tmp) / "back.db"
        to_pg = timed_copy(str(db), pg_url)
        queries = query_times(db, pg_url, repeat) if repeat else []
        to_sqlite = timed_copy(pg_url, str(back))
        returned = links_in(back)
    if returned != links:
        raise SystemExit(f"the round trip lost links: {links:,} in, {returned:,} back")
    for step in (to_pg, to_sqlite):
        step["links_per_s"] = round(links / step["seconds"])
    return {
        "cpu": cpu_model(),
        "links": links,
        "store_mib": round(db.stat().st_size / 2**20, 1),
        "sqlite_to_postgresql": to_pg,
        "postgresql_to_sqlite": to_sqlite,
        "queries": queries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", json=True)
    parser.add_argument("--db", required=True, help="the SQLite store to copy")
    add_number(parser, "--repeat", 5, "timed calls per query and target (0: no queries)")
    add_pg_url(parser)
    args = parse_args(parser, argv)
    with throwaway_pg(args.pg_url) as server:
        url = args.pg_url or server.url(server.create_database())
        result = run(Path(args.db), url, args.repeat)
    report_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
