"""Benchmark the link store at scale: bytes per link, query latency, end-to-end rank.

Builds a synthetic crawl through the real writer (pages of ~40 links, written in crawl
order, so the B-trees fill the way a real crawl fills them), then measures:

- bytes per link on disk, indexes included (the whole file / links);
- p50 / p99 latency of ``backlinks`` and ``referring-domains`` for targets with 10,000+
  backlinks (and for a median target), through the public Python API;
- ``linkgraph rank`` end to end (load + rank all levels + write back), and its phases.

Usage::

    python scripts/bench_store.py --links 10000000 --db /tmp/bench-store.db
    python scripts/bench_store.py --reuse --db /tmp/bench-store.db     # skip the build

The synthetic web: ``--domains`` registrable domains with 1-3 hosts each; a URL per four
links; half the links go to Zipf-popular URLs (hubs with tens of thousands of backlinks),
half uniformly over all URLs (the long tail);
anchors from a vocabulary with the same skew, 10% nofollow, placements mixed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from linkgraph.storage.records import PLACEMENTS, Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph

WORDS = (
    "best cheap guide review news blog home shop free online top how what why buy "
    "learn tutorial price deals official site click here read more source this page"
).split()


def synthetic(links: int, domains: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    host_names = []
    for d in range(domains):
        for sub in ("www", "blog", "shop")[: 1 + d % 3]:
            host_names.append(f"{sub}.site{d}.example")
    hosts = np.array(host_names)
    per_page = 40
    n_sources = links // per_page
    n_urls = max(links // 4, 1000)
    # Target popularity: half the links go to Zipf-popular URLs (hubs with tens of
    # thousands of backlinks), half uniformly over all URLs (the long tail).
    # URL i lives on host i % len(hosts).
    popular = rng.zipf(1.3, size=links)
    popular = popular[popular <= n_urls][: links // 2] - 1
    ranks = np.concatenate([popular, rng.integers(0, n_urls, size=links - len(popular))])
    rng.shuffle(ranks)
    anchors_vocab = [" ".join(rng.choice(WORDS, size=rng.integers(1, 4))) for _ in range(50_000)]
    anchor_idx = np.minimum(rng.zipf(1.5, size=links) - 1, len(anchors_vocab) - 1)
    nofollow = rng.random(links) < 0.1
    placement = rng.integers(0, len(PLACEMENTS), size=links)

    def url(i: int) -> str:
        return f"https://{hosts[i % len(hosts)]}/articles/{i // len(hosts)}/a-readable-slug-for-page-{i}"

    return n_sources, url, ranks, anchors_vocab, anchor_idx, nofollow, placement, per_page


async def build(db: Path, links: int, domains: int, seed: int) -> None:
    n_sources, url, ranks, vocab, anchor_idx, nofollow, placement, per_page = synthetic(
        links, domains, seed
    )
    now = time.time()
    started = time.perf_counter()
    async with await StoreWriter.open(db, batch_pages=500) as writer:
        k = 0
        for page_no in range(n_sources):
            source = url(page_no * 7919 % n_sources)
            out = []
            for _ in range(per_page):
                if k >= len(ranks):
                    break
                out.append(
                    Link(
                        url(int(ranks[k])),
                        vocab[int(anchor_idx[k])],
                        ("nofollow",) if nofollow[k] else (),
                        PLACEMENTS[int(placement[k])],
                    )
                )
                k += 1
            writer.add_page(Page(source, 1, now, status=200, final_url=source, links=out))
            if writer.full:
                await writer.flush()
            if page_no % 25_000 == 0 and page_no:
                rate = k / (time.perf_counter() - started)
                print(f"  {k:,} links written ({rate:,.0f}/s)", file=sys.stderr)
    print(f"built {db} in {time.perf_counter() - started:.0f}s", file=sys.stderr)


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--links", type=int, default=10_000_000)
    ap.add_argument("--domains", type=int, default=20_000)
    ap.add_argument("--db", default="/tmp/bench-store.db")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="measure an existing store")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--skip-rank", action="store_true")
    args = ap.parse_args()
    db = Path(args.db)
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        asyncio.run(build(db, args.links, args.domains, args.seed))

    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n_links = conn.execute("SELECT count(*) FROM links").fetchone()[0]
    n_urls = conn.execute("SELECT count(*) FROM urls").fetchone()[0]
    size = os.path.getsize(db)
    # Targets with 10,000+ backlinks, and one near the median.
    heavy = conn.execute(
        "SELECT u.url, count(*) c FROM links l JOIN urls u ON u.id = l.target_id"
        " GROUP BY l.target_id HAVING c >= 10000 ORDER BY c LIMIT 3"
    ).fetchall()
    conn.close()
    from _benchutil import cpu_model  # beside this script, on sys.path when it runs

    print(
        f"machine: {cpu_model(platform.machine())}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    print(
        f"store: {n_links:,} links, {n_urls:,} URLs, {size / 2**20:,.0f} MiB -> {size / n_links:.1f} bytes/link (all indexes)"
    )
    if not heavy:
        print("no target with 10,000+ backlinks; use more --links")
        return 1
    for target, count in heavy:
        for name, fn in (
            ("backlinks", lambda t=target: linkgraph.backlinks(db, t, limit=100)),
            ("referring-domains", lambda t=target: linkgraph.referring_domains(db, t, limit=100)),
        ):
            fn()  # warm the page cache, as a server would be
            samples = timed(fn, args.repeat)
            print(
                f"{name:18} {count:>7,} links into target: p50 {pct(samples, 50):6.1f} ms"
                f"  p99 {pct(samples, 99):6.1f} ms  (median of {args.repeat}: {statistics.median(samples):.1f})"
            )
    if not args.skip_rank:
        t = time.perf_counter()
        summary = linkgraph.rank(db)
        total = time.perf_counter() - t
        phases = ", ".join(f"{k} {v:.1f}s" for k, v in summary.seconds.items())
        print(
            f"rank end to end: {total:.1f}s ({phases}); {summary.pages:,} pages, {summary.hosts:,} hosts, {summary.domains:,} domains"
        )
        # The steps inside those (what `linkgraph rank --verbose` prints).
        print("rank phases: " + ", ".join(f"{k} {v:.2f}s" for k, v in summary.phases.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
