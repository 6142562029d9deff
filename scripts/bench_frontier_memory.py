"""Frontier memory: resident bytes per queued/seen URL, at a million URLs.

Builds the crawl's frontier as the engine does: ``crawler.frontier.Frontier`` (the seen set
of 64-bit URL hashes, a window of each host's queue in memory, a global budget) with a
``Scope`` that admits every URL, and the store's ``StoreWriter`` taking every new entry
for the persistent frontier table (the spill), flushed in batches as a crawl flushes. The
URLs are synthetic but shaped like a web crawl's: ``--urls`` over ``--hosts`` hosts with
Zipf-like sizes (a few big sites, a long tail), under a mix of registrable domains and
public suffixes, 40 to 140 characters long, some with query strings.

The headline is the growth of the process's resident set (VmRSS, /proc/self/status)
from just before the first URL to just after the last, divided by the URL count. URLs
are generated one at a time and never kept, so the growth is what the frontier and the
store connection hold. Beside it: the slope between the half-way point and the end
(fixed costs such as SQLite's page cache filling up drop out of it), SQLite's own heap
(``sqlite3_memory_used``), and a breakdown of the frontier's Python objects measured with
``sys.getsizeof``: the seen set, the per-host windows, the Host objects. ``--tracemalloc``
re-runs the build in a child process with tracemalloc on, to cross-check the Python side
(it is slower and its own bookkeeping inflates RSS, so it is never the headline).

Example::

    python scripts/bench_frontier_memory.py                  # 1M URLs over 10k hosts
    python scripts/bench_frontier_memory.py --urls 200000 --hosts 2000 --tracemalloc
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any

from _benchutil import (  # beside this script, on sys.path when it runs
    add_number,
    bench_parser,
    parse_args,
)

_WORDS = (
    "news blog shop store tech world home garden travel food sport music photo video "
    "health money auto games books data cloud city local daily open green smart urban"
).split()
_SECTIONS = "article post product category tag story page item docs help forum user".split()
_SUFFIXES = ("com", "com", "com", "org", "net", "de", "co.uk", "io", "fr", "com.au", "nl")
_SUBS = ("www", "www", "www", "blog", "shop", "news", "m", "en", "docs")


def rss_bytes() -> int:
    """The process's resident set size, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _libc_trim() -> None:
    # Hand freed heap pages back to the OS so RSS shows what is live, not what glibc kept.
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def sqlite_heap() -> int:
    """Bytes SQLite has allocated (page caches of every connection in this process)."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return -1
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return int(lib.sqlite3_memory_used())


def hosts_for(n_hosts: int, rng: random.Random) -> list[str]:
    """Host names: about 1.4 hosts per registrable domain, over a few public suffixes."""
    hosts: list[str] = []
    domain = 0
    while len(hosts) < n_hosts:
        name = f"{rng.choice(_WORDS)}{rng.choice(_WORDS)}{domain}.{rng.choice(_SUFFIXES)}"
        subs = ["www"] + [s for s in _SUBS[3:] if rng.random() < 0.08]
        hosts += [f"{sub}.{name}" for sub in subs]
        domain += 1
    return hosts[:n_hosts]


def urls(n_urls: int, n_hosts: int, seed: int) -> Iterator[str]:
    """``n_urls`` distinct URLs, host sizes Zipf-like (exponent 1), made one at a time.

    The host list is built here, before the caller's baseline, not on the first ``next``.
    """
    rng = random.Random(seed)
    hosts = hosts_for(n_hosts, rng)
    cum = list(accumulate(1.0 / (rank + 1) for rank in range(n_hosts)))
    return _urls(n_urls, hosts, cum, rng)


def _urls(n_urls: int, hosts: list[str], cum: list[float], rng: random.Random) -> Iterator[str]:
    choose = rng.choices
    for i in range(n_urls):
        host = choose(hosts, cum_weights=cum)[0]
        section = _SECTIONS[i % len(_SECTIONS)]
        slug = "-".join(choose(_WORDS, k=2 + i % 5))
        if i % 7 == 0:
            tail = f"/{section}?id={i}&page={i % 13}"
        elif i % 3 == 0:
            tail = f"/{section}/{slug}/{i}.html"
        else:
            tail = f"/{section}/{i:x}/{slug}"
        yield f"https://{host}{tail}"


def breakdown(frontier: Any) -> dict[str, int]:
    """Bytes of the frontier's Python objects, by part (``sys.getsizeof``, shared objects once)."""
    size = sys.getsizeof
    seen = frontier.seen
    recent = seen._recent
    # Every recent member is a distinct int object of the same size class: measure a sample.
    sample = [size(h) for _, h in zip(range(1000), recent, strict=False)]
    per_int = sum(sample) / max(len(sample), 1)
    parts = {
        "seen: recent set table": size(recent),
        "seen: recent set ints": int(per_int * len(recent)),
        "seen: sorted int64 array": int(seen._sorted.nbytes),
    }
    windows = items = host_objects = host_fields = 0
    for host in frontier.hosts.values():
        host_objects += size(host) + size(host.name)
        host_fields += size(host.robots) + size(host.retries)
        windows += size(host.queue)
        for item in host.queue:
            items += size(item) + size(item.url)
    parts["per-host window deques"] = windows
    parts["queued items in windows (QueueItem + URL text)"] = items
    parts["Host objects (+ name)"] = host_objects
    parts["Host dicts (robots, retries)"] = host_fields
    parts["hosts dict"] = size(frontier.hosts)
    return parts


