"""Benchmark the link store at scale: bytes per link, query latency, end-to-end rank.

Builds a synthetic crawl through the real writer (pages of ~40 links, written in crawl
order, so the B-trees fill the way a real crawl fills them), then measures:

- bytes per link on disk, indexes included (the whole file / links);
- p50 / p99 latency of ``backlinks``, ``referring-domains`` and ``anchors`` (limit 100)
  for three target URLs (by default the first at or above 10,000, 40,000 and 400,000
  current external links), through the public Python API, each call opening the store
  as the command does;
- beside them, DuckDB (2 threads) over a Parquet export of the same links answering the
  same backlinks, referring-domains and anchors questions (same filter, order and top 100, checked
  equal to ours), and the ratio ours / DuckDB. duckdb and pyarrow come with the
  ``bench`` extra (``pip install -e '.[bench]'``); without them the peer is skipped, and
  the script says so. The export is written once beside the store and reused;
- ``linkgraph rank`` end to end (load + rank all levels + write back), and its phases.

Usage::

    python scripts/bench_store.py --links 10000000 --db /tmp/bench-store.db
    python scripts/bench_store.py --reuse --db /tmp/bench-store.db     # skip the build
    python scripts/bench_store.py --reuse --skip-rank --db /tmp/bench-store.db   # queries only

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


def timed(fn, repeat: int, seconds: float) -> list[float]:  # type: ignore[no-untyped-def]
    """``repeat`` timed calls in milliseconds, fewer if they pass ``seconds`` (at least 10)."""
    out: list[float] = []
    stop = time.perf_counter() + seconds
    while len(out) < repeat and (len(out) < 10 or time.perf_counter() < stop):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q))


# The question every query here asks: current, external, kind=0 links into one URL.
_INTO = "l.kind = 0 AND l.lost_at IS NULL AND (l.flags & 16) = 0"


def pick_targets(conn, sizes: list[int]) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    """For each size, the URL with the fewest current external links at or above it:
    ``(url, links, backlinks)``, backlinks counting distinct source pages."""
    counts = conn.execute(
        f"SELECT target_id, count(*) c FROM links l WHERE {_INTO}"
        " GROUP BY target_id HAVING c >= ? ORDER BY c",
        (min(sizes),),
    ).fetchall()
    picked = []
    for size in sizes:
        found = next(((t, c) for t, c in counts if c >= size), None)
        if found is None:
            print(f"no target with {size:,}+ links; use more --links", file=sys.stderr)
            continue
        target_id, links = found
        backlinks = conn.execute(
            f"SELECT count(DISTINCT source_id) FROM links l WHERE target_id = ? AND {_INTO}",
            (target_id,),
        ).fetchone()[0]
        url = conn.execute("SELECT url FROM urls WHERE id = ?", (target_id,)).fetchone()[0]
        picked.append((url, links, backlinks))
    return picked


def load_peer():  # type: ignore[no-untyped-def]
    """duckdb and pyarrow, or ``None`` (with a message saying how to get them)."""
    try:
        import duckdb
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        print(
            f"DuckDB peer skipped: {exc.name} is not installed"
            " (pip install -e '.[bench]' installs duckdb and pyarrow)",
            file=sys.stderr,
        )
        return None
    return duckdb, pyarrow


def export_parquet(db: Path, pa) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    """Every link (source domain name, target URL, anchor, flags, times), every domain's
    PageRank and every linking page's URL and PageRank as Parquet beside the store,
    written once and reused while newer than it."""
    import sqlite3

    import pyarrow.parquet as pq

    links_file, domains_file = Path(f"{db}.links.parquet"), Path(f"{db}.domains.parquet")
    pages_file = Path(f"{db}.pages.parquet")
    files = (links_file, domains_file, pages_file)
    if all(f.exists() and f.stat().st_mtime > db.stat().st_mtime for f in files):
        return files
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    names = [
        "target_url",
        "source_id",
        "source_domain",
        "anchor",
        "kind",
        "flags",
        "lost_at",
        "first_seen",
        "last_seen",
    ]
    schema = pa.schema(
        [
            ("target_url", pa.string()),
            ("source_id", pa.int64()),
            ("source_domain", pa.string()),
            ("anchor", pa.string()),
            ("kind", pa.int8()),
            ("flags", pa.int16()),
            ("lost_at", pa.int64()),
            ("first_seen", pa.int64()),
            ("last_seen", pa.int64()),
        ]
    )
    cur = conn.execute(
        "SELECT t.url, l.source_id, d.name, a.text, l.kind, l.flags, l.lost_at, l.first_seen,"
        " coalesce(l.last_seen, l.first_seen) FROM links l JOIN urls t ON t.id = l.target_id"
        " JOIN urls s ON s.id = l.source_id JOIN hosts h ON h.id = s.host_id"
        " JOIN domains d ON d.id = h.domain_id JOIN anchors a ON a.id = l.anchor_id"
        # Sorted by the column the questions filter on, in small row groups: DuckDB then
        # reads only the groups whose min/max can hold the target (its best case).
        " ORDER BY t.url"
    )
    tmp = links_file.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        while rows := cur.fetchmany(500_000):
            columns = list(zip(*rows, strict=True))
            writer.write_table(
                pa.table(dict(zip(names, columns, strict=True)), schema=schema),
                row_group_size=100_000,
            )
    tmp.replace(links_file)
    rows = conn.execute(
        "SELECT d.name, ds.pagerank FROM domains d LEFT JOIN domain_scores ds ON ds.domain_id = d.id"
    ).fetchall()
    pq.write_table(
        pa.table(
            {"name": [r[0] for r in rows], "pagerank": [r[1] for r in rows]},
            schema=pa.schema([("name", pa.string()), ("pagerank", pa.float64())]),
        ),
        domains_file,
    )
    rows = conn.execute(
        "SELECT u.id, u.url, ps.pagerank, ps.authority"
        " FROM (SELECT DISTINCT source_id AS id FROM links) s"
        " JOIN urls u ON u.id = s.id LEFT JOIN page_scores ps ON ps.url_id = u.id"
    ).fetchall()
    conn.close()
    pages_schema = pa.schema(
        [
            ("source_id", pa.int64()),
            ("url", pa.string()),
            ("pagerank", pa.float64()),
            ("authority", pa.float64()),
        ]
    )
    pq.write_table(
        pa.table(
            {name: [r[i] for r in rows] for i, name in enumerate(pages_schema.names)},
            schema=pages_schema,
        ),
        pages_file,
    )
    print(f"exported {links_file} in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return files


# The same questions as ``backlinks``, ``referring_domains`` and ``anchors`` with their
# default filter (current, external, kind 0 links into one URL), same order, top 100.
# With one target URL a backlink (a distinct source, target pair) is a distinct source page.
_PEER_LINKS = (
    "SELECT * FROM read_parquet('{links}') WHERE target_url = $target AND kind = 0"
    " AND lost_at IS NULL AND (flags & 16) = 0"
)
PEER_BACKLINKS = (
    "WITH l AS (" + _PEER_LINKS + ")"
    " SELECT p.url, l.anchor, l.first_seen, p.authority FROM l"
    " LEFT JOIN read_parquet('{pages}') p ON p.source_id = l.source_id"
    " ORDER BY p.pagerank IS NULL, p.pagerank DESC, l.first_seen DESC LIMIT 100"
)
PEER_REFERRING_DOMAINS = (
    "WITH l AS (" + _PEER_LINKS + ")"
    " SELECT l.source_domain, count(DISTINCT l.source_id) AS backlinks,"
    " count(DISTINCT l.source_id) FILTER (WHERE (l.flags & 7) = 0), min(l.first_seen),"
    " max(l.last_seen) FROM l LEFT JOIN read_parquet('{domains}') d ON d.name = l.source_domain"
    " GROUP BY l.source_domain, d.pagerank"
    " ORDER BY d.pagerank IS NULL, d.pagerank DESC, backlinks DESC, l.source_domain LIMIT 100"
)
PEER_ANCHORS = (
    "WITH l AS (" + _PEER_LINKS + ")"
    " SELECT anchor, count(DISTINCT source_id) AS backlinks,"
    " count(DISTINCT source_id) FILTER (WHERE (flags & 7) = 0),"
    " count(DISTINCT source_domain) AS domains, (flags & 8) > 0 AS image"
    " FROM l GROUP BY anchor, (flags & 8) > 0"
    " ORDER BY domains DESC, backlinks DESC, anchor LIMIT 100"
)


def peer_rows(name: str, con, sql: str, target: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    from linkgraph.storage.queries import iso

    rows = con.execute(sql, {"target": target}).fetchall()
    if name == "backlinks":
        return [(source, anchor, iso(first), a) for source, anchor, first, a in rows]
    if name == "referring-domains":
        return [(d, n, f, iso(first), iso(last)) for d, n, f, first, last in rows]
    return [(a, n, f, d, bool(img)) for a, n, f, d, img in rows]


def our_rows(name: str, records: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
    if name == "backlinks":
        keys = ("source", "anchor", "first_seen", "source_authority")
    elif name == "referring-domains":
        keys = ("domain", "backlinks", "follow_backlinks", "first_seen", "last_seen")
    else:
        keys = ("anchor", "backlinks", "follow_backlinks", "referring_domains", "image")
    return [tuple(r[k] for k in keys) for r in records]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--links", type=int, default=10_000_000)
    ap.add_argument("--domains", type=int, default=20_000)
    ap.add_argument("--db", default="/tmp/bench-store.db")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="measure an existing store")
    ap.add_argument("--repeat", type=int, default=200, help="timed calls per query (at most)")
    ap.add_argument(
        "--seconds", type=float, default=60, help="stop a query's timing after this (>= 10 calls)"
    )
    ap.add_argument(
        "--targets",
        default="10000,40000,400000",
        help="target sizes: for each, the URL with the fewest current external links at or above it",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip the DuckDB over Parquet peer")
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
    targets = pick_targets(conn, [int(n) for n in args.targets.split(",")])
    conn.close()
    from _benchutil import cpu_model  # beside this script, on sys.path when it runs

    print(
        f"machine: {cpu_model(platform.machine())}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(
        f"store: {n_links:,} links, {n_urls:,} URLs, {size / 2**20:,.0f} MiB -> {size / n_links:.1f} bytes/link (all indexes)"
    )
    if not targets:
        return 1
    peer = None if args.no_peer else load_peer()
    if peer is not None:
        duckdb, pa = peer
        links_file, domains_file, pages_file = export_parquet(db, pa)
        con = duckdb.connect()
        con.execute("SET threads = 2")
        print(f"peer: DuckDB {duckdb.__version__} over {links_file.name} (2 threads)")
    commands = {
        "backlinks": linkgraph.backlinks,
        "referring-domains": linkgraph.referring_domains,
        "anchors": linkgraph.anchors,
    }
    peer_sql = {
        "backlinks": PEER_BACKLINKS,
        "referring-domains": PEER_REFERRING_DOMAINS,
        "anchors": PEER_ANCHORS,
    }
    for target, links, backlinks in targets:
        print(f"target {target}: {links:,} links, {backlinks:,} backlinks")
        for name, command in commands.items():
            fn = lambda c=command, t=target: c(db, t, limit=100)  # noqa: E731
            ours = fn()  # warm the page cache, as a server would be
            samples = timed(fn, args.repeat, args.seconds)
            line = (
                f"  {name:18} ours p50 {pct(samples, 50):7.1f} ms  p99 {pct(samples, 99):7.1f} ms"
                f"  ({len(samples)} calls)"
            )
            if peer is not None and name in peer_sql:
                sql = peer_sql[name].format(
                    links=links_file, domains=domains_file, pages=pages_file
                )
                theirs = peer_rows(name, con, sql, target)  # warm, as ours
                same = our_rows(name, ours) == theirs
                if not same and sorted(our_rows(name, ours)) == sorted(theirs):
                    same = "same rows, ties ordered apart"  # type: ignore[assignment]
                elif not same and name == "backlinks":
                    # Links of equal authority and first seen tie: the cut may keep others.
                    if [r[2:] for r in our_rows(name, ours)] == [r[2:] for r in theirs]:
                        same = "same sort keys, ties cut apart"  # type: ignore[assignment]
                duck = timed(
                    lambda s=sql, t=target: con.execute(s, {"target": t}).fetchall(),
                    args.repeat,
                    args.seconds,
                )
                line += (
                    f" | DuckDB p50 {pct(duck, 50):7.1f} ms  p99 {pct(duck, 99):7.1f} ms"
                    f" | ours/DuckDB p50 {pct(samples, 50) / pct(duck, 50):5.2f}"
                    f"  p99 {pct(samples, 99) / pct(duck, 99):5.2f}"
                    f" | top 100 {'identical' if same is True else same or 'DIFFERENT'}"
                )
            print(line, flush=True)
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
