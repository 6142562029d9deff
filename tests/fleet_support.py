"""Running several crawl workers on one PostgreSQL store, and reading what they did.

``workers`` starts ``linkgraph crawl --db postgresql://...`` processes on a demo web;
``pages``/``links`` read what a store holds; ``politeness_breaches`` reads the demo web's
request log against the rules. Used by ``test_pg_fleet.py`` and ``test_pg_fleet_caps.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawl_support import by_site, child

import linkgraph
from linkgraph.demo import DemoWeb

DELAY = 0.4
# The demo web notes a request when its handler runs, and with three crawlers, the
# database and other jobs on two cores its thread runs late: one process crawling this web
# alone (robots.txt, then "/" on the same connection) showed gaps of 137 ms for a delay of
# 200 ms at load 10, and 154 ms between two pages of one connection at load 14; and at
# load 6 to 9 the demo web once stalled for 0.4 s and then noted the waiting requests of
# every host at one instant, their next ones 57 to 95 ms later (105 to 143 ms short of a
# delay of 200 ms, sent 200 ms apart). So a gap may look up to half the delay short, and
# the delay is long enough for half of it to cover such a stall; two workers ignoring
# each other's gap would show gaps near zero.
TOLERANCE = DELAY / 2
_TIMES = {"first_seen", "last_seen", "lost_at", "fetched_at", "seen"}
# Short leases and small batches: hand-overs and commits happen many times in a test.
FLEET_ENV = {
    "LINKGRAPH_LEASE_SECONDS": "2",
    "LINKGRAPH_FLUSH_SECONDS": "0.2",
    "LINKGRAPH_BATCH_PAGES": "20",
}


def pages(db: str | Path) -> dict[str, tuple[int | None, str | None]]:
    """Every URL a store is done with: its status and error."""
    if isinstance(db, Path):
        import sqlite3

        with contextlib.closing(sqlite3.connect(db)) as conn:
            rows = conn.execute(
                "SELECT u.url, p.status, p.error FROM pages p JOIN urls u ON u.id = p.url_id"
            ).fetchall()
    else:
        import psycopg

        with psycopg.connect(db) as conn:
            rows = conn.execute(
                "SELECT u.url, p.status, p.error FROM pages p JOIN urls u ON u.id = p.url_id"
            ).fetchall()
    return {url: (status, error) for url, status, error in rows}


def links(db: str | Path) -> list[tuple]:
    with linkgraph.open_store(db) as store:
        records = list(store.iter_links(include_lost=True))
    return sorted(
        tuple(sorted((k, str(v)) for k, v in r.items() if k not in _TIMES)) for r in records
    )


@contextlib.contextmanager
def workers(
    n: int, web: DemoWeb, db: str, folder: Path, *options: str
) -> Iterator[list[subprocess.Popen[str]]]:
    """``n`` crawl workers on ``db`` (with ``options``), run from a folder outside the
    checkout, always reaped."""
    seeds = folder / "seeds.txt"
    seeds.write_text("\n".join(web.seeds) + "\n")
    hosts = web.write_hosts_file(folder / "hosts")
    args = [
        "crawl", "--db", db, "--seeds", str(seeds), "--hosts-file", str(hosts),
        "--pinned-only", "--delay", str(DELAY), "--concurrency", "8", *options,
    ]  # fmt: skip
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(child(args, cwd=folder, **FLEET_ENV)) for _ in range(n)]


def finish(process: subprocess.Popen[str], timeout: float = 180) -> str:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return err


def committed(db: str) -> int:
    import psycopg

    with psycopg.connect(db) as conn:
        try:
            return conn.execute("SELECT count(*) FROM pages").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0  # no worker has made the schema yet


def politeness_breaches(web: DemoWeb) -> dict[str, list[Any]]:
    """What the request log shows against the rules, by rule (every list empty: none)."""
    hits = web.requests
    breaches: dict[str, list[Any]] = {
        "disallowed": [h.path for h in hits if h.path.startswith(("/private/", "/tmp/"))],
        "robots.txt fetched again": [
            site
            for site, n in Counter(h.site for h in hits if h.path == "/robots.txt").items()
            if n > 1
        ],
        "gaps": [],
        "two at once": [],
    }
    for site, site_hits in by_site(hits).items():
        ordered = sorted(site_hits, key=lambda h: h.time)
        for a, b in itertools.pairwise(ordered):
            if b.time - a.time < DELAY - TOLERANCE:
                breaches["gaps"].append((site, a.path, b.path, round(b.time - a.time, 3)))
        if web.max_inflight(site) > 1 or web.max_connections(site) > 1:
            breaches["two at once"].append(site)
    return breaches
