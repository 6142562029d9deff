"""``linkgraph rank``: authority for every page, host and domain of a store.

The composition of the three engines for ranking: ``storage.graphload`` reads arrays,
``graph`` computes, ``storage.graphload.write_scores`` writes back, all levels in one
transaction (a crash leaves the previous scores whole).

What counts, at each level (current links only: a link a recrawl found gone passes
nothing, see ``storage.queries.CURRENT``):

- **page**: follow links (internal and external) and redirects; a page that redirects
  passes its whole score to its target (``graph.fold_redirects``).
- **host** and **domain**: one edge per ordered pair of different hosts (domains) joined
  by at least one follow link or redirect; each splits its score equally across the
  hosts (domains) it links to — the documented basis of Ahrefs' Domain Rating.
- ``backlinks`` / ``referring_domains`` of an entry count backlinks (distinct source
  page → target URL pairs) and distinct linking registrable domains, from other
  registrable domains only.
- ``trust`` (with ``--trusted FILE``): TrustRank, PageRank whose random jumps land only
  on the trusted sites (their pages at page level).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linkgraph import graph
from linkgraph.crawler.settings import SettingsError
from linkgraph.crawler.urls import host_of, normalize, registrable_domain
from linkgraph.storage import schema
from linkgraph.storage.errors import from_sqlite
from linkgraph.storage.graphload import GraphArrays, load_graph, write_scores

from .api import read_list_file

__all__ = ["RankSummary", "rank", "read_trusted"]


@dataclass(slots=True)
class RankSummary:
    pages: int = 0
    hosts: int = 0
    domains: int = 0
    backlinks: int = 0
    follow_edges: int = 0
    trusted: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    top_domains: list[tuple[str, float]] = field(default_factory=list)


def read_trusted(path: str | os.PathLike[str]) -> list[str]:
    """Trusted sites, one per line: a domain, a host or a URL (its host is used)."""
    names = []
    for number, line in read_list_file(path, "trusted file"):
        url = normalize(line if "://" in line else f"http://{line}/")
        if url is None:
            raise SettingsError(f"{path}:{number}: not a host, domain or URL: {line!r}")
        names.append(host_of(url))
    if not names:
        raise SettingsError(f"trusted file {path} names no site")
    return names


def _pair_counts(
    target: np.ndarray, source_domain: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backlinks and distinct referring domains per target id (inputs already external)."""
    backlinks = np.bincount(target, minlength=n)
    pairs = np.unique((source_domain.astype(np.int64) << 32) | target.astype(np.int64))
    referring = np.bincount((pairs & 0xFFFFFFFF).astype(np.int64), minlength=n)
    return backlinks, referring


def _trusted_ids(
    conn: sqlite3.Connection, names: list[str], g: GraphArrays
) -> dict[str, np.ndarray]:
    """Trusted seeds per level: domains named, hosts named or in those domains, their pages."""
    domains = {registrable_domain(n) for n in names}
    exact_hosts = set(names)
    domain_ids = np.array(
        [
            r[0] - 1
            for r in conn.execute(
                f"SELECT id FROM domains WHERE name IN ({','.join('?' * len(domains))})",
                sorted(domains),
            )
        ],
        dtype=np.int64,
    )
    host_rows = (
        conn.execute(
            f"SELECT id, name FROM hosts WHERE domain_id IN ({','.join('?' * len(domain_ids))})",
            [int(d) + 1 for d in domain_ids],
        ).fetchall()
        if len(domain_ids)
        else []
    )
    # A name that is a registrable domain trusts all its hosts; a host name, that host.
    host_ids = np.array(
        [
            hid - 1
            for hid, name in host_rows
            if name in exact_hosts or registrable_domain(name) in exact_hosts
        ],
        dtype=np.int64,
    )
    page_ids = np.flatnonzero(np.isin(g.url_host, host_ids))
    return {"page": page_ids, "host": host_ids, "domain": domain_ids}


