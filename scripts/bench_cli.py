"""Benchmark the start-up of ``linkgraph`` commands beside the interpreter's own.

Every command pays for what it imports on every run, so this times whole processes, as a
user starts them: ``linkgraph --help``, ``linkgraph backlinks --help`` and the query
commands (``backlinks``, ``referring-domains``, ``anchors``, ``top``, ``stats``) on a small
ranked store made here (``--links`` generated links, imported and ranked), each run
``--repeat`` times, interleaved round by round so that a busy moment of the machine hits
every command alike. The peers, in the same rounds: ``python -c pass`` (the floor any
Python command pays) and ``python -c "import sqlite3"``.

It prints the machine, the median and the slowest run of each command, and the median
less the interpreter's (what linkgraph adds).

Usage::

    python scripts/bench_cli.py --repeat 20
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _benchutil import add_number, bench_parser, cpu_model, parse_args

TARGET = "https://www.site1.example/a/1"


def commands(db: Path) -> dict[str, list[str]]:
    """What is timed: the peers first, then linkgraph's commands (by name)."""
    python = [sys.executable, "-P"]
    cli = [*python, "-m", "linkgraph"]
    store = ["--db", str(db)]
    return {
        "python -c pass": [*python, "-c", "pass"],
        "python -c 'import sqlite3'": [*python, "-c", "import sqlite3"],
        "linkgraph --help": [*cli, "--help"],
        "linkgraph backlinks --help": [*cli, "backlinks", "--help"],
        "linkgraph backlinks": [*cli, "backlinks", TARGET, *store, "--limit", "10"],
        "linkgraph referring-domains": [*cli, "referring-domains", TARGET, *store],
        "linkgraph anchors": [*cli, "anchors", TARGET, *store],
        "linkgraph top": [*cli, "top", *store],
        "linkgraph stats": [*cli, "stats", *store],
    }


def make_store(work: Path, links: int) -> Path:
    """A ranked store of ``links`` generated links: 97 source domains with 13 pages each,
    into 5 pages on each of 7 ``www.`` hosts, ``TARGET`` among them."""
    lines = ["source,target,anchor,rel"]
    for i in range(links):
        lines.append(
            f"https://site{i % 97}.example/p/{i % 13}.html,"
            f"https://www.site{i % 7}.example/a/{i % 5},anchor {i % 11},"
            f"{'nofollow' if i % 7 == 0 else ''}"
        )
    edges = work / "edges.csv"
    edges.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = work / "store.db"
    cli = [sys.executable, "-P", "-m", "linkgraph"]
    for step in (["import", str(edges), "--db", str(db)], ["rank", "--db", str(db)]):
        subprocess.run([*cli, *step], check=True, capture_output=True, timeout=300)
    return db


def time_once(argv: list[str], cwd: Path) -> float:
    """Seconds from starting the process to its exit; a failing command stops the bench."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, timeout=60)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, json=True)
    add_number(parser, "--repeat", 20, "runs of each command")
    add_number(parser, "--links", 2000, "links in the store the queries read")
    args = parse_args(parser, argv)
    if importlib.util.find_spec("linkgraph") is None:
        parser.error("linkgraph is not installed here: pip install -e . first")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = make_store(work, args.links)
        timed = commands(db)
        print(
            f"machine: {cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f};"
            f" Python {platform.python_version()}"
        )
        runs: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.repeat):
            for name, command in timed.items():
                runs[name].append(time_once(command, work))
    floor = statistics.median(runs["python -c pass"])
    results = {}
    print(f"{'command':32} {'median s':>9} {'slowest s':>10} {'over python':>12}")
    for name, times in runs.items():
        median = statistics.median(times)
        results[name] = {"median": median, "max": max(times), "runs": times}
        print(f"{name:32} {median:9.3f} {max(times):10.3f} {median - floor:12.3f}")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": cpu_model(), "commands": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
