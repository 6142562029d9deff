"""The level-ranking pipeline: page links to page, host and domain scores, no I/O.

What counts, at each level (the caller passes current links only):

- **page**: follow links (internal and external) and redirects; a page that redirects
  passes its whole score to its target (:func:`~graph.levels.fold_redirects`).
- **host** and **domain**: one edge per ordered pair of different hosts (domains) joined
  by at least one follow link or redirect (:func:`~graph.levels.group_graph`); each
  splits its score equally across the hosts (domains) it links to — the documented
  basis of Ahrefs' Domain Rating.
- ``backlinks`` / ``referring_domains`` count backlinks (distinct source page → target
  URL pairs) and distinct linking registrable domains, from other registrable domains
  only (:func:`pair_counts`).
- ``trust``: TrustRank, PageRank whose random jumps land only on the trusted seeds
  (:func:`seed_vector`, :func:`trusted_seeds`).
- ``harmonic``: inbound harmonic centrality, host and domain levels only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .authority import authority_scores
from .harmonic import harmonic_centrality
from .levels import fold_redirects, group_graph
from .pagerank import pagerank

__all__ = [
    "LevelRanking",
    "LinkArrays",
    "level_backlink_counts",
    "pair_counts",
    "rank_levels",
    "run_starts",
    "score_level",
    "seed_vector",
    "stable_order",
    "trusted_seeds",
]

# Harmonic centrality is exact up to this many nodes; above, sampled from
# HARMONIC_SAMPLES sources (a few seconds on 40,000 hosts; error documented in
# graph/harmonic.py and the README).
HARMONIC_EXACT_UP_TO = 2000
HARMONIC_SAMPLES = 256
# Sorted pair keys are turned into per-level counts this many at a time.
_COUNT_SLICE = 1 << 20


@dataclass(slots=True)
class LinkArrays:
    """A store's current link graph as arrays (all ids 0-based: store id - 1, int32);
    ``storage`` fills it (``storage.graphload.load_graph``), the pipeline reads it.

    ``src``/``dst``: distinct (source page, target URL) pairs of current links of kind
    ``link`` — the backlinks — sorted by target, then source, with ``follow`` true when
    any current link of the pair is followable. ``redirect_src``/``redirect_dst``:
    current redirect hops. ``url_host`` maps URL → host, ``host_domain`` host → domain.
    """

    n_urls: int
    n_hosts: int
    n_domains: int
    src: np.ndarray
    dst: np.ndarray
    follow: np.ndarray
    redirect_src: np.ndarray
    redirect_dst: np.ndarray
    url_host: np.ndarray
    host_domain: np.ndarray

    @property
    def url_domain(self) -> np.ndarray:
        return self.host_domain[self.url_host]


@dataclass(slots=True)
class LevelRanking:
    """Per level (``page``, ``host``, ``domain``): its score columns, or ``{}`` when the
    level has no node; and the number of page-level edges PageRank ran on."""

    levels: dict[str, dict[str, np.ndarray]]
    follow_edges: int


def pair_counts(
    target: np.ndarray, source_domain: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Backlinks and distinct referring domains per target id.

    ``target[i]`` and ``source_domain[i]`` are the target node and the source's domain
    of backlink ``i`` (already restricted to links between different domains).

    Examples
    --------
    >>> import numpy as np
    >>> backlinks, referring = pair_counts(np.array([0, 0, 0, 2]), np.array([5, 5, 6, 5]), 3)
    >>> backlinks.tolist(), referring.tolist()
    ([3, 0, 1], [2, 0, 1])
    """
    target = np.asarray(target, dtype=np.int64)
    backlinks = np.bincount(target, minlength=n)
    # Sort, then keep the first of each run of equal keys. np.unique gives the same set
    # but (numpy >= 2.3) through a hash set and then a sort: 8 s instead of 0.7 s on
    # 8.3M keys.
    pairs = (np.asarray(source_domain, dtype=np.int64) << 32) | target
    pairs.sort()
    referring = np.bincount((pairs[run_starts(pairs)] & 0xFFFFFFFF), minlength=n)
    return backlinks, referring


def run_starts(keys: np.ndarray, previous: int | None = None) -> np.ndarray:
    """Mask of the entries of sorted ``keys`` that differ from the one before (the first
    differs from ``previous``, or always counts when it is ``None``)."""
    first = np.empty(keys.size, dtype=bool)
    if keys.size:
        first[0] = previous is None or keys[0] != previous
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return first