def _personalization(ids: np.ndarray, n: int) -> np.ndarray | None:
    if len(ids) == 0:
        return None
    v = np.zeros(n)
    v[ids] = 1.0
    return v


def rank(
    db: str | os.PathLike[str],
    *,
    trusted: str | os.PathLike[str] | list[str] | None = None,
    alpha: float = 0.85,
    progress: Callable[[str], object] | None = None,
) -> RankSummary:
    """Compute and store PageRank, authority (0-100), TrustRank and harmonic centrality."""
    say = progress or (lambda _msg: None)
    summary = RankSummary()
    trusted_names = read_trusted(trusted) if isinstance(trusted, (str, os.PathLike)) else trusted
    conn = schema.connect(db)
    try:
        clock = time.perf_counter()
        say("loading the link graph")
        g = load_graph(conn)
        summary.seconds["load"] = time.perf_counter() - clock
        summary.pages, summary.hosts, summary.domains = g.n_urls, g.n_hosts, g.n_domains
        summary.backlinks = len(g.src)
        seeds = _trusted_ids(conn, trusted_names, g) if trusted_names else None
        if seeds is not None:
            summary.trusted = len(seeds["domain"])

        clock = time.perf_counter()
        url_domain = g.url_domain
        src_f, dst_f = g.src[g.follow], g.dst[g.follow]
        redirects = np.column_stack([g.redirect_src, g.redirect_dst])
        p_src, p_dst, _ = graph.fold_redirects(src_f, dst_f, redirects)
        summary.follow_edges = len(p_src)
        external = url_domain[g.src] != url_domain[g.dst]
        ext_src, ext_dst = g.src[external], g.dst[external]

        results: dict[str, dict[str, Any]] = {}
        levels: list[tuple[str, int, np.ndarray | None]] = [
            ("page", g.n_urls, None),
            ("host", g.n_hosts, g.url_host),
            ("domain", g.n_domains, url_domain),
        ]
        # Redirects join the host and domain graphs as links: a site that moved passes on.
        all_src = np.concatenate([src_f, g.redirect_src])
        all_dst = np.concatenate([dst_f, g.redirect_dst])
        for level, n, group in levels:
            if n == 0:
                results[level] = {}
                continue
            say(f"ranking {n:,} {level}s")
            if group is None:
                adjacency: Any = np.column_stack([p_src, p_dst])
                target_of = ext_dst
            else:
                adjacency = graph.group_graph(all_src, all_dst, group, n_groups=n)
                target_of = group[ext_dst]
            pr = (
                graph.pagerank(adjacency, n=n, alpha=alpha)
                if group is None
                else graph.pagerank(adjacency, alpha=alpha)
            )
            backlinks, referring = _pair_counts(target_of, url_domain[ext_src], n)
            result: dict[str, Any] = {
                "pagerank": pr,
                "authority": graph.authority_scores(pr, alpha=alpha),
                "backlinks": backlinks,
                "referring_domains": referring,
            }
            if seeds is not None:
                v = _personalization(seeds[level], n)
                if v is not None:
                    result["trust"] = graph.pagerank(
                        adjacency, n=n if group is None else None, alpha=alpha, personalization=v
                    )
            if group is not None:
                # Exact up to 2,000 nodes; above, 256 sampled sources (a few seconds on
                # 40,000 hosts; error documented in graph/harmonic.py and the README).
                result["harmonic"] = graph.harmonic_centrality(
                    adjacency, exact=n <= 2000, samples=256, seed=0
                )
            results[level] = result
        summary.seconds["rank"] = time.perf_counter() - clock

        clock = time.perf_counter()
        say("writing scores")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for level, result in results.items():
                if result:
                    write_scores(conn, level, **result)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        summary.seconds["write"] = time.perf_counter() - clock
        summary.top_domains = [
            (name, authority)
            for name, authority in conn.execute(
                "SELECT d.name, s.authority FROM domain_scores s JOIN domains d ON d.id = s.domain_id"
                " ORDER BY s.pagerank DESC LIMIT 5"
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(db, exc) from None
    finally:
        conn.close()
    return summary
