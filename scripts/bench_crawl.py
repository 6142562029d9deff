"""Crawl throughput: linkgraph against Scrapy and a bare aiohttp loop, in one run.

Each crawler crawls the generated demo web (``linkgraph.demo``, no traps) from the same
seeds with politeness on except the delay: robots.txt obeyed, one request per host at a
time, the same concurrency. The demo web runs in its own process (its own core) and is
started afresh for every crawl, so its per-site counters (requests, connections, most
requests in flight at once) check each crawler's politeness. Every crawler runs in its own
subprocess, so reactors, event loops and heaps never mix.

- ``linkgraph``: ``linkgraph.api.crawl_async`` into a fresh SQLite store, default settings
  but ``delay=0``; afterwards every stored link is compared with the demo web's ground
  truth (``expected_edges``) for the pages fetched.
- ``scrapy``: a spider as a typical user writes it: ``response.css("a[href]")`` and
  ``response.urljoin``, one item per link (source, target, anchor text, rel) to a
  JSON-lines feed, ``response.follow`` for links not marked nofollow/sponsored/ugc,
  ``allowed_domains`` = the seeds' registrable domains. ROBOTSTXT_OBEY, CONCURRENT_REQUESTS
  = N, CONCURRENT_REQUESTS_PER_DOMAIN = 1, no delay or jitter, no AutoThrottle, cookies
  off (linkgraph keeps none), LOG_LEVEL INFO; Scrapy's default HTTP/1.1 download handler
  on the asyncio reactor, with uvloop as its loop (linkgraph runs on uvloop too) unless
  ``--scrapy-loop asyncio``. Names resolve through a TWISTED_DNS_RESOLVER that answers from
  the demo web's hosts file.
- ``bare``: aiohttp + selectolax: fetch, parse ``a[href]``, resolve (ada-url), dedupe,
  follow; no robots.txt (it skips the paths the benchmark web's robots.txt disallows, so
  it fetches the same URLs), no storage, the same one-request-per-host rule. The ceiling
  of this machine for this politeness.

``--memory-store`` adds a fourth contender, ``linkgraph[memory store]``: linkgraph's
engine with the in-memory writer of the tests (``storage.memory.MemoryWriter``) in place
of the SQLite store, to measure what storing costs a crawl (no links are checked).

The Scrapy spider and the bare loop live in ``bench_crawl_peers.py`` beside this file; the
checks against the ground truth and the py-spy breakdown in ``_crawlchecks.py``.

pages/s is HTML pages fetched (status 200; robots.txt requests not counted) per second of
crawl, measured inside each child from the crawl call to its end: linkgraph's includes the
final flush and store close; Scrapy's ends at its last parsed response, so its shutdown
and feed close are not counted against it.

Examples::

    python scripts/bench_crawl.py                       # 300 hosts x 50 pages, all three
    python scripts/bench_crawl.py --repeat 3 --json /tmp/crawl.json
    python scripts/bench_crawl.py --only linkgraph --profile py-spy
    python scripts/bench_crawl.py --only linkgraph --only bare --variant exp=/tmp/lgexp
    python scripts/bench_crawl.py --only linkgraph --only bare --memory-store --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

# The checks and the py-spy breakdown live beside this file (its folder is on sys.path when it
# runs as a script; put it there for an import too, as the tests do).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _benchutil import add_number, bench_parser, cpu_model, parse_args
from _crawlchecks import SPY_RATE, check_feed, check_linkgraph, expected_links, spy_breakdown

KINDS = ("linkgraph", "scrapy", "bare")


# -- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, Python and the versions of the libraries that do the work."""
    versions = {}
    for dist in (
        "aiohttp",
        "aiosqlite",
        "selectolax",
        "uvloop",
        "ada-url",
        "Scrapy",
        "Twisted",
        "lxml",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    versions["SQLite"] = sqlite3.sqlite_version
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


# -- children: one crawl each, run as `bench_crawl.py --child KIND --spec FILE --out FILE` ----


def count_thread_cpu() -> dict[str, float]:
    """From now on, every thread that ends adds its CPU seconds to the returned dict, by
    the start of its name (``Thread-1 (_connection_worker_thread)``: aiosqlite's SQLite
    thread). The process clock sums all threads; this says which one spent it."""
    spent: dict[str, float] = {}
    run = threading.Thread.run

    def counted(self: threading.Thread) -> None:
        try:
            run(self)
        finally:
            usage = resource.getrusage(resource.RUSAGE_THREAD)
            name = self.name.partition(" (")[2].rstrip(")") or self.name
            spent[name] = spent.get(name, 0.0) + usage.ru_utime + usage.ru_stime

    threading.Thread.run = counted  # type: ignore[method-assign]
    return spent


def child_linkgraph(spec: dict[str, Any]) -> dict[str, Any]:
    from linkgraph.crawler.settings import CrawlSettings

    from linkgraph import api

    settings = CrawlSettings(
        seeds=tuple(spec["seeds"]),
        hosts_file=spec["hosts_file"],
        delay=0.0,
        concurrency=spec["concurrency"],
        store_text=spec.get("store_text", True),
        quiet=True,
    )
    profile, profiler = spec.get("profile"), None
    if profile == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    elif profile == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    threads = count_thread_cpu()
    start, cpu, workers = time.perf_counter(), time.process_time(), children_cpu()
    if spec.get("store") == "memory":
        stats = api.run(_crawl_into_memory(settings))
    else:
        stats = api.run(api.crawl_async(spec["db"], settings))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    # The parse workers have ended (the crawl waits for them), so their CPU is counted.
    workers = children_cpu() - workers
    if profile == "pyinstrument":
        profiler.stop()
        Path(spec["profile_out"]).write_text(profiler.output_text(unicode=True))
    elif profile == "cprofile":
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        Path(spec["profile_out"]).write_text(out.getvalue())
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "worker_cpu": workers,
        "sqlite_cpu": threads.get("_connection_worker_thread", 0.0),
        "pages": stats.pages,
        "errors": stats.errors,
        "skipped": stats.skipped,
        "links": stats.links,
        "robots": stats.robots_fetches,
        "code": str(Path(api.__file__).parent.parent),
    }