async def build(args: argparse.Namespace, db: Path) -> dict[str, Any]:
    from linkgraph.crawler.frontier import Frontier
    from linkgraph.crawler.urls import Scope
    from linkgraph.storage.writer import StoreWriter

    trace = args.child_tracemalloc
    if trace:
        import tracemalloc

        tracemalloc.start()
    writer = await StoreWriter.open(db, batch_pages=200)
    try:
        frontier = Frontier(Scope("any", []), delay=1.0)  # no trap guards: every URL counts
        stream = urls(args.urls, args.hosts, args.seed)
        gc.collect()
        _libc_trim()
        base_rss, base_sqlite = rss_bytes(), sqlite_heap()
        base_traced = tracemalloc.get_traced_memory()[0] if trace else 0
        marks: list[dict[str, Any]] = []
        checkpoints = {args.urls // 4, args.urls // 2, 3 * args.urls // 4, args.urls}
        pending: list[Any] = []
        started = time.perf_counter()
        for n, url in enumerate(stream, 1):
            offered = frontier.offer(url, 1)
            if offered is not None:
                pending.append(offered[1])
            if len(pending) >= args.flush_every:
                writer.add_queued(pending)
                pending = []
                await writer.flush()
            if n in checkpoints:
                writer.add_queued(pending)
                pending = []
                await writer.flush()
                gc.collect()
                _libc_trim()
                mark = {"urls": n, "rss": rss_bytes() - base_rss}
                mark["sqlite"] = sqlite_heap() - base_sqlite
                if trace:
                    mark["traced"] = tracemalloc.get_traced_memory()[0] - base_traced
                marks.append(mark)
        elapsed = time.perf_counter() - started
        result: dict[str, Any] = {
            "urls": args.urls,
            "hosts": len(frontier.hosts),
            "seen": len(frontier.seen),
            "in_memory": frontier.in_memory,
            "spilled": sum(h.spilled for h in frontier.hosts.values()),
            "window": frontier.window,
            "budget": frontier.budget,
            "marks": marks,
            "seconds": elapsed,
            "parts": breakdown(frontier),
        }
        if trace:
            snapshot = tracemalloc.take_snapshot()
            top = snapshot.statistics("lineno")[:8]
            result["traced_top"] = [f"{s.size / 1e6:8.1f} MB  {s.traceback}" for s in top]
    finally:
        await writer.close()
    with sqlite3.connect(db) as conn:
        result["frontier_rows"] = conn.execute("SELECT count(*) FROM frontier").fetchone()[0]
    return result


def report(r: dict[str, Any]) -> None:
    n = r["urls"]
    last = r["marks"][-1]
    half = next(m for m in r["marks"] if m["urls"] >= n // 2)
    print(f"{n:,} URLs over {r['hosts']:,} hosts in {r['seconds']:.0f}s")
    print(f"  in memory: {r['in_memory']:,} (window {r['window']}/host, budget {r['budget']:,})")
    print(f"  spilled to the store: {r['spilled']:,}; frontier rows: {r['frontier_rows']:,}")
    print(f"  seen set: {r['seen']:,} hashes\n")
    print(f"{'URLs':>10} {'RSS growth':>12} {'bytes/URL':>10} {'SQLite heap':>12}", end="")
    print(f" {'traced':>10}" if "traced" in last else "")
    for m in r["marks"]:
        line = f"{m['urls']:>10,} {m['rss'] / 2**20:>9.1f} MiB {m['rss'] / m['urls']:>10.1f}"
        line += f" {m['sqlite'] / 2**20:>8.1f} MiB"
        if "traced" in m:
            line += f" {m['traced'] / 2**20:>6.1f} MiB"
        print(line)
    slope = (last["rss"] - half["rss"]) / (last["urls"] - half["urls"])
    without_sqlite = (last["rss"] - last["sqlite"]) / n
    print(f"\nRSS growth per URL at {n:,}: {last['rss'] / n:.1f} bytes")
    print(
        f"  of which SQLite's heap: {last['sqlite'] / n:.1f} bytes; the rest: {without_sqlite:.1f}"
    )
    print(f"  marginal, second half: {slope:.1f} bytes/URL")
    print("\nPython objects of the frontier (sys.getsizeof):")
    total = sum(r["parts"].values())
    for part, size in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        print(f"  {size / 2**20:8.1f} MiB {size / n:7.1f} B/URL  {part}")
    print(f"  {total / 2**20:8.1f} MiB {total / n:7.1f} B/URL  total")
    for line in r.get("traced_top", []):
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seed=1, json=True)
    add_number(parser, "--urls", 1_000_000, "URLs offered")
    add_number(parser, "--hosts", 10_000, "hosts")
    add_number(parser, "--flush-every", 4000, "new entries per store flush")
    parser.add_argument("--tracemalloc", action="store_true", help="also a tracemalloc run")
    parser.add_argument("--child-tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parse_args(parser, argv)

    import uvloop

    with tempfile.TemporaryDirectory(prefix="bench-frontier-") as tmp:
        result = uvloop.run(build(args, Path(tmp) / "frontier.db"))
    if args.child_tracemalloc:
        print(json.dumps(result))
        return 0
    report(result)
    results = {"rss_run": result}
    if args.tracemalloc:
        cmd = [sys.executable, __file__, "--child-tracemalloc", *(argv or sys.argv[1:])]
        cmd = [c for c in cmd if c != "--tracemalloc"]
        env = dict(os.environ)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        traced = json.loads(out.strip().splitlines()[-1])
        print("\nwith tracemalloc (a separate process):")
        report(traced)
        results["tracemalloc_run"] = traced
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
