"""Benchmark ``linkgraph import`` against a plain sqlite3 load of the same rows.

Generates a seeded CSV edge list (header ``source,target,anchor,rel``): ``--domains``
source domains with ``--pages`` pages each, one random page of one random domain per
link as its source (so sources repeat, in no order), a target among 200 paths on a
``www.`` host of a random domain, anchors from 1,000 texts, every seventh link
``nofollow``. Then, in this one process and on the same file:

- ``linkgraph import``: :func:`linkgraph.import_links` into a new store, through the
  crawler's batched writer (``StoreWriter`` -> ``commit_batch``);
- the peer: a plain ``sqlite3`` load of the same rows, written to be fast and fair: the
  ``csv`` module, URLs interned in a dict, a ``urls(id, url)`` and a
  ``links(source_id, target_id, anchor, rel)`` table with one index (on the target, as
  backlinks need), ``executemany`` in one transaction, WAL and ``synchronous=NORMAL``
  as the store has them. It does no URL normalisation and no host, domain, anchor or
  rel interning: it is the floor a load of these rows can reach from Python.

It prints the machine, links/s of both and their ratio (import time / peer time), and
the import's CPU time per thread (the event loop's, and the rest: SQLite's writer thread)
and of the process that reads the file,
the process's peak RSS so far, and the ratio of both CPU times (steadier than the wall
times on a shared machine).

With ``--warc FILE...`` it times ``linkgraph import-warc`` instead: the files are
concatenated ``--repeat`` times into one archive (gzip members and plain WARC records
both concatenate), which is then read, in this one process, by ``import-warc`` into a new
store, by a plain FastWARC loop that only iterates the records and reads each block, and
by the same loop with warcio; it prints records/s and MB/s (of the file) of each and the
ratio of import-warc to the FastWARC loop.

Usage::

    python scripts/bench_import.py                       # 1M links
    python scripts/bench_import.py --links 200000 --json out.json
    python scripts/bench_import.py --warc ../shared/corpus/warc-samples/pywb/iana.warc.gz --repeat 40
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _benchutil import add_number, bench_parser, cpu_model, parse_args

import linkgraph


def generate(path: Path, links: int, *, domains: int, pages: int, seed: int) -> None:
    """Write the seeded edge list (see the module docstring)."""
    rng = random.Random(seed)
    rand = rng.randrange
    with path.open("w", newline="", encoding="utf-8") as out:
        out.write("source,target,anchor,rel\n")
        lines = []
        for i in range(links):
            lines.append(
                f"https://site{rand(domains)}.example/p/{rand(pages)}.html,"
                f"https://www.site{rand(domains)}.example/a/{rand(200)},"
                f"anchor text {i % 1000},{'nofollow' if i % 7 == 0 else ''}\n"
            )
            if len(lines) == 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)


def _children_cpu() -> float:
    """CPU seconds of this process's children that ended and were waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain_load(csv_path: Path, db: Path) -> int:
    """The peer: the same rows into interned url and link tables with one index."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE urls (id INTEGER PRIMARY KEY, url TEXT NOT NULL)")
    conn.execute(
        "CREATE TABLE links (source_id INTEGER NOT NULL, target_id INTEGER NOT NULL,"
        " anchor TEXT NOT NULL, rel TEXT NOT NULL)"
    )
    conn.execute("CREATE INDEX links_target ON links(target_id)")
    ids: dict[str, int] = {}
    link_rows = []
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        for source, target, anchor, rel in rows:
            s = ids.get(source)
            if s is None:
                s = ids[source] = len(ids) + 1
            t = ids.get(target)
            if t is None:
                t = ids[target] = len(ids) + 1
            link_rows.append((s, t, anchor, rel))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO urls(id, url) VALUES (?, ?)", ((i, u) for u, i in ids.items()))
    conn.executemany("INSERT INTO links VALUES (?, ?, ?, ?)", link_rows)
    conn.execute("COMMIT")
    (n,) = conn.execute("SELECT count(*) FROM links").fetchone()
    conn.close()
    return n


def _fastwarc_loop(path: Path) -> int:
    from fastwarc.warc import ArchiveIterator

    n = 0
    with path.open("rb") as f:
        for record in ArchiveIterator(f, parse_http=False, min_content_length=None):
            record.reader.read()
            n += 1
    return n


def _warcio_loop(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with path.open("rb") as f:
        for record in ArchiveIterator(f):
            record.content_stream().read()
            n += 1
    return n


def warc_mode(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """Time import-warc and the two plain reader loops on one archive (module docstring)."""
    sources = [Path(p) for p in args.warc]
    gz = sources[0].name.endswith(".gz")
    if any(p.name.endswith(".gz") != gz for p in sources):
        raise SystemExit("bench_import.py: error: --warc files must be all gzipped or all plain")
    archive = work / ("bench.warc.gz" if gz else "bench.warc")
    with archive.open("wb") as out:
        for _ in range(args.repeat):
            for source in sources:
                out.write(source.read_bytes())
    size = archive.stat().st_size
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f};"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"input: {', '.join(p.name for p in sources)} x {args.repeat}, {size / 1e6:.1f} MB")
    results: dict[str, object] = {"bytes": size, "machine": cpu_model()}
    runs: list[tuple[str, Callable[[], int]]] = [
        ("import-warc", lambda: linkgraph.import_warc(work / "store.db", [archive]).records),
        ("fastwarc loop", lambda: _fastwarc_loop(archive)),
        ("warcio loop", lambda: _warcio_loop(archive)),
    ]
    for name, run in runs:
        start = time.perf_counter()
        try:
            records = run()
        except ImportError as exc:
            print(f"{name:14} skipped: {exc}")
            continue
        took = time.perf_counter() - start
        results[name] = {"seconds": took, "records": records}
        print(
            f"{name:14} {took:7.2f} s  {records / took:10,.0f} records/s  {size / 1e6 / took:7.1f} MB/s"
        )
    if "import-warc" in results and "fastwarc loop" in results:
        ratio = results["import-warc"]["seconds"] / results["fastwarc loop"]["seconds"]  # type: ignore[index]
        results["ratio"] = ratio
        print(f"ratio (import-warc / fastwarc loop): {ratio:.1f}x")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seed=1, json=True)
    parser.add_argument(
        "--warc", nargs="+", metavar="FILE", help="time import-warc on these WARC files instead"
    )
    add_number(parser, "--repeat", 1, "copies of the --warc files in the archive timed")
    add_number(parser, "--links", 1_000_000, "rows in the CSV")
    add_number(parser, "--domains", 20_000, "source/target domains")
    add_number(parser, "--pages", 50, "pages per source domain")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--skip-peer", action="store_true", help="time the import only")
    args = parse_args(parser, argv)

    if args.warc:
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            results = warc_mode(args, Path(tmp))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
        return 0

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        edges = work / "edges.csv"
        generate(edges, args.links, domains=args.domains, pages=args.pages, seed=args.seed)
        print(
            f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f};"
            f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        )
        print(
            f"input: {args.links:,} links, {args.domains:,} domains x {args.pages} pages,"
            f" seed {args.seed}, {edges.stat().st_size / 1e6:.1f} MB"
        )
        results: dict[str, object] = {"links": args.links, "machine": cpu_model()}

        start = time.perf_counter()
        cpu, main_cpu = time.process_time(), time.thread_time()
        child_cpu = _children_cpu()
        result = linkgraph.import_links(work / "store.db", edges)
        took = time.perf_counter() - start
        # The process clock counts every thread, ended ones too: what the main (event
        # loop) thread did not spend, SQLite's writer thread did. The file is read in a
        # process of its own (waited for, so its CPU is counted among the children's).
        main_cpu = time.thread_time() - main_cpu
        child_cpu = _children_cpu() - child_cpu
        cpu = time.process_time() - cpu
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stored = linkgraph.stats(work / "store.db")["links"]["link"]
        results["import"] = {
            "seconds": took,
            "links": result.links,
            "stored": stored,
            "cpu_main": main_cpu,
            "cpu_other": cpu - main_cpu,
            "cpu_reader": child_cpu,
            "peak_rss_mb": peak_mb,
            "reader_peak_rss_mb": child_mb,
        }
        print(
            f"linkgraph import: {took:7.2f} s  {args.links / took:10,.0f} links/s"
            f"  ({result.links:,} imported, {stored:,} distinct links stored)"
        )
        print(
            f"  CPU: {main_cpu:.2f} s event-loop thread + {cpu - main_cpu:.2f} s other"
            f" threads (SQLite's) + {child_cpu:.2f} s reading process = {cpu + child_cpu:.2f} s;"
            f" peak RSS {peak_mb:.0f} MB (reading process {child_mb:.0f} MB)"
        )
        cpu += child_cpu
        if not args.skip_peer:
            start = time.perf_counter()
            peer_cpu = time.process_time()
            peer_rows = plain_load(edges, work / "plain.db")
            peer = time.perf_counter() - start
            peer_cpu = time.process_time() - peer_cpu
            results["peer"] = {"seconds": peer, "links": peer_rows, "cpu": peer_cpu}
            results["ratio"] = took / peer
            results["cpu_ratio"] = cpu / peer_cpu
            print(
                f"plain sqlite3:    {peer:7.2f} s  {args.links / peer:10,.0f} links/s"
                f"  (CPU {peer_cpu:.2f} s)"
            )
            # On a shared machine the wall times move with the neighbours' load; CPU
            # times much less.
            print(f"ratio (import / plain): {took / peer:.2f}x; CPU {cpu / peer_cpu:.2f}x")
        print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
