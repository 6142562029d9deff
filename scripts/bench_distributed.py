"""Benchmark several crawl workers on one PostgreSQL store against one SQLite process.

The demo web (``--sites`` hosts of ``--pages`` pages, no delay) is crawled by one
``linkgraph crawl`` process into SQLite, then by 1, 2 and 4 (``--workers``) processes
together into a fresh PostgreSQL database each: pages/s, the CPU seconds of the crawl
processes and of the database server, and what the demo web's request log says about
politeness (URLs fetched twice, robots.txt fetched twice, hosts with two requests at once,
disallowed URLs fetched). Every run must store the same pages and links.

The demo web is served from this process; the crawlers are child processes (``python -P
-m linkgraph crawl``). Without ``--pg-url`` the script starts a throwaway PostgreSQL
server as the tests do (``tests/pg_support.py``) and stops it at the end; with it, each
run gets a database of its own made (and dropped) on that server, which needs the
CREATEDB privilege. The database CPU is measured only on the throwaway server (its
processes' /proc times, the ended backends' included).

With ``--repeat N`` every contender runs N times, the order rotated each round, and the
summary gives per worker count the median over rounds of PostgreSQL's pages/s over the
same round's SQLite run ("of SQLite"), and the same for CPU seconds (the SQLite process's
over the workers' plus the server's).

Usage::

    python scripts/bench_distributed.py --sites 1000 --pages 6
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _benchutil import (
    add_number,
    add_pg_url,
    bench_parser,
    cpu_model,
    parse_args,
    report_json,
    throwaway_pg,
)

REPO = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")


def server_cpu(server: Any) -> float | None:
    """CPU seconds the throwaway server's processes have used, ended backends included
    (a process's reaped children count in its own cutime/cstime)."""
    if server is None:
        return None
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        pid, ppid = int(entry.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / _TICK  # utime stime cutime cstime
        elif ppid == postmaster:
            total += sum(int(f) for f in fields[11:13]) / _TICK
    return total


def children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def politeness(web: Any) -> dict[str, int]:
    hits = web.requests
    pages = Counter((h.site, h.path) for h in hits if h.path != "/robots.txt")
    robots = Counter(h.site for h in hits if h.path == "/robots.txt")
    return {
        "requests": len(hits),
        "fetched_twice": sum(1 for n in pages.values() if n > 1),
        "robots_fetched_twice": sum(1 for n in robots.values() if n > 1),
        "hosts_two_at_once": sum(1 for s in {h.site for h in hits} if web.max_inflight(s) > 1),
        "disallowed_fetched": sum(1 for _, p in pages if p.startswith(("/private/", "/tmp/"))),
    }


def crawl(web: Any, db: str, workers: int, tmp: Path) -> dict[str, Any]:
    """``workers`` crawl processes on ``db`` at once, timed from start to the last exit."""
    seeds = tmp / "seeds.txt"
    seeds.write_text("\n".join(web.seeds) + "\n")
    hosts = web.write_hosts_file(tmp / "hosts")
    argv = [
        sys.executable, "-P", "-m", "linkgraph", "crawl", "--db", db, "--seeds", str(seeds),
        "--hosts-file", str(hosts), "--pinned-only", "--delay", "0", "--quiet",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKGRAPH_")}
    web.reset()
    cpu = children_cpu()
    start = time.perf_counter()
    processes = [
        subprocess.Popen(argv, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    for process in processes:
        _, err = process.communicate(timeout=3600)
        if process.returncode != 0:
            raise SystemExit(f"a crawl worker failed: {err.decode(errors='replace')}")
    wall = time.perf_counter() - start
    import linkgraph

    stats = linkgraph.stats(db)
    return {
        "workers": workers,
        "pages": stats["pages"]["fetched"],
        "links": stats["links"]["total"],
        "seconds": round(wall, 2),
        "pages_per_s": round(stats["pages"]["fetched"] / wall, 1),
        "crawler_cpu_s": round(children_cpu() - cpu, 2),
        **politeness(web),
    }


def fresh_database(server: Any, pg_url: str | None, n: int) -> tuple[str, Any]:
    """A new database for one run and how to drop it."""
    if server is not None:
        name = server.create_database()
        return server.url(name), lambda: server.drop_database(name)
    import psycopg

    name = f"linkgraph_bench_distributed_{os.getpid()}_{n}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    # The same server and options, another database name.
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(pg_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))

    def drop() -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def sqlite_run(web: Any, tmp: Path, round_: int) -> dict[str, Any]:
    run = crawl(web, str(tmp / f"links-{round_}.db"), 1, tmp)
    return {"backend": "sqlite", **run, "database_cpu_s": None}


def postgres_run(
    web: Any, server: Any, pg_url: str | None, workers: int, tmp: Path, round_: int
) -> dict[str, Any]:
    url, drop = fresh_database(server, pg_url, round_ * 100 + workers)
    try:
        before = server_cpu(server)
        run = crawl(web, url, workers, tmp)
        time.sleep(0.5)  # the backends end after their clients: count them too
        after = server_cpu(server)
    finally:
        drop()
    db_cpu = None if before is None or after is None else round(after - before, 2)
    share = None
    if db_cpu is not None and db_cpu + run["crawler_cpu_s"] > 0:
        share = round(db_cpu / (db_cpu + run["crawler_cpu_s"]), 3)
    return {"backend": "postgresql", **run, "database_cpu_s": db_cpu, "database_share": share}


def summary(runs: list[dict[str, Any]], counts: list[int]) -> dict[str, Any]:
    """Per worker count, the median over rounds of the round's PostgreSQL pages/s over its
    SQLite pages/s ("of SQLite"), and of CPU seconds (SQLite's process over the workers'
    and the server's)."""
    from statistics import median

    rounds = sorted({r["round"] for r in runs})
    out: dict[str, Any] = {}
    for n in counts:
        speed, cpu = [], []
        for k in rounds:
            lite = next(r for r in runs if r["round"] == k and r["backend"] == "sqlite")
            pg = next(
                r for r in runs if r["round"] == k and r["backend"] == "postgresql"
                and r["workers"] == n
            )  # fmt: skip
            speed.append(pg["pages_per_s"] / lite["pages_per_s"])
            if pg["database_cpu_s"] is not None:
                cpu.append(lite["crawler_cpu_s"] / (pg["crawler_cpu_s"] + pg["database_cpu_s"]))
        out[f"{n} workers"] = {
            "of_sqlite": [round(x, 2) for x in speed],
            "median_of_sqlite": round(median(speed), 2),
            "median_cpu_of_sqlite": round(median(cpu), 2) if cpu else None,
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", json=True)
    add_number(parser, "--sites", 1000, "demo hosts to crawl")
    add_number(parser, "--pages", 6, "pages per demo host (at least 6)")
    parser.add_argument(
        "--workers", default="1,2,4", help="worker counts to run on PostgreSQL (default 1,2,4)"
    )
    add_pg_url(parser)
    add_number(parser, "--repeat", 1, "rounds; each runs every contender once, the order rotated")
    args = parse_args(parser, argv)
    counts = [int(n) for n in args.workers.split(",")]
    sys.path.insert(0, str(REPO / "tests"))
    from crawl_support import served_on_uvloop

    from linkgraph.demo import DemoWeb, generate

    result: dict[str, Any] = {"cpu": cpu_model(), "cores": os.cpu_count(), "runs": []}
    tmp = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    web_sites = generate(int(args.sites), int(args.pages), seed=3, traps=False)
    contenders: list[int | None] = [None, *counts]  # None: the SQLite process
    with throwaway_pg(args.pg_url) as server, served_on_uvloop(DemoWeb(web_sites)) as web:
        for round_ in range(int(args.repeat)):
            shift = round_ % len(contenders)
            for n in contenders[shift:] + contenders[:shift]:
                run = (
                    sqlite_run(web, tmp, round_)
                    if n is None
                    else postgres_run(web, server, args.pg_url, n, tmp, round_)
                )
                result["runs"].append({"round": round_ + 1, **run})
    result["summary"] = summary(result["runs"], counts)
    first = result["runs"][0]
    differ = [
        r for r in result["runs"] if (r["pages"], r["links"]) != (first["pages"], first["links"])
    ]
    report_json(result, args.json)
    if differ:
        raise SystemExit(f"the runs stored different pages or links: {differ}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
