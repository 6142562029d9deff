"""What ``bench_crawl.py`` holds a crawl to: the demo web's ground truth, and where py-spy
saw a linkgraph crawl spend its GIL-holding time.

Not a script: ``bench_crawl.py`` imports it from beside itself.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

# -- checks against the demo web's ground truth -------------------------------------------------


def expected_links(args: argparse.Namespace, port: int) -> dict[str, list[Any]]:
    from linkgraph.demo import expected_edges, generate

    by_source: dict[str, list[Any]] = {}
    sites = generate(args.sites, args.pages, seed=args.seed, traps=False)
    for source, link in expected_edges(sites, port):
        by_source.setdefault(source, []).append(link)
    return by_source


def check_linkgraph(db: Path, truth: dict[str, list[Any]]) -> dict[str, Any]:
    """Every expected link of every fetched page against the store's link rows.

    A link row is keyed by (source, target, kind, anchor, placement, rel, image), so
    ``missing`` counts expected links without a row and ``extra`` rows no page has. A page's
    canonical link to itself is no link row by design (the engine keeps it as the page's
    ``canonical``), so those are checked against ``pages.canonical_id``.

    ``not_fetched`` counts the URLs recorded without a fetch or with an error, by reason:
    a trap guard or a per-host cap that cut the benchmark web short would show here
    (``trap-depth``, ``host-url-cap``...), while the peers, which have no such guards,
    would crawl on.
    """
    from linkgraph.storage.records import KINDS as LINK_KINDS
    from linkgraph.storage.records import PLACEMENTS

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        pages = dict(
            conn.execute(
                "SELECT u.url, c.url FROM pages p JOIN urls u ON u.id = p.url_id"
                " LEFT JOIN urls c ON c.id = p.canonical_id WHERE p.status = 200"
            ).fetchall()
        )
        not_fetched = dict(
            conn.execute(
                "SELECT error, count(*) FROM pages WHERE error IS NOT NULL GROUP BY error"
                " ORDER BY error"
            ).fetchall()
        )
        stored = {
            (s, t, LINK_KINDS[kind], anchor, PLACEMENTS[placement], rel or "", bool(flags & 8))
            for s, t, kind, anchor, placement, rel, flags in conn.execute(
                "SELECT s.url, t.url, l.kind, a.text, l.placement, r.tokens, l.flags FROM links l"
                " JOIN urls s ON s.id = l.source_id JOIN urls t ON t.id = l.target_id"
                " JOIN anchors a ON a.id = l.anchor_id LEFT JOIN rels r ON r.id = l.rel_id"
            )
        }
    finally:
        conn.close()
    rows, self_canonical, canonical_ok = 0, 0, 0
    want: set[tuple[Any, ...]] = set()
    for source, canonical in pages.items():
        for ln in truth.get(source, []):
            rows += 1
            if ln.kind == "canonical" and ln.target == source:
                self_canonical += 1
                canonical_ok += canonical == source
                continue
            want.add(
                (source, ln.target, ln.kind, ln.anchor, ln.placement, " ".join(ln.rel), ln.image)
            )
    missing = want - stored
    return {
        "fetched_pages": len(pages),
        "not_fetched": not_fetched,
        "expected_link_rows": rows,
        "expected_keys": len(want),
        "stored_keys": len(stored),
        "missing": len(missing),
        "extra": len(stored - want),
        "self_canonicals": self_canonical,
        "self_canonicals_stored": canonical_ok,
        "missing_sample": sorted(missing)[:1],
    }


def check_feed(feed: Path, truth: dict[str, list[Any]]) -> dict[str, Any]:
    """Scrapy's feed: its (source, target) pairs against the ground truth's ``link`` entries."""
    got: Counter[tuple[str, str]] = Counter()
    with feed.open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            got[(item["source"], item["target"])] += 1
    sources = {s for s, _ in got}
    want: Counter[tuple[str, str]] = Counter(
        (s, ln.target) for s in sources for ln in truth.get(s, []) if ln.kind == "link"
    )
    return {
        "items": sum(got.values()),
        "expected_items": sum(want.values()),
        "missing": sum((want - got).values()),
        "extra": sum((got - want).values()),
    }


# -- py-spy: where the GIL-holding time of a linkgraph crawl goes ---------------------------------

SPY_RATE = 250
# (substring of a stack, bucket): the first rule that matches a stack, tried in order, names it.
# Leaf rules come first so that time spent in a syscall is not charged to its caller.
SPY_RULES = [
    ("leaf:StreamWriter._write", "socket send (syscall; on loopback it runs the receive side too)"),
    ("leaf:_Connection.send", "socket send (syscall; on loopback it runs the receive side too)"),
    ("aiohttp/", "aiohttp client (Python)"),
    ("crawler/client.py", "HTTP client (crawler/client.py)"),
    ("crawler/urls.py:", "URL resolution, hashing, scope (urls.py)"),
    ("crawler/placement.py", "extract: placements"),
    ("_Head", "extract: head (title, canonical, meta)"),
    ("extract (crawler/extract.py", "extract: parse, links, anchors, text"),
    ("decode_html", "charset decoding"),
    ("storage/writer.py", "store writer, on the event loop thread"),
    ("aiosqlite", "aiosqlite hand-offs, on the event loop thread"),
    ("crawler/parsing.py", "parse hand-off (pickles to and from the worker, Link records)"),
    ("crawler/frontier.py", "frontier (seen set, queues)"),
    ("crawler/robots.py", "robots.txt matching"),
    ("crawler/politeness.py", "scheduler (heap, ready queue)"),
    ("crawler/engine.py", "engine (records, follow lists, steps)"),
    ("Runner.run", "event loop and callbacks"),
]


def spy_counts(text: str) -> tuple[Counter[str], Counter[str]]:
    """Samples per thread, and per bucket of ``SPY_RULES`` for the event loop thread.

    ``text`` is py-spy's raw (collapsed) output: one ``thread;frame;...;frame count`` line
    per distinct stack. Threads are told apart by what they run, not by name alone: the
    engine's ``page-parser`` thread (parsing before the workers start) and aiosqlite's
    connection thread are both ``Thread._bootstrap`` stacks.
    """
    threads: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        thread, *frames = stack.split(";")
        if "_connection_worker_thread" in stack:
            name = "SQLite writer thread (aiosqlite)"
        elif "page-parser" in thread or "_ParseThread._run" in stack:
            name = "page-parser thread (the first pages, before the workers)"
        elif frames and frames[0].startswith("Thread._bootstrap"):
            name = "other threads"
        elif "aiohttp" in stack or "Runner.run" in stack:
            name = "event loop thread"
        else:
            name = "start-up and imports"
        threads[name] += n
        if name != "event loop thread":
            continue
        joined = ";".join(frames)
        leaf = frames[-1] if frames else ""
        for key, bucket in SPY_RULES:
            hit = leaf.startswith(key[5:]) if key.startswith("leaf:") else key in joined
            if hit:
                buckets[bucket] += n
                break
        else:
            buckets["other: " + leaf.split(" (")[0]] += n
    return threads, buckets


def spy_breakdown(path: Path, pages: int) -> str:
    """Sum py-spy's raw (collapsed) samples per thread and per bucket, in ms per page."""
    threads, buckets = spy_counts(path.read_text())

    def ms(n: int) -> str:
        return f"{1000 * n / SPY_RATE / max(pages, 1):8.3f}"

    total = sum(threads.values()) or 1
    out = [f"samples holding the GIL: {total} at {SPY_RATE} Hz = {total / SPY_RATE:.1f} s"]
    out.append(f"{'seconds':>8} {'ms/page':>8}  thread ({pages} pages)")
    out += [f"{n / SPY_RATE:8.2f} {ms(n)}  {name}" for name, n in threads.most_common()]
    loop = threads["event loop thread"] or 1
    out.append(f"\n{'share':>8} {'ms/page':>8}  event loop thread, by the first rule that matches")
    out += [f"{n / loop:8.1%} {ms(n)}  {name}" for name, n in buckets.most_common()]
    return "\n".join(out)
