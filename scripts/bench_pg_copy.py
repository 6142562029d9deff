"""Benchmark `linkgraph copy`: a SQLite store to PostgreSQL and back, time and peak memory.

Each direction runs as its own ``linkgraph copy`` process, so its peak resident memory
(``ru_maxrss`` from ``wait4``) is the copy's own: a streamed copy keeps it flat as the
store grows. The round trip must give back as many links as the store holds.

Without ``--pg-url`` the script starts a throwaway PostgreSQL server as the tests do
(``tests/pg_support.py``: initdb into a temporary directory, a Unix socket, fsync off)
and stops it at the end; build a store first with ``scripts/bench_store.py``.

Usage::

    python scripts/bench_pg_copy.py --db /tmp/bench-store.db
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _benchutil import bench_parser, cpu_model, parse_args

REPO = Path(__file__).resolve().parent.parent


def timed_copy(src: str, dst: str) -> dict[str, float]:
    """``linkgraph copy SRC DST`` in a child process: seconds and peak RSS (MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-P", "-m", "linkgraph", "copy", src, dst])
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"linkgraph copy {src} {dst} failed")
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def links_in(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM links").fetchone()[0]


def run(db: Path, pg_url: str) -> dict[str, object]:
    links = links_in(db)
    with tempfile.TemporaryDirectory() as tmp:
        back = Path(tmp) / "back.db"
        to_pg = timed_copy(str(db), pg_url)
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
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", json=True)
    parser.add_argument("--db", required=True, help="the SQLite store to copy")
    parser.add_argument(
        "--pg-url", help="an empty PostgreSQL database (default: start a throwaway server)"
    )
    args = parse_args(parser, argv)
    server = None
    if args.pg_url is None:
        sys.path.insert(0, str(REPO / "tests"))
        from pg_support import PgServer, find_binaries

        binaries = find_binaries()
        if binaries is None:
            raise SystemExit("no PostgreSQL server binaries (initdb, pg_ctl): give --pg-url")
        server = PgServer(binaries).start()
    try:
        url = args.pg_url or server.url(server.create_database())  # type: ignore[union-attr]
        result = run(Path(args.db), url)
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