def level_backlink_counts(
    src: np.ndarray, dst: np.ndarray, url_host: np.ndarray, host_domain: np.ndarray, n_domains: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Backlinks and distinct referring domains of every page, host and domain.

    ``src``/``dst`` are backlink pairs (page ids); only those between different
    registrable domains count, as in :func:`pair_counts`. One sort serves all three
    levels: pages are numbered in (domain, host) order, so once the (source domain,
    page) pairs are sorted, the pairs of one host or domain are neighbours too and each
    level's distinct pairs are runs of equal keys.

    Examples
    --------
    Pages 0-1 on host 0, page 2 on host 1 (both domain 0), page 3 on host 2 (domain
    1). Page 3 links to pages 0, 1 and 2; page 0 links to page 3.

    >>> import numpy as np
    >>> counts = level_backlink_counts(
    ...     np.array([3, 3, 3, 0]), np.array([0, 1, 2, 3]), np.array([0, 0, 1, 2]),
    ...     np.array([0, 0, 1]), 2)
    >>> {level: (b.tolist(), r.tolist()) for level, (b, r) in counts.items()}
    {'page': ([1, 1, 1, 1], [1, 1, 1, 1]), 'host': ([2, 1, 1], [1, 1, 1]), 'domain': ([3, 1], [1, 1])}
    """
    n_urls, n_hosts = url_host.size, host_domain.size
    url_domain = host_domain[url_host]
    source_domain = url_domain[src]
    external = source_domain != url_domain[dst]
    target = dst[external]
    source_domain = source_domain[external]
    del external
    # Counts are int32 (at most one per link, and ids are int32): the page-level ones stay
    # alive through every level, 17 MB less than int64 on 2.2M pages.
    backlinks_page = _occurrences(target, n_urls)
    # bincount of integer weights is exact in float64 below 2**53.
    backlinks_host = np.bincount(url_host, weights=backlinks_page, minlength=n_hosts)
    backlinks_domain = np.bincount(host_domain, weights=backlinks_host, minlength=n_domains)
    referring = {
        "page": np.zeros(n_urls, dtype=np.int32),
        "host": np.zeros(n_hosts, dtype=np.int32),
        "domain": np.zeros(n_domains, dtype=np.int32),
    }
    if target.size:
        host_rank = np.empty(n_hosts, dtype=np.int64)
        host_rank[stable_order(host_domain, n_domains)] = np.arange(n_hosts)
        page_at = stable_order(host_rank[url_host], n_hosts)  # page at each position
        position = np.empty(n_urls, dtype=np.int32)
        position[page_at] = np.arange(n_urls, dtype=np.int32)
        # Built in place: each int64 temporary here is 8 bytes per backlink.
        keys = source_domain.astype(np.int64)
        del source_domain
        keys *= n_urls
        keys += position[target]
        del target, position
        keys.sort()
        # Per position, the host and the domain of the page there. Positions go by domain,
        # then host, so a host's (domain's) pages are neighbours: within one source domain,
        # a level's distinct pairs start where its node changes.
        node_at = {"host": url_host[page_at], "domain": url_domain[page_at]}
        sizes = {"host": n_hosts, "domain": n_domains}
        # Pages are counted by position (a key's remainder), and put in page order last.
        by_position = np.zeros(n_urls, dtype=np.int32)
        last: dict[str, int | None] = dict.fromkeys(("key", "source", "host", "domain"))
        # In slices, so the per-level arrays never cost more than a slice of memory.
        for start in range(0, keys.size, _COUNT_SLICE):
            chunk = keys[start : start + _COUNT_SLICE]
            domain_of_source, at = np.divmod(chunk, n_urls)
            by_position += np.bincount(at[run_starts(chunk, last["key"])], minlength=n_urls)
            new_source = run_starts(domain_of_source, last["source"])
            for level, nodes in node_at.items():
                node = nodes[at]
                first = run_starts(node, last[level])
                first |= new_source
                referring[level] += np.bincount(node[first], minlength=sizes[level])
                last[level] = int(node[-1])
            last["key"], last["source"] = int(chunk[-1]), int(domain_of_source[-1])
        referring["page"][page_at] = by_position
    return {
        "page": (backlinks_page, referring["page"]),
        "host": (backlinks_host.astype(np.int32), referring["host"]),
        "domain": (backlinks_domain.astype(np.int32), referring["domain"]),
    }


def _occurrences(ids: np.ndarray, n: int) -> np.ndarray:
    """How many times each of ``0..n-1`` occurs in ``ids``, as int32.

    Backlinks come sorted by target (:class:`LinkArrays`): their counts are then the
    lengths of the runs of equal ids, one pass over them, where ``np.bincount`` first
    copies int32 ids to int64 (0.04 s instead of 0.12-0.2 s for 8.3M backlinks).
    """
    if ids.size < 2 or np.any(ids[1:] < ids[:-1]):
        return np.bincount(ids, minlength=n).astype(np.int32)
    starts = np.flatnonzero(run_starts(ids))
    counts = np.zeros(n, dtype=np.int32)
    counts[ids[starts]] = np.diff(np.append(starts, ids.size))
    return counts


def stable_order(keys: np.ndarray, top: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of integer keys in ``[0, top)``, by radix sorts.

    numpy sorts keys of 16 bits or less with a linear radix sort and wider ones with a
    comparison sort: on the 2.2M pages of the 10M-link store, 0.03 s instead of 0.25 s.
    Keys below ``2**32`` take two 16-bit passes, the low half first (each is stable).

    Examples
    --------
    >>> import numpy as np
    >>> stable_order(np.array([3, 1, 3, 0, 1]), 4).tolist()
    [3, 1, 4, 0, 2]
    """
    if top <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if top > 1 << 32:
        return np.argsort(keys, kind="stable")
    keys = np.asarray(keys, dtype=np.int64)
    by_low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return by_low[np.argsort((keys[by_low] >> 16).astype(np.uint16), kind="stable")]


def seed_vector(ids: np.ndarray, n: int) -> np.ndarray | None:
    """A TrustRank personalization vector: 1 on the seed ids, 0 elsewhere; ``None``
    without seeds (then there is no trust to compute).

    Examples
    --------
    >>> import numpy as np
    >>> seed_vector(np.array([1, 3]), 4).tolist()
    [0.0, 1.0, 0.0, 1.0]
    >>> seed_vector(np.array([], dtype=int), 4) is None
    True
    """
    if len(ids) == 0:
        return None
    v = np.zeros(n)
    v[ids] = 1.0
    return v


def trusted_seeds(
    domain_ids: np.ndarray, host_ids: np.ndarray, url_host: np.ndarray
) -> dict[str, np.ndarray]:
    """TrustRank seeds per level: the trusted domains, the trusted hosts and every page
    on a trusted host.

    Examples
    --------
    >>> import numpy as np
    >>> seeds = trusted_seeds(np.array([0]), np.array([1]), np.array([0, 1, 1, 2]))
    >>> {level: ids.tolist() for level, ids in seeds.items()}
    {'page': [1, 2], 'host': [1], 'domain': [0]}
    """
    host_ids = np.asarray(host_ids, dtype=np.int64)
    page_ids = np.flatnonzero(np.isin(url_host, host_ids))
    return {"page": page_ids, "host": host_ids, "domain": np.asarray(domain_ids, dtype=np.int64)}


def score_level(
    adjacency: Any,
    n: int,
    *,
    target_of: np.ndarray | None = None,
    source_domain: np.ndarray | None = None,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
    alpha: float = 0.85,
    seeds: np.ndarray | None = None,
    harmonic: bool = False,
) -> dict[str, np.ndarray]:
    """The score columns of one level: PageRank, authority (0-100), backlink counts, and
    ``trust`` (with seeds) and ``harmonic`` (when asked).

    ``adjacency`` is an ``(m, 2)`` edge array (page level: every edge counts, duplicates
    too) or a square sparse matrix (host and domain levels); ``target_of`` and
    ``source_domain`` name, per backlink between different domains, its target node and
    its source's domain. ``counts``, the ``(backlinks, referring_domains)`` already
    counted (:func:`level_backlink_counts`), replaces them.

    Examples
    --------
    Node 0 links to 1 and 2, both link back; one external backlink into node 0.

    >>> import numpy as np
    >>> edges = np.array([[0, 1], [0, 2], [1, 0], [2, 0]])
    >>> cols = score_level(edges, 3, target_of=np.array([0]), source_domain=np.array([7]))
    >>> [round(x, 4) for x in cols["pagerank"].tolist()], cols["backlinks"].tolist()
    ([0.4865, 0.2568, 0.2568], [1, 0, 0])
    """
    if counts is None:
        if target_of is None or source_domain is None:
            raise TypeError("score_level needs target_of and source_domain, or counts")
        counts = pair_counts(target_of, source_domain, n)
    pr = pagerank(adjacency, n=n, alpha=alpha)
    backlinks, referring = counts
    result: dict[str, np.ndarray] = {
        "pagerank": pr,
        "authority": authority_scores(pr, alpha=alpha),
        "backlinks": backlinks,
        "referring_domains": referring,
    }
    v = seed_vector(seeds, n) if seeds is not None else None
    if v is not None:
        result["trust"] = pagerank(adjacency, n=n, alpha=alpha, personalization=v)
    if harmonic:
        result["harmonic"] = harmonic_centrality(
            adjacency, exact=n <= HARMONIC_EXACT_UP_TO, samples=HARMONIC_SAMPLES, seed=0
        )
    return result


def rank_levels(
    g: LinkArrays,
    *,
    alpha: float = 0.85,
    seeds: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[str], object] | None = None,
    timings: dict[str, float] | None = None,
    after_step: Callable[[], object] | None = None,
    on_level: Callable[[str, dict[str, np.ndarray]], object] | None = None,
) -> LevelRanking:
    """Rank every page, host and domain of a link graph (see the module docstring).

    ``seeds`` holds TrustRank seed ids per level (:func:`trusted_seeds`); ``progress``
    is told which level is being ranked; ``timings``, when given, gets the seconds of
    each step (``counts``, then ``graph`` and ``scores`` per level); ``after_step`` is
    called after each of those steps, with its temporaries freed (the command hands freed
    memory back to the operating system there); ``on_level(level, scores)`` as soon as a
    level is scored (the command starts writing it while the next one is ranked).

    Memory is what bounds this at scale (ten million links): ids stay int32, no filtered
    copy of the links outlives the graph built from it, each level's graph is freed
    before the next one is built, and the page graph goes to PageRank as the in-link
    matrix itself (a CSC array), not as an edge list to convert.
    """
    say = progress or (lambda _msg: None)
    clock = _Clock(timings, after_step)
    counts = level_backlink_counts(g.src, g.dst, g.url_host, g.host_domain, g.n_domains)
    clock.lap("counts")
    redirects = np.column_stack([g.redirect_src, g.redirect_dst])
    follow_edges = 0
    results: dict[str, dict[str, np.ndarray]] = {}
    for level, n in (("page", g.n_urls), ("host", g.n_hosts), ("domain", g.n_domains)):
        if n == 0:
            results[level] = {}
            continue
        say(f"ranking {n:,} {level}s")
        adjacency: Any
        if level == "page":
            p_src, p_dst, p_follow = fold_redirects(g.src, g.dst, redirects, follow=g.follow)
            p_src, p_dst = p_src[p_follow], p_dst[p_follow]
            follow_edges = len(p_src)
            # int32 ones: PageRank reads only which entries exist (a count cannot overflow).
            ones = np.ones(len(p_src), dtype=np.int32)
            adjacency = sp.csc_array((ones, (p_src, p_dst)), shape=(n, n))
            del p_src, p_dst, p_follow, ones
            adjacency.sum_duplicates()  # every edge counts once, as for an edge array
        else:
            group = g.url_host if level == "host" else g.host_domain[g.url_host]
            # As CSC: PageRank, TrustRank and harmonic centrality read the in-links, which
            # a CSC matrix is as it stands (a CSR one is transposed by each).
            adjacency = group_graph(g.src, g.dst, group, follow=g.follow, n_groups=n, format="csc")
            if len(g.redirect_src):
                # Redirects join the host and domain graphs as links: a site that moved
                # passes on. The sum counts the links of a pair as one graph of both would.
                adjacency = adjacency + group_graph(
                    g.redirect_src, g.redirect_dst, group, n_groups=n, format="csc"
                )
        clock.lap(f"{level} graph")
        results[level] = score_level(
            adjacency,
            n,
            counts=counts[level],
            alpha=alpha,
            seeds=None if seeds is None else seeds[level],
            harmonic=level != "page",
        )
        del adjacency
        clock.lap(f"{level} scores")
        if on_level is not None:
            on_level(level, results[level])
    return LevelRanking(results, follow_edges)


class _Clock:
    """Seconds since the last lap, recorded under a name (nothing without a dict), and
    the hook to call at each lap."""

    def __init__(
        self, into: dict[str, float] | None, after: Callable[[], object] | None = None
    ) -> None:
        self._into = into
        self._after = after
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self._after is not None:
            self._after()
        now = time.perf_counter()
        if self._into is not None:
            self._into[name] = self._into.get(name, 0.0) + now - self._last
        self._last = now