async def _crawl_into_memory(settings: Any) -> Any:
    """linkgraph's crawl as ``crawl_async`` wires it, but into the tests' in-memory writer."""
    from linkgraph.crawler.engine import Engine
    from linkgraph.storage.memory import MemoryWriter

    from linkgraph.wiring import _fetcher

    fetcher = _fetcher(settings, concurrency=settings.concurrency, pinned_only=False)
    async with fetcher:
        return await Engine(settings, MemoryWriter(batch_pages=settings.batch_pages), fetcher).run()


def children_cpu() -> float:
    """User + system CPU seconds of this process's ended children (the parse workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- one crawl: a fresh demo web, a child, its checks ---------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _py_spy() -> str | None:
    """The py-spy command on PATH or beside this Python, or None."""
    beside = Path(sys.executable).with_name("py-spy")
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def run_child(
    kind: str,
    spec: dict[str, Any],
    workdir: Path,
    *,
    path: str | None,
    prefix: list[str],
    timeout: float,
) -> dict[str, Any]:
    spec_file, out_file = workdir / "spec.json", workdir / "out.json"
    spec_file.write_text(json.dumps(spec))
    out_file.unlink(missing_ok=True)
    env = dict(os.environ)
    # An experimental copy installed in DIR (pip install --target: a checkout's own folders are
    # not the package), found before the editable install.
    if path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    cmd = [
        *prefix,
        sys.executable,
        __file__,
        "--child",
        kind,
        "--spec",
        str(spec_file),
        "--out",
        str(out_file),
    ]
    try:
        proc = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:  # a hung crawl is a result too: report it, go on
        return {
            "failed": f"no end after {timeout:.0f}s",
            "elapsed": timeout,
            "cpu": 0.0,
            "pages": 0,
        }
    if proc.returncode != 0 or not out_file.exists():
        sys.stderr.write(proc.stderr[-4000:])
        return {"failed": f"exit status {proc.returncode}", "elapsed": 0.0, "cpu": 0.0, "pages": 0}
    return json.loads(out_file.read_text())


def one_crawl(
    entry: dict[str, Any],
    args: argparse.Namespace,
    workdir: Path,
    truth: dict[int, Any],
    profile: str | None = None,
) -> dict[str, Any]:
    from linkgraph.demo import DemoWebProcess

    kind = entry["kind"]
    db, feed = workdir / "linkgraph.db", workdir / "scrapy.jsonl"
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), feed):
        stale.unlink(missing_ok=True)
    prefix: list[str] = []
    spec: dict[str, Any] = {"concurrency": args.concurrency, "scrapy_loop": args.scrapy_loop}
    spec["store_text"] = args.store_text
    spec["store"] = entry.get("store", "sqlite")
    spec |= {"db": str(db), "feed": str(feed)}
    if profile == "py-spy":
        spy = _py_spy()
        prefix = [spy, "record", "--threads", "--gil", "-r", str(SPY_RATE), "--format", "raw"]
        prefix += ["-o", str(workdir / "py-spy.txt"), "--"]
    elif profile:
        spec |= {"profile": profile, "profile_out": str(workdir / f"{profile}.txt")}
    with DemoWebProcess(args.sites, args.pages, seed=args.seed, traps=False) as demo:
        spec |= {"seeds": demo.seeds, "hosts": demo.hosts}
        spec["hosts_file"] = str(demo.write_hosts_file(workdir / "hosts"))
        pid = demo.process.pid if demo.process else 0
        server_cpu = process_cpu(pid)
        result = run_child(
            kind, spec, workdir, path=entry.get("path"), prefix=prefix, timeout=args.timeout
        )
        server_cpu = process_cpu(pid) - server_cpu
        port = demo.port
    result |= {"label": entry["label"], "kind": kind, "server_cpu": server_cpu}
    result["pages_per_s"] = result["pages"] / result["elapsed"] if result["elapsed"] else 0.0
    stats = demo.stats or {"sites": {}, "requests": 0, "connections": 0}
    sites = stats["sites"].values()
    result["server"] = {
        "requests": stats["requests"],
        "connections": stats["connections"],
        "max_inflight_per_site": max((s["max_inflight"] for s in sites), default=0),
    }
    checkable = kind == "scrapy" or (kind == "linkgraph" and spec["store"] == "sqlite")
    if args.verify and checkable and not profile and "failed" not in result:
        if port not in truth:
            truth.clear()
            truth[port] = expected_links(args, port)
        result["check"] = (
            check_linkgraph(db, truth[port])
            if kind == "linkgraph"
            else check_feed(feed, truth[port])
        )
    if profile == "py-spy":
        result["profile_text"] = spy_breakdown(workdir / "py-spy.txt", result["pages"])
    elif profile:
        result["profile_text"] = Path(spec["profile_out"]).read_text()
    return result


# -- report ---------------------------------------------------------------------------------------


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if "failed" not in r]
    labels = list(dict.fromkeys(r["label"] for r in ok))
    med = {k: statistics.median(r["pages_per_s"] for r in ok if r["label"] == k) for k in labels}
    rounds: dict[int, dict[str, float]] = {}
    for r in ok:
        rounds.setdefault(r["round"], {})[r["label"]] = r["pages_per_s"]
    pairs = [
        (mine, peer)
        for mine in labels
        if mine.startswith("linkgraph")
        for peer in ("scrapy", "bare")
    ]
    # Variants against an unpatched copy named "base" when there is one, else the repo's code.
    base = "linkgraph[base]" if "linkgraph[base]" in labels else "linkgraph"
    pairs += [(v, base) for v in labels if v.startswith("linkgraph[") and v != base]
    ratios = {}
    for mine, peer in pairs:
        paired = [x[mine] / x[peer] for x in rounds.values() if mine in x and peer in x]
        if paired:
            ratios[f"{mine}/{peer}"] = statistics.median(paired)
    return {"median_pages_per_s": med, "ratios": ratios}


def print_report(info: dict[str, Any], runs: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    print(f"platform: {info['platform']}")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    header = ("round", "crawler", "pages", "links", "secs", "pages/s", "cpu ms/page")
    header += ("of it SQLite", "workers ms/page", "server cpu")
    print(
        "\n{:>5}  {:<24} {:>6} {:>7} {:>7} {:>8} {:>11} {:>12} {:>15} {:>10}".format(*header),
        end="",
    )
    print("  demo web saw: requests, connections, max in flight per site")
    for r in runs:
        s = r["server"]
        cells = (r["round"], r["label"], r["pages"], r.get("links", 0), r["elapsed"])
        cells += (r["pages_per_s"], 1000 * r["cpu"] / max(r["pages"], 1))
        cells += (1000 * r.get("sqlite_cpu", 0.0) / max(r["pages"], 1),)
        cells += (1000 * r.get("worker_cpu", 0.0) / max(r["pages"], 1),)
        cells += (r["server_cpu"] / r["elapsed"],)
        row = "{:>5}  {:<24} {:>6} {:>7} {:>7.2f} {:>8.0f} {:>11.2f} {:>12.2f} {:>15.2f} {:>10.0%}"
        print(row.format(*cells), end="")
        print(f"  {s['requests']}, {s['connections']}, {s['max_inflight_per_site']}")
        if "failed" in r:
            print(f"{'':>7}FAILED: {r['failed']}")
        if "check" in r:
            print(f"{'':>7}check: {json.dumps(r['check'], default=str)}")
    print()
    for label, value in summary["median_pages_per_s"].items():
        print(f"median {label:<24} {value:8.0f} pages/s")
    for key, value in summary["ratios"].items():
        print(f"{key:<36} {value:6.2f}x  (median of the per-round ratios)")


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seed=1, json=True)
    add_number(parser, "--sites", 300, "demo hosts")
    add_number(parser, "--pages", 50, "pages per host")
    add_number(parser, "--concurrency", 100, "requests in flight")
    add_number(parser, "--repeat", 1, "rounds of every crawler")
    parser.add_argument(
        "--only", choices=KINDS, action="append", help="run only this crawler (repeatable)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also crawl with the linkgraph package in DIR (an experimental copy installed there "
        "with: pip install --no-deps --target DIR COPY)",
    )
    parser.add_argument("--scrapy-loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="py-spy",
        choices=("py-spy", "pyinstrument", "cprofile"),
        help="then crawl once more with linkgraph under a profiler and print where time goes",
    )
    add_number(parser, "--timeout", 900.0, "seconds before a crawl counts as hung")
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip the link checks"
    )
    parser.add_argument("--workdir", metavar="DIR", help="keep stores, feeds and profiles here")
    parser.add_argument(
        "--memory-store",
        action="store_true",
        help="also crawl with linkgraph's engine storing into memory, not SQLite: what the "
        "store costs (its links are not checked)",
    )
    parser.add_argument(
        "--no-text",
        dest="store_text",
        action="store_false",
        help="crawl with linkgraph's store_text off (no page texts, no full-text index)",
    )
    parser.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parse_args(parser, argv)
    if args.profile == "py-spy" and not _py_spy():
        parser.error("--profile py-spy needs the py-spy command (pip install py-spy)")

    if args.child:
        spec = json.loads(Path(args.spec).read_text())
        # "cpu" is process_time() over the same span as "elapsed": every thread of the
        # crawler's process (the SQLite writer's too), imports and start-up excluded.
        if args.child == "linkgraph":
            child = child_linkgraph
        else:  # the peers live beside this file
            import bench_crawl_peers

            child = getattr(bench_crawl_peers, f"child_{args.child}")
        Path(args.out).write_text(json.dumps(child(spec)))
        return 0

    entries = [{"label": k, "kind": k} for k in KINDS if not args.only or k in args.only]
    for variant in args.variant:
        name, _, path = variant.partition("=")
        entries.append(
            {"label": f"linkgraph[{name}]", "kind": "linkgraph", "path": str(Path(path).resolve())}
        )
    if args.memory_store:
        entries.append({"label": "linkgraph[memory store]", "kind": "linkgraph", "store": "memory"})
    info = machine()
    runs: list[dict[str, Any]] = []
    truth: dict[int, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        workdir = Path(args.workdir or tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for round_no in range(1, args.repeat + 1):
            # Rotate the order every round so that drift (thermal, caches) favours no one.
            shift = (round_no - 1) % len(entries)
            for entry in entries[shift:] + entries[:shift]:
                result = one_crawl(entry, args, workdir, truth)
                result["round"] = round_no
                runs.append(result)
                if args.json:  # as we go, so an interrupted run still leaves its crawls
                    Path(args.json).write_text(
                        json.dumps({"machine": info, "runs": runs}, indent=1)
                    )
                done = f"{result['pages']} pages in {result['elapsed']:.2f}s"
                print(f"round {round_no} {entry['label']}: {done}", file=sys.stderr)
        summary = summarize(runs)
        print_report(info, runs, summary)
        if args.profile:
            profiled = one_crawl(
                {"label": "linkgraph", "kind": "linkgraph"}, args, workdir, truth, args.profile
            )
            rate = f"{profiled['pages_per_s']:.0f} pages/s with the profiler on"
            print(f"\nlinkgraph under {args.profile}: {rate}")
            print(profiled["profile_text"][:20000])
            summary["profile"] = profiled["profile_text"]
    if args.json:
        record = {"machine": info, "args": vars(args), "runs": runs, "summary": summary}
        Path(args.json).write_text(json.dumps(record, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
