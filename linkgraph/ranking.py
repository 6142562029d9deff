"""``linkgraph rank``: authority for every page, host and domain of a store.

Wiring only: ``storage.graphload`` reads the link graph into arrays,
``graph.ranking`` computes every level (what counts at each level is documented
there), ``storage.scores`` writes the scores back, all levels in one transaction (a
crash leaves the previous scores whole). Current links only: a link a recrawl found
gone passes nothing (see ``storage.queries.CURRENT``).
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linkgraph.crawler.settings import SettingsError
from linkgraph.crawler.urls import host_of, normalize, registrable_domain
from linkgraph.graph.ranking import rank_levels, trusted_seeds
from linkgraph.storage import scores as store_scores
from linkgraph.storage.graphload import GraphArrays

from .inputs import read_list_file
from .stores import is_pg_url, refuse_other_urls

__all__ = ["RankSummary", "rank", "read_trusted"]


@dataclass(slots=True)
class RankSummary:
    pages: int = 0
    hosts: int = 0
    domains: int = 0
    backlinks: int = 0
    follow_edges: int = 0
    trusted: int = 0
    # load / rank / write, which add up to the whole run...
    seconds: dict[str, float] = field(default_factory=dict)
    # ... and the steps inside them, in order (``linkgraph rank --verbose`` prints these).
    phases: dict[str, float] = field(default_factory=dict)
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


def _trusted_ids(
    backend: Any, conn: Any, names: list[str], g: GraphArrays, ids: Any
) -> dict[str, np.ndarray]:
    """Trusted seeds per level: domains named, hosts named or in those domains, their pages.
    ``ids``: the store ids of the graph's nodes where it was renumbered past gaps."""
    domain_ids, hosts = backend.trusted_candidates(conn, {registrable_domain(n) for n in names})
    # Store ids to node numbers. The candidates are read after the graph: a host or domain
    # a crawl stored meanwhile is in them and not in the graph, and is left out.
    host_ids = np.array([h for h, _ in hosts], dtype=np.int64)
    if ids is None:
        domain_numbers, domain_found = domain_ids, domain_ids < g.n_domains
        host_numbers, host_found = host_ids, host_ids < g.n_hosts
    else:
        domain_numbers, domain_found = ids.nodes("domain", domain_ids)
        host_numbers, host_found = ids.nodes("host", host_ids)
    domain_ids = domain_numbers[domain_found]
    hosts = [
        (number, name)
        for number, found, (_, name) in zip(
            host_numbers.tolist(), host_found.tolist(), hosts, strict=True
        )
        if found
    ]
    exact_hosts = set(names)
    # A name that is a registrable domain trusts all its hosts; a host name, that host.
    host_ids = np.array(
        [
            hid
            for hid, name in hosts
            if name in exact_hosts or registrable_domain(name) in exact_hosts
        ],
        dtype=np.int64,
    )
    return trusted_seeds(domain_ids, host_ids, g.url_host)


# glibc's mallopt parameter M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3


def _map_large_arrays() -> None:
    """Have glibc give every allocation of 16 MiB or more its own mapping (glibc only).

    By default glibc raises that threshold up to 32 MiB as large blocks are freed, after
    which the many arrays of a few MB that ranking makes and frees come from the heap,
    and freed ones still count in the resident size until ``malloc_trim``. With a fixed
    threshold a freed array goes back to the system at once. It stays set for the rest
    of the process.

    Not lower: every new mapping is faulted in again, page by page, and the links scan
    and the counts make many blocks of 4 to 16 MB (a range's rows as one string, its
    arrays). On the 10M-link store a 4 MiB threshold took 510,000 page faults and 3.1 to
    3.6 s of system time, 16 MiB 240,000 and 2.4 to 2.7 s, at the same peak (356-358 MB).
    """
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 16 << 20)
    except (OSError, AttributeError):  # not glibc
        pass


def _return_freed_memory() -> None:
    """Hand the heap memory already freed back to the operating system (glibc only).

    Reading and ranking free many arrays of a few MB; glibc keeps those in its heap for
    reuse (once a large block was freed, it raises its threshold for using mmap to 32
    MB), which on the 10M-link store held about 100 MB of freed memory through every
    later phase. ``malloc_trim`` releases it; elsewhere this does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def rank(
    db: str | os.PathLike[str],
    *,
    trusted: str | os.PathLike[str] | list[str] | None = None,
    alpha: float = 0.85,
    progress: Callable[[str], object] | None = None,
) -> RankSummary:
    """Compute and store PageRank, authority (0-100), TrustRank and harmonic centrality.

    ``summary.seconds`` splits the run into load, rank and write; ``summary.phases``
    names the steps inside them: ``open`` (the store's integrity check and migrations),
    ``load``, ``counts`` (backlinks and referring domains of all levels), per level its
    ``graph`` and ``scores`` (PageRank, TrustRank, harmonic centrality), ``write``,
    ``hubs`` (making hubs of the URLs whose linking hosts are counted ahead, as the load
    counted them; it runs in the writing thread beside the ranking, so it is not part of
    the total).

    On glibc it fixes the process's mmap threshold at 16 MiB (see :func:`_map_large_arrays`),
    which stays so after it returns.
    """
    if is_pg_url(db):
        from linkgraph.storage.pg import ranking as backend
    else:
        refuse_other_urls(db)
        backend = store_scores
    say = progress or (lambda _msg: None)
    summary = RankSummary()
    phases = summary.phases
    trusted_names = read_trusted(trusted) if isinstance(trusted, (str, os.PathLike)) else trusted
    started = time.perf_counter()
    _map_large_arrays()
    with backend.GraphLoader(db) as loader, backend.writer(db) as conn:
        phases["open"] = time.perf_counter() - started
        say("loading the link graph")
        g, phases["load"] = loader.result(conn)
        summary.seconds["load"] = time.perf_counter() - started
        summary.pages, summary.hosts, summary.domains = g.n_urls, g.n_hosts, g.n_domains
        summary.backlinks = len(g.src)
        seeds = _trusted_ids(backend, conn, trusted_names, g, loader.ids) if trusted_names else None
        if seeds is not None:
            summary.trusted = len(seeds["domain"])

        clock = time.perf_counter()
        _return_freed_memory()
        # In a second thread while the levels are ranked: which URLs are hubs (it changes
        # with the crawl; storage.inlinks), then each level's scores, in one transaction.
        with backend.replacing_scores(conn, ids=loader.ids) as writes:
            if backend.refresh_hubs is not None:  # SQLite's hub tables (PostgreSQL has none)
                hubs = loader.hubs  # counted as the links were read
                writes.run(lambda conn: backend.refresh_hubs(conn, wanted=hubs), "hubs")
            if summary.pages:
                # Emptied while the counts take one core (0.3 s of 2.2M page rows); the
                # level is always written when the graph has pages.
                writes.clear("page")
            ranking = rank_levels(
                g,
                alpha=alpha,
                seeds=seeds,
                progress=say,
                timings=phases,
                after_step=_return_freed_memory,
                on_level=writes.level,
            )
            del g  # the scores are all that is left to write: free the link arrays first
            summary.follow_edges = ranking.follow_edges
            summary.seconds["rank"] = time.perf_counter() - clock
            clock = time.perf_counter()
            _return_freed_memory()
            say("writing scores")
        # What the writes took beyond the ranking they ran beside.
        summary.seconds["write"] = phases["write"] = time.perf_counter() - clock
        if "hubs" in writes.seconds:  # in the second thread, beside the ranking
            phases["hubs"] = writes.seconds["hubs"]
        summary.top_domains = backend.top_domains(conn, 5)
    return summary
